"""CNNEnsemble: several CNNs trained alike from different seeds, their logits averaged.

Two nets of the same recipe make different mistakes, so their average is right more often and
less sure of pictures that look like neither's training data. Every member sees every test-time
view (``views="every"``), or the views are dealt out among them (``"dealt"``: with flip TTA and two
members, one sees the picture and the other its mirror, so that two nets cost what one costs).
Dealing costs some of the ensemble's accuracy (docs/experiments/ has the figures).

Each member is an ordinary ``CNNClassifier`` fitted on its own (its own checkpoint, so members
can be trained in separate runs and sessions: the ensemble's fit resumes each one).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ml.inference.cnn import TTA_VIEWS, CNNClassifier, TemperatureScaledClassifier, tta_logits

ENSEMBLE_VIEWS = ("every", "dealt")


class CNNEnsemble(TemperatureScaledClassifier):
    """Parameters
    ----------
    estimator : CNNClassifier
        The members' recipe; member ``i`` is a clone with ``random_state`` increased by ``i``.
    n_members : int
    tta : {"none", "flip", "flip_translate"}
        The views of each picture (see ``ml.inference.cnn.tta_logits``); the members' own ``tta`` is not used.
    views : {"every", "dealt"}
        ``"every"``: each member runs every view; ``"dealt"``: the views are dealt out among the
        members, for the cost of one net.
    """

    def __init__(self, estimator=None, n_members=2, tta="flip", views="every"):
        self.estimator = estimator
        self.n_members = n_members
        self.tta = tta
        self.views = views

    def fit(self, X, y, validation_data=None, initial_weights=None, outliers=None):
        """Fit each member in turn (arguments as ``CNNClassifier.fit``; ``initial_weights`` is one
        entry per member, e.g. a fitted ensemble's ``weights_``)."""
        if self.tta not in TTA_VIEWS:
            raise ValueError(f"tta must be one of {sorted(TTA_VIEWS)}, got {self.tta!r}")
        if self.views not in ENSEMBLE_VIEWS:
            raise ValueError(f"views must be one of {ENSEMBLE_VIEWS}, got {self.views!r}")
        if int(self.n_members) < 1:
            raise ValueError(f"n_members must be at least 1, got {self.n_members!r}")
        if initial_weights is not None and len(initial_weights) != self.n_members:
            raise ValueError(f"initial_weights has {len(initial_weights)} entries for "
                             f"{self.n_members} members")
        base = self.estimator if self.estimator is not None else CNNClassifier()
        self.members_ = [
            clone(base).set_params(random_state=base.random_state + i).fit(
                X, y, validation_data=validation_data, outliers=outliers,
                initial_weights=None if initial_weights is None else initial_weights[i])
            for i in range(int(self.n_members))
        ]
        first = self.members_[0]
        self.classes_, self.input_shape_ = first.classes_, first.input_shape_
        self.training_precision_ = first.training_precision_
        self.history_ = [member.history_ for member in self.members_]
        self.training_seconds_ = sum(member.training_seconds_ for member in self.members_)
        self.onnx_max_abs_diff_ = max(member.onnx_max_abs_diff_ for member in self.members_)
        return self

    @property
    def weights_(self) -> list:
        """Each member's weights (what ``fit(initial_weights=...)`` takes)."""
        check_is_fitted(self)
        return [member.weights_ for member in self.members_]

    def quantize(self, X):
        """Each member serves int8 (``CNNClassifier.quantize``), calibrated on the same X."""
        check_is_fitted(self)
        for member in self.members_:
            member.quantize(X)
        return self

    @property
    def inference_precision(self) -> str:
        return self.members_[0].inference_precision

    def decision_function(self, X):
        """Logits averaged over the members and the views."""
        check_is_fitted(self)
        return self.views_logits(X, [member.logits for member in self.members_])

    def views_logits(self, X, logits_of: list) -> np.ndarray:
        """Logits of X over the views and members, ``logits_of`` running each member's net."""
        if self.views not in ENSEMBLE_VIEWS:
            raise ValueError(f"views must be one of {ENSEMBLE_VIEWS}, got {self.views!r}")
        return tta_logits(X, self.tta, logits_of, deal=self.views == "dealt")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "members_")
