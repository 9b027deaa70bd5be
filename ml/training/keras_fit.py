"""The Keras half of ``CNNClassifier.fit`` (``ml.inference.cnn``): build the network, train it
(``ml.training.loop``), resume from per-epoch checkpoints, and check that the ONNX graph the server
runs computes what Keras computes.

The training recipe follows airbench94: Nesterov SGD on the summed loss with a triangular learning
rate, a 64x learning rate for BatchNorm biases, decoupled-scale weight decay, label smoothing,
random-translate + alternating-flip augmentation, lookahead weight averaging, and flip (+ translate)
test-time augmentation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ml.inference.cnn import softmax

TRAINING_PRECISIONS = ("auto", "float32", "mixed_bfloat16")
ONNX_PARITY_TOLERANCE = 1e-4
# Part of the checkpoint key: bump it when the training code changes what a fit produces, so that
# an old checkpoint is never resumed as if it were the new recipe's.
RECIPE_VERSION = 2
# Part of the key of runs with outlier exposure only: bump it when that step changes. 1 (no key
# entry): outliers in the class images' batch; 2: through inference-mode BatchNorm; 3: in the
# class images' batch again (ml/training/loop.py Trainer._loss says why).
OUTLIER_EXPOSURE_VERSION = 3
PARAMETERS_SINCE_RECIPE_2 = {"outlier_weight": 0.0, "zoom_out": 0.0, "zoom_in": 0.0}
# Part of the key of runs with zoom only: 2 is a blurred surround and shares of the images (1 was
# a reflected fill and the largest rescaling).
ZOOM_VERSION = 2


def train_network(cnn, X, y_index, validation_data=None, initial_weights=None, outliers=None) -> dict:
    """Train ``cnn``'s network (a CNNClassifier whose ``classes_`` and ``input_shape_`` are set) on
    X and label indices ``y_index``. Returns its ``weights`` (Keras' order), the epochs'
    ``history`` and the arithmetic it trained in (``precision``)."""
    if cnn.training_precision not in TRAINING_PRECISIONS:
        raise ValueError(f"training_precision must be one of {TRAINING_PRECISIONS}, "
                         f"got {cnn.training_precision!r}")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ml.training.loop import Trainer
    from ml.training.network import build_network, init_whitening

    precision = resolve_precision(cnn.training_precision)
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = build_network(**network_shape(cnn), seed=cnn.random_state)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        else:
            # A random sample: data often comes sorted by class, and patch statistics of the
            # first 5,000 images (all airplanes, say) would whiten for skies, not for CIFAR-10.
            sample = np.random.default_rng(cnn.random_state).permutation(len(X))[:5000]
            init_whitening(model, X[np.sort(sample)], eps=cnn.whiten_eps)
        checkpoint = checkpoint_path(cnn, X, y_index, outliers, initial_weights)
        trainer = Trainer(model, cnn, n_train=len(X), checkpoint=checkpoint, outliers=outliers)
        history = trainer.train(X, y_index, validation_data=validation_data)
        weights = model.get_weights()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()
    return {"weights": weights, "history": history, "precision": precision}


def network_shape(cnn) -> dict:
    """``build_network``'s arguments for a fitted CNNClassifier."""
    return {"widths": tuple(cnn.widths), "n_classes": len(cnn.classes_),
            "image_size": cnn.input_shape_[0], "bn_momentum": cnn.bn_momentum,
            "block_depth": cnn.block_depth}


def keras_network(cnn):
    """A fitted CNNClassifier's network as a float32 Keras model (under a mixed policy the weights
    are float32 already, only the arithmetic was not), with the weights as stored."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from ml.training.network import build_network

    network = build_network(**network_shape(cnn))
    network.set_weights(cnn.weights_)
    return network


def checkpoint_path(cnn, X, y_index, outliers=None, initial_weights=None) -> Path | None:
    """Where ``cnn``'s fit on this data saves its per-epoch checkpoint (None: it saves none)."""
    if not cnn.checkpoint_dir:
        return None
    # The checkpoint belongs to these parameters and this data; anything else starts afresh.
    # Parameters added after recipe 2 count only when set, so older checkpoints still resume.
    params = {k: v for k, v in cnn.get_params().items() if k not in ("verbose", "checkpoint_dir")
              and not (k in PARAMETERS_SINCE_RECIPE_2 and v == PARAMETERS_SINCE_RECIPE_2[k])}
    params["recipe"] = RECIPE_VERSION
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(X[::97]).tobytes())
    digest.update(y_index.tobytes())
    if outliers is not None and cnn.outlier_weight:
        digest.update(np.ascontiguousarray(outliers[::97]).tobytes())
        digest.update(f"outlier-exposure-{OUTLIER_EXPOSURE_VERSION}".encode())
    if cnn.zoom_out or cnn.zoom_in:
        digest.update(f"zoom-{ZOOM_VERSION}".encode())
    if initial_weights is not None:  # continued training (outlier exposure) resumes too
        for weight in initial_weights:
            digest.update(np.ascontiguousarray(weight).tobytes())
    return Path(cnn.checkpoint_dir) / f"cnn-{digest.hexdigest()[:16]}.npz"


def onnx_parity(cnn, sample) -> float:
    """The largest difference between the probabilities Keras and ONNX Runtime give ``sample``
    with a fitted CNNClassifier's weights; raises if they disagree beyond ONNX_PARITY_TOLERANCE."""
    import keras

    model = keras_network(cnn)
    with full_float32_arithmetic():
        keras_probs = softmax(np.asarray(model(sample, training=False)))
    onnx_probs = softmax(cnn.logits(sample))
    keras.backend.clear_session()
    diff = float(np.max(np.abs(keras_probs - onnx_probs)))
    if diff > ONNX_PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export disagrees with Keras: max |dp| = {diff:.2e}")
    return diff


def resolve_precision(precision: str) -> str:
    """``"auto"``: bfloat16 arithmetic where it is native (a GPU, or AVX-512 BF16 / AMX on the CPU),
    float32 elsewhere: emulated bfloat16 is several times slower than float32."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if accelerator() or cpu_has_native_bfloat16() else "float32"


@contextlib.contextmanager
def full_float32_arithmetic():
    """Keras computes float32 as float32 inside: on NVIDIA GPUs both backends multiply and convolve
    float32 in TF32 by default, 10 mantissa bits, which put Keras' probabilities 1.1e-4 from the
    exported graph's (JAX on an H200, 2026-11-27: over ONNX_PARITY_TOLERANCE, so ``ml train``
    failed after its last epoch). The reference for the export check must be exact."""
    import keras

    if keras.config.backend() == "jax":
        import jax

        with jax.default_matmul_precision("highest"):
            yield
        return
    import tensorflow as tf

    enabled = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(enabled)


def accelerator() -> str | None:
    """The GPU Keras' backend (TensorFlow or JAX) trains on, or None where it has only the CPU."""
    import keras

    if keras.config.backend() == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else None


def cpu_has_native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))
