"""The Keras half of CNNClassifier.fit (ml/training/keras_fit.py): checkpoint keys, the export
check's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from ml.inference.cnn import CNNClassifier
from ml.training.keras_fit import checkpoint_path
from tests.ml.training.test_loop import run_on_backend


def test_checkpoint_key_follows_outlier_exposure_only_when_it_is_on(tmp_path):
    X = np.zeros((8, 32, 32, 3), np.float32)
    y = np.zeros(8, np.int32)
    cnn = CNNClassifier(checkpoint_dir=str(tmp_path))
    keys = {weight: checkpoint_path(clone(cnn).set_params(outlier_weight=weight), X, y, outliers=X)
            for weight in (0.0, 0.5)}
    assert keys[0.0] != keys[0.5]
    off = checkpoint_path(cnn, X, y)
    assert off == keys[0.0]  # outliers without exposure do not change what is trained
    weights = [np.ones((3, 3), np.float32)]
    continued = checkpoint_path(cnn, X, y, initial_weights=weights)
    other_start = checkpoint_path(cnn, X, y, initial_weights=[2 * weights[0]])
    assert len({off, continued, other_start}) == 3  # training from other weights is another run


_PRECISION = """
import keras
from ml.training.keras_fit import full_float32_arithmetic

def reduced():
    if keras.config.backend() == "jax":
        import jax
        return jax.config.jax_default_matmul_precision not in ("highest", "float32")
    import tensorflow as tf
    return tf.config.experimental.tensor_float_32_execution_enabled()

before = reduced()
with full_float32_arithmetic():
    inside = reduced()
print(before, inside, reduced())
"""


@pytest.mark.slow
def test_the_export_check_runs_keras_in_full_float32_on_either_backend():
    """GPUs run float32 matrix products in TF32 by default (TensorFlow and JAX alike): the Keras
    reference the ONNX graph is checked against must not, or a GPU-trained model fails the check."""
    for backend in ("tensorflow", "jax"):
        before, inside, after = run_on_backend(backend, _PRECISION).split()[-3:]
        assert (inside, after) == ("False", before), backend
        if backend == "tensorflow":
            assert before == "True"  # TensorFlow's default: TF32 where the GPU has it
