"""The model as one scikit-learn Pipeline: preprocessing (any picture -> normalised 32x32 tensor)
then the CNN. This is what is fitted, grid-searched, pickled and served."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ml.cnn import CNNClassifier
from ml.ensemble import CNNEnsemble
from ml.preprocessing import ImagePreprocessor


def make_pipeline(n_members: int = 1, **cnn_params) -> Pipeline:
    """``n_members`` > 1: an ensemble of that many CNNs of these parameters (``ml.ensemble``),
    dealing the ``tta`` views out among them."""
    cnn = CNNClassifier(**cnn_params)
    if n_members > 1:
        cnn = CNNEnsemble(cnn, n_members=n_members, tta=cnn.tta)
    return Pipeline([("preprocess", ImagePreprocessor()), ("cnn", cnn)])
