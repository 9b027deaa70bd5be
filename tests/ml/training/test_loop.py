"""The training loop (ml/training/loop.py): cutout, and the same steps on either Keras backend."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

def test_cutout_blanks_one_square_per_image():
    from ml.training.loop import Trainer

    images = np.ones((40, 32, 32, 3), np.float32)
    Trainer._cutout(images, 8, np.random.default_rng(0))
    blanked = images == 0
    assert (blanked.all(axis=-1) == blanked.any(axis=-1)).all()  # every channel alike
    corners = set()
    for mask in blanked[..., 0]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask.sum() == 64 and np.ptp(rows) == 7 and np.ptp(cols) == 7  # one 8x8 square
        corners.add((rows[0], cols[0]))
    assert len(corners) > 20  # placed at random, inside the image


# Three training steps with outlier exposure, on weights given in a file: run in a fresh process per
# Keras backend (the backend is fixed when Keras is first imported).
_STEPS = """
import sys
import numpy as np
from keras import ops
from ml.inference.cnn import CNNClassifier
from ml.training.network import build_network
from ml.training.loop import Trainer

rng = np.random.default_rng(0)
images = rng.random((64, 32, 32, 3), dtype=np.float32)
labels = rng.integers(0, 4, 64).astype(np.int32)
outliers = rng.random((32, 32, 32, 3), dtype=np.float32)
network = build_network(widths=(16, 32, 32), n_classes=4, block_depth=3)
with np.load(sys.argv[1]) as saved:
    network.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
params = CNNClassifier(widths=(16, 32, 32), block_depth=3, batch_size=64, epochs=1,
                       outlier_weight=0.5, training_precision="float32")
trainer = Trainer(network, params, n_train=64, outliers=outliers)
losses = [float(trainer._train_step(*map(ops.convert_to_tensor, (
    images, labels, np.float32(1.0), np.float32(1.0), outliers)))[0]) for _ in range(3)]
np.savez(sys.argv[2], losses, *network.get_weights())
"""


def run_on_backend(backend: str, script: str, *args) -> str:
    """``script`` run with ``args`` in a fresh Python on one Keras backend (fixed when Keras is
    first imported); its standard output."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", script, *map(str, args)], check=True, capture_output=True,
                          text=True, env={**os.environ, "KERAS_BACKEND": backend,
                                          "TF_CPP_MIN_LOG_LEVEL": "2"}).stdout


def test_jax_backend_takes_the_same_training_steps_as_tensorflow(tmp_path):
    """A GPU without TensorFlow trains with KERAS_BACKEND=jax: its steps (loss, gradients, the
    optimizer, BatchNorm statistics, outlier exposure) must be TensorFlow's to round-off."""
    from ml.training.network import build_network

    start = tmp_path / "start.npz"
    np.savez(start, *build_network(widths=(16, 32, 32), n_classes=4, block_depth=3, seed=0).get_weights())
    results = {}
    for backend in ("tensorflow", "jax"):
        results[backend] = tmp_path / f"{backend}.npz"
        run_on_backend(backend, _STEPS, start, results[backend])
    with (np.load(start) as before, np.load(results["tensorflow"]) as tf_run,
          np.load(results["jax"]) as jax_run):
        assert len(tf_run.files) == len(jax_run.files) > 10
        np.testing.assert_allclose(jax_run["arr_0"], tf_run["arr_0"], rtol=1e-5)  # the losses
        assert tf_run["arr_0"][2] < tf_run["arr_0"][0]
        for name in tf_run.files[1:]:
            scale = np.abs(tf_run[name]).max() + 1e-6
            assert np.abs(jax_run[name] - tf_run[name]).max() <= 1e-4 * scale, name
        moved = [not np.array_equal(tf_run[name], before[f"arr_{int(name[4:]) - 1}"])
                 for name in tf_run.files[1:]]
        assert sum(moved) > 10  # the steps changed the weights
