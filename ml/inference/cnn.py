"""CNNClassifier: a scikit-learn estimator of a CIFAR-style CNN that predicts with ONNX Runtime.

After fitting, the estimator holds the network's weights as plain numpy arrays (large ones
float16) and runs them as an ONNX graph built from those weights (``ml.inference.onnx_graph``), so
unpickling and predicting import neither TensorFlow nor Keras: the web server stays small and
starts fast. ``fit`` trains the network with Keras (``ml.training.keras_fit``, the ``train``
extra), which it imports only when called.
"""

from __future__ import annotations

import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted

from ml.inference.onnx_graph import build_onnx, compact_weights, save_onnx

TTA_VIEWS = {"none": 1, "flip": 2, "flip_translate": 6}
_SESSION_LOCK = threading.Lock()


class TemperatureScaledClassifier(ClassifierMixin, BaseEstimator):
    """What the CNN and an ensemble of CNNs share: probabilities are
    softmax(decision_function / temperature_), the temperature fitted by ``calibrate``. Subclasses
    set ``classes_`` and ``input_shape_`` in ``fit`` and define ``decision_function`` (logits)."""

    # 1 until ``calibrate`` fits it.
    temperature_ = 1.0

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 4 or X.shape[1:] != self.input_shape_:
            raise ValueError(f"expected input of shape (n, {', '.join(map(str, self.input_shape_))}),"
                             f" got {X.shape}")
        return softmax(self.decision_function(X) / self.temperature_)

    def calibrate(self, X, y):
        """Fit the temperature of the probabilities on held-out images (temperature scaling):
        the predicted classes stay the same, their probabilities become honest."""
        from ml.evaluation.confidence import calibration_report

        check_is_fitted(self)
        labels = np.searchsorted(self.classes_, y)
        self.calibration_ = calibration_report(self.decision_function(np.asarray(X, np.float32)), labels)
        self.temperature_ = self.calibration_["temperature"]
        return self

    def predict(self, X) -> np.ndarray:
        probabilities = self.predict_proba(X)  # checks fitted-ness first
        return self.classes_[np.argmax(probabilities, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags


class CNNClassifier(TemperatureScaledClassifier):
    """Image classifier on normalised float32 NHWC input (the ImagePreprocessor's output).

    Parameters
    ----------
    widths : tuple of 3 ints
        Channels of the three conv groups.
    block_depth : {2, 3}
        Convs per group: 2 as in airbench94, 3 (the last two with a residual) as in airbench96.
    bn_momentum : float
        BatchNorm running-average momentum, in Keras units (PyTorch's 0.1 is Keras' 0.9).
    epochs : float
        Passes over the training data (fractions allowed, as in airbench's 9.9).
    batch_size : int
    learning_rate : float
        Peak learning rate in airbench units (per 1024 examples, momentum-normalised).
    momentum : float
        Nesterov momentum.
    weight_decay : float
        Weight decay per 1024 examples, independent of the learning rate.
    bias_scaler : float
        Learning-rate multiplier for BatchNorm biases.
    label_smoothing : float
    translate : int
        Maximum random shift in pixels (reflection padding) during training.
    cutout : int
        Side of a random square blanked (set to the mean colour) in every training image; 0 for none.
    zoom_out, zoom_in : float
        Each epoch, a share ``zoom_out`` of the training images is reframed as a photo with a
        smaller subject (40 to 100 % of the frame's side, anywhere, on its own blurred surround)
        and a share ``zoom_in`` as a close-up (a random 60 to 100 % of the picture, enlarged):
        real photos are framed so, CIFAR-10's are not (``ml.training.loop.zoom``). 0 for none.
    whiten_bias_epochs : float
        Epochs during which the whitening layer's bias trains; frozen afterwards.
    whiten_eps : float
        Added to the patch-covariance eigenvalues before whitening: larger values amplify the faint
        patch directions (fine detail, colour edges) less.
    lr_schedule : {"triangle", "warmup_linear"}
        Learning-rate shape: airbench94's triangle (peak at 23 %, ends at 0.07 of the peak) or
        airbench96's warm-up over 10 % then linear decay to 0.
    outlier_weight : float
        Outlier exposure: weight of the loss that pushes pictures of none of the classes (passed
        to ``fit`` as ``outliers``) towards uniform probabilities; 0 turns it off.
    training_precision : {"auto", "float32", "mixed_bfloat16"}
        Arithmetic of the training steps. ``"mixed_bfloat16"`` keeps float32 weights but computes in
        bfloat16, faster per epoch on CPUs with AVX-512 BF16 (and far slower where bfloat16
        is emulated); the exported network is float32. ``"auto"`` picks bfloat16 on a GPU or a CPU
        with native bfloat16 (``avx512_bf16`` / ``amx_bf16``), float32 elsewhere.
    tta : {"none", "flip", "flip_translate"}
        Test-time augmentation used by ``predict_proba``: logits averaged over 1, 2 or 6 views.
    random_state : int
    verbose : int
        0 silent, 1 a progress bar per epoch.
    checkpoint_dir : str or None
        Where to save a checkpoint after every epoch; ``fit`` resumes from it when it matches.
    inference_threads : int
        ONNX Runtime intra-op threads (1 is fastest for single images in a multi-worker server).
    """

    def __init__(self, widths=(64, 256, 256), block_depth=2, bn_momentum=0.6, epochs=10.0,
                 batch_size=1024, learning_rate=11.5, momentum=0.85, weight_decay=0.0153,
                 bias_scaler=64.0, label_smoothing=0.2, translate=2, cutout=0, zoom_out=0.0,
                 zoom_in=0.0, whiten_bias_epochs=3.0, whiten_eps=5e-4, lr_schedule="triangle",
                 outlier_weight=0.0, training_precision="float32", tta="flip", random_state=0,
                 verbose=1, checkpoint_dir=None, inference_threads=1):
        self.widths = widths
        self.block_depth = block_depth
        self.bn_momentum = bn_momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.bias_scaler = bias_scaler
        self.label_smoothing = label_smoothing
        self.translate = translate
        self.cutout = cutout
        self.zoom_out = zoom_out
        self.zoom_in = zoom_in
        self.whiten_bias_epochs = whiten_bias_epochs
        self.whiten_eps = whiten_eps
        self.lr_schedule = lr_schedule
        self.outlier_weight = outlier_weight
        self.training_precision = training_precision
        self.tta = tta
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.inference_threads = inference_threads

    def fit(self, X, y, validation_data=None, initial_weights=None, outliers=None):
        """Train on X (n, h, w, 3) float32 and labels y, with Keras (``ml.training.keras_fit``:
        needs the ``train`` extra).

        ``validation_data=(X_val, y_val)`` is only reported per epoch (model selection belongs to
        GridSearchCV). ``initial_weights`` (a fitted estimator's ``weights_``, same widths and
        classes) continues training from there instead of from scratch. ``outliers`` are pictures
        of none of the classes, preprocessed like X, for outlier exposure (``outlier_weight``)."""
        from ml.training.keras_fit import onnx_parity, train_network

        if self.tta not in TTA_VIEWS:
            raise ValueError(f"tta must be one of {sorted(TTA_VIEWS)}, got {self.tta!r}")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 4 or X.shape[-1] != 3:
            raise ValueError(f"expected images of shape (n, h, w, 3), got {X.shape}")
        self.classes_ = unique_labels(y)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        if validation_data is not None:
            X_val, y_val = validation_data
            validation_data = (np.asarray(X_val, np.float32),
                               np.searchsorted(self.classes_, y_val).astype(np.int32))
        trained = train_network(
            self, X, np.searchsorted(self.classes_, y).astype(np.int32), validation_data,
            initial_weights, None if outliers is None else np.asarray(outliers, np.float32))
        # Rounded to what the artifact stores, so that what is evaluated is what ships.
        self.weights_ = compact_weights(trained["weights"])
        self.history_ = trained["history"]
        # The epochs' own times: a fit resumed from a checkpoint (another session's, say) still
        # reports what the whole training took.
        self.training_seconds_ = float(sum(self.history_["seconds"]))
        self.training_precision_ = trained["precision"]
        self._session = None
        self.__dict__.pop("int8_graph_", None)  # new weights: an earlier quantization is stale
        self.onnx_max_abs_diff_ = onnx_parity(self, X[:64])
        return self

    def keras_network(self):
        """The fitted network as a float32 Keras model (needs TensorFlow): for export and for
        checking ONNX Runtime against Keras."""
        from ml.training.keras_fit import keras_network

        check_is_fitted(self, "weights_")
        return keras_network(self)

    # ------------------------------------------------------------------ inference (ONNX Runtime)

    def decision_function(self, X) -> np.ndarray:
        """Logits averaged over the test-time-augmentation views."""
        return self.views_logits(np.asarray(X, dtype=np.float32), self.logits)

    def views_logits(self, X, logits_of) -> np.ndarray:
        """Logits of X over this step's test-time views, with ``logits_of(batch)`` running the
        net (ONNX Runtime here; Keras when a benchmark checks the export)."""
        return tta_logits(X, self.tta, logits_of)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "weights_")

    def logits(self, X, chunk: int = 64) -> np.ndarray:
        """The network's logits for exactly these inputs (no test-time augmentation)."""
        # Chunks of 64 views keep a batch's peak activation memory small (~30 MB, not ~250 MB for
        # 512) at no cost in speed: the convolutions are already compute-bound at 64. The chunks
        # of a big batch run on all cores at once (one session serves concurrent runs, and ONNX
        # Runtime releases the GIL); a single image is one chunk on the calling thread.
        if not len(X):
            return np.empty((0, len(self.classes_)), np.float32)
        session = self._get_session()
        name = session.get_inputs()[0].name

        def run(start: int) -> np.ndarray:
            return session.run(None, {name: np.ascontiguousarray(X[start:start + chunk])})[0]

        starts = range(0, len(X), chunk)
        if len(starts) == 1:
            return run(0)
        return np.concatenate(list(_chunk_pool().map(run, starts)))

    def _get_session(self):
        # One session per process, built on first use: a session does not survive a fork (its
        # thread pool stays behind), so a forked server worker or joblib process builds its own.
        cached = getattr(self, "_session", None)
        if cached is None or cached[0] != os.getpid():
            with _SESSION_LOCK:
                cached = getattr(self, "_session", None)
                if cached is None or cached[0] != os.getpid():
                    import onnxruntime

                    options = onnxruntime.SessionOptions()
                    options.intra_op_num_threads = self.inference_threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3
                    # No memory arena: a 64-image batch would grow the arena by ~100 MB that it
                    # keeps for ever; without it RSS stays flat and single images are as fast.
                    options.enable_cpu_mem_arena = False
                    # The graph is built here from the weights and not kept: ONNX Runtime holds
                    # its own copy, and a worker need not hold another. Read from files, it
                    # holds one copy; from bytes it would hold two (+40 MB per airbench96 net).
                    # An int8 graph (``quantize``) is kept, as the pickle must carry it (~10 MB).
                    with tempfile.TemporaryDirectory(prefix="cifar-cnn-") as folder:
                        if self.inference_precision == "int8":
                            path = Path(folder) / "int8.onnx"
                            path.write_bytes(self.int8_graph_)
                        else:
                            path = self._save_float32_graph(folder)
                        session = onnxruntime.InferenceSession(
                            str(path), options, providers=["CPUExecutionProvider"])
                    cached = self._session = (os.getpid(), session)
        return cached[1]

    def quantize(self, X):
        """Serve int8 from now on: ONNX Runtime's static quantization of the network
        (``ml.training.quantization``), its activation ranges calibrated on X (preprocessed images, e.g.
        training ones). The float32 weights stay for export and further training; calibrate the
        temperature again afterwards, since the logits move a little."""
        from ml.training.quantization import quantize_graph

        check_is_fitted(self, "weights_")
        with tempfile.TemporaryDirectory(prefix="cifar-cnn-") as folder:
            self.int8_graph_ = quantize_graph(self._save_float32_graph(folder), X)
        self._session = None
        return self

    def _save_float32_graph(self, folder) -> Path:
        """The network's float32 ONNX graph, built from ``weights_``, as a file in ``folder``."""
        return save_onnx(self.weights_, folder, image_size=self.input_shape_[0],
                         block_depth=self.block_depth)

    @property
    def inference_precision(self) -> str:
        """What ONNX Runtime computes in: "int8" after ``quantize``, else "float32"."""
        return "int8" if getattr(self, "int8_graph_", None) is not None else "float32"

    def onnx_graph(self) -> bytes:
        """The fitted network as ONNX bytes (logits of NHWC float32 input), built from ``weights_``."""
        check_is_fitted(self, "weights_")
        return build_onnx(self.weights_, image_size=self.input_shape_[0], block_depth=self.block_depth)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_session", None)  # a live ONNX Runtime session does not pickle; rebuilt lazily
        return state


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _chunk_pool() -> ThreadPoolExecutor:
    """One thread per core, per process (threads do not survive a fork)."""
    global _POOL
    with _SESSION_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                     thread_name_prefix="onnx-chunk"))
        return _POOL[1]


def tta_logits(X: np.ndarray, tta: str, logits_of, deal: bool = True) -> np.ndarray:
    """Logits of X averaged over the ``tta`` views, with ``logits_of(batch)`` running the network
    (ONNX Runtime when serving; Keras when checking the export against it).

    ``logits_of`` may be a list, one per ensemble member. With ``deal`` the views are dealt out
    among the members in turn (with flip and two members, one sees the picture and the other its
    mirror), so an ensemble does the arithmetic of one net with those views (though two batches of
    one cost a little more than one batch of two). Without it, or with fewer views than members,
    every member sees every view."""
    views = [X]
    if tta in ("flip", "flip_translate"):
        views.append(X[:, :, ::-1, :])
    if tta == "flip_translate":
        padded = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        h, w = X.shape[1:3]
        for shifted in (padded[:, :h, :w], padded[:, 2:, 2:]):
            views += [shifted, shifted[:, :, ::-1, :]]
    members = list(logits_of) if isinstance(logits_of, (list, tuple)) else [logits_of]
    if not deal or len(views) < len(members):
        logits = np.mean([np.asarray(run(np.concatenate(views))).reshape(len(views), len(X), -1)
                          for run in members], axis=0)
    else:
        logits = [None] * len(views)
        for m, run in enumerate(members):
            share = list(range(m, len(views), len(members)))
            out = np.asarray(run(np.concatenate([views[v] for v in share])))
            for v, view_logits in zip(share, out.reshape(len(share), len(X), -1)):
                logits[v] = view_logits
        logits = np.stack(logits)
    if tta == "flip_translate":  # airbench: half untranslated, half translated views
        return 0.5 * logits[:2].mean(axis=0) + 0.5 * logits[2:].mean(axis=0)
    return logits.mean(axis=0)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
