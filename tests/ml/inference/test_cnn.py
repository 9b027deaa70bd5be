"""The CNN estimator and the whole pipeline, on a narrow net and synthetic patterns."""

import pickle

import numpy as np
import onnx
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from ml.inference.cnn import CNNClassifier
from ml.inference.onnx_graph import FLOAT16_MIN_SIZE
from ml.training.recipe import make_pipeline
from tests.conftest import TINY_CNN

pytestmark = pytest.mark.slow


def test_pipeline_beats_chance_on_distinguishable_patterns(tiny_pipeline, patterns):
    _, _, X_test, y_test = patterns
    accuracy = np.mean(tiny_pipeline.predict(X_test) == y_test)
    assert accuracy > 0.6, accuracy  # 4 classes: chance is 0.25


def test_probabilities_are_a_distribution_in_class_order(tiny_pipeline, patterns):
    _, _, X_test, _ = patterns
    proba = tiny_pipeline.predict_proba(X_test[:5])
    assert proba.shape == (5, 4) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert list(tiny_pipeline.classes_) == ["airplane", "automobile", "bird", "cat"]


def test_pickle_round_trip_gives_identical_probabilities(tiny_pipeline, patterns):
    _, _, X_test, _ = patterns
    restored = pickle.loads(pickle.dumps(tiny_pipeline))
    np.testing.assert_array_equal(restored.predict_proba(X_test), tiny_pipeline.predict_proba(X_test))


def test_onnx_matches_keras_on_other_images(tiny_pipeline, patterns):
    """The exported graph, run by ONNX Runtime, against the Keras network rebuilt from the
    weights, on images the export's own check never saw (and with test-time augmentation)."""
    from ml.inference.cnn import softmax, tta_logits

    _, _, X_test, _ = patterns
    cnn = tiny_pipeline.named_steps["cnn"]
    features = tiny_pipeline.named_steps["preprocess"].transform(X_test)
    network = cnn.keras_network()
    keras_probabilities = softmax(tta_logits(features, cnn.tta, lambda views: np.asarray(network(views)))
                                  / cnn.temperature_)
    np.testing.assert_allclose(cnn.predict_proba(features), keras_probabilities, atol=1e-4)


def test_test_time_augmentation_views(tiny_pipeline, patterns):
    _, _, X_test, _ = patterns
    cnn = clone(tiny_pipeline.named_steps["cnn"])
    cnn.__dict__.update({k: v for k, v in tiny_pipeline.named_steps["cnn"].__dict__.items()
                         if k.endswith("_") and not k.startswith("_")})
    features = tiny_pipeline.named_steps["preprocess"].transform(X_test[:3])
    results = {}
    for tta in ("none", "flip", "flip_translate"):
        cnn.tta = tta
        results[tta] = cnn.predict_proba(features)
        np.testing.assert_allclose(results[tta].sum(axis=1), 1, atol=1e-5)
    assert not np.allclose(results["none"], results["flip"])


def test_sklearn_api_contract():
    cnn = CNNClassifier(widths=(8, 8, 8), epochs=2)
    params = cnn.get_params()
    assert params["widths"] == (8, 8, 8) and params["epochs"] == 2
    copy = clone(cnn).set_params(epochs=3)
    assert copy.epochs == 3 and cnn.epochs == 2
    assert not hasattr(cnn, "classes_")
    with pytest.raises(NotFittedError):
        cnn.predict(np.zeros((1, 32, 32, 3), np.float32))


def test_bad_input_shapes_are_refused(tiny_pipeline):
    cnn = tiny_pipeline.named_steps["cnn"]
    with pytest.raises(ValueError, match="shape"):
        cnn.predict_proba(np.zeros((1, 16, 16, 3), np.float32))
    with pytest.raises(ValueError, match="tta"):
        CNNClassifier(tta="sideways").fit(np.zeros((4, 32, 32, 3), np.float32), [0, 1, 0, 1])


def test_grid_search_on_a_2x1_grid(patterns):
    X, y, _, _ = patterns
    fold = np.r_[np.full(150, -1), np.zeros(50, dtype=int)]
    params = dict(TINY_CNN, epochs=1)
    search = GridSearchCV(make_pipeline(**params), {"cnn__learning_rate": [2.0, 4.0]},
                          cv=PredefinedSplit(fold), refit=False, error_score="raise")
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_params_["cnn__learning_rate"] in (2.0, 4.0)
    assert 0 <= search.best_score_ <= 1


def test_seeded_training_is_reproducible_and_resumes_from_checkpoint(patterns, tmp_path):
    X, y, X_test, _ = patterns
    params = dict(TINY_CNN, epochs=2, checkpoint_dir=str(tmp_path))
    first = make_pipeline(**params).fit(X, y)
    assert len(list(tmp_path.glob("cnn-*.npz"))) == 1
    # A second fit with the same parameters and data finds the finished checkpoint: no epochs rerun,
    # the same weights.
    resumed = make_pipeline(**params).fit(X, y)
    assert resumed.named_steps["cnn"].history_ == first.named_steps["cnn"].history_
    np.testing.assert_allclose(resumed.predict_proba(X_test), first.predict_proba(X_test), atol=1e-6)


def test_training_continues_from_kept_weights(tiny_pipeline, patterns):
    X, y, X_test, y_test = patterns
    fitted = tiny_pipeline.named_steps["cnn"]
    features = tiny_pipeline.named_steps["preprocess"].transform(X)
    more = clone(fitted).set_params(epochs=1, learning_rate=1.0)
    more.fit(features, y, initial_weights=fitted.weights_)
    test_features = tiny_pipeline.named_steps["preprocess"].transform(X_test)
    # one gentle epoch from the trained weights keeps the skill a fresh 1-epoch net lacks
    assert np.mean(more.predict(test_features) == y_test) > 0.6


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


def test_rescaled_shrinks_the_picture_into_a_reflected_frame_or_enlarges_a_part_of_it():
    from ml.training.augment import rescaled, zoom

    ramp = np.broadcast_to(np.arange(32, dtype=np.float32)[None, None, :, None], (1, 32, 32, 3)).copy()
    # Half size, centred: the picture spans columns 8..23, sampled every 2 input pixels.
    half = rescaled(ramp, np.array([0.5]), np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(half[0, 5, 8:24, 0], 2 * np.arange(8, 24) - 15.5, atol=1e-5)
    np.testing.assert_allclose(half[0, 5, :8, 0], np.abs(2 * np.arange(8) - 15.5), atol=1e-5)  # mirrored
    left = rescaled(ramp, np.array([0.5]), np.array([[0.0, 0.0]]))  # top-left corner
    np.testing.assert_allclose(left[0, 0, :16, 0], 2 * np.arange(16) + 0.5, atol=1e-5)
    same = rescaled(ramp, np.array([1.0]), np.array([[0.3, 0.7]]))  # full size: unchanged
    np.testing.assert_allclose(same, ramp, atol=1e-5)
    # Twice the size: the frame shows half the picture, its left or its right half.
    big_left = rescaled(ramp, np.array([2.0]), np.array([[0.5, 0.0]]))
    np.testing.assert_allclose(big_left[0, 7, 1:31, 0], np.arange(1, 31) / 2 - 0.25, atol=1e-5)
    big_right = rescaled(ramp, np.array([2.0]), np.array([[0.5, 1.0]]))
    np.testing.assert_allclose(big_right[0, 7, 1:31, 0], 16 + np.arange(1, 31) / 2 - 0.25, atol=1e-5)

    # Reframing: the asked-for shares of the images change, and no other.
    images = np.random.default_rng(0).normal(size=(2000, 32, 32, 3)).astype(np.float32)
    for zoom_out, zoom_in in ((0.15, 0.0), (0.0, 0.15), (0.15, 0.15), (0.0, 0.0)):
        zoomed = images.copy()
        zoom(zoomed, zoom_out, zoom_in, np.random.default_rng(1))
        changed = ~np.isclose(zoomed, images, atol=1e-6).all(axis=(1, 2, 3))
        assert abs(changed.mean() - (zoom_out + zoom_in)) < 0.03


def test_zoom_out_puts_a_smaller_picture_anywhere_on_its_own_blurred_surround():
    from ml.training.augment import ZOOM_SMALLEST_SUBJECT, zoom

    # No frame line for the network to key on: a flat picture stays flat.
    flat = np.full((20, 32, 32, 3), 0.3, np.float32)
    zoom(flat, 1.0, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(flat, 0.3, atol=1e-5)

    # A sharp bright square (the subject) on black: shown smaller, and somewhere new each time.
    picture = np.zeros((32, 32, 3), np.float32)
    picture[12:20, 12:20] = 1.0
    images = np.repeat(picture[None], 300, axis=0)
    zoom(images, 1.0, 0.0, np.random.default_rng(0))
    sharp = images[..., 0] > 0.97  # the surround's copy of the square is blurred below this
    assert sharp.any(axis=(1, 2)).all()
    columns = [np.flatnonzero(s.any(axis=0)) for s in sharp]
    sides = np.array([np.ptp(c) + 1 for c in columns])
    assert sides.max() <= 8 and sides.min() <= 8 * ZOOM_SMALLEST_SUBJECT + 1
    assert np.ptp([c.mean() for c in columns]) > 10
    # Around it, the picture out of focus: its blurred square, not black, at the frame's centre
    # wherever the small copy is not.
    away = [i for i, c in enumerate(columns) if c.max() < 10 or c.min() > 22]
    assert away and all(0.5 < images[i, 16, 16, 0] < 0.97 for i in away)


def test_whitening_layer_whitens_image_patches():
    from ml.training.network import WHITEN_KERNEL, build_network, init_whitening

    rng = np.random.default_rng(0)
    # Smooth images with a little noise: a few strong patch directions and many faint ones.
    images = np.repeat(np.repeat(rng.normal(size=(64, 8, 8, 3)), 4, axis=1), 4, axis=2)
    images = (images + 0.01 * rng.normal(size=images.shape)).astype(np.float32)
    k = WHITEN_KERNEL
    patches = np.stack([images[:, i:32 - k + 1 + i, j:32 - k + 1 + j] for i in range(k)
                        for j in range(k)], axis=3).reshape(-1, k * k * 3).astype(np.float64)
    covariance = patches.T @ patches / len(patches)
    eigenvalues = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    for eps in (1e-6, 1e-2):
        model = build_network((8, 8, 8))
        init_whitening(model, images, eps=eps)
        kernel = model.get_layer("whiten").kernel.numpy().reshape(k * k * 3, -1).T[:k * k * 3]
        # Whitened patch variances are eigenvalue / (eigenvalue + eps), largest first.
        np.testing.assert_allclose(np.diag(kernel @ covariance @ kernel.T),
                                   eigenvalues / (eigenvalues + eps), rtol=1e-3, atol=1e-6)


def test_bfloat16_training_exports_a_float32_network(patterns):
    X, y, X_test, y_test = patterns
    pipeline = make_pipeline(**dict(TINY_CNN, training_precision="mixed_bfloat16")).fit(X, y)
    cnn = pipeline.named_steps["cnn"]
    # Stored compactly (ml.inference.onnx_graph.compact_weights), run in float32.
    assert {w.dtype for w in cnn.weights_} <= {np.dtype(np.float16), np.dtype(np.float32)}
    assert all(w.dtype == np.float16 for w in cnn.weights_ if w.size > FLOAT16_MIN_SIZE)
    graph = onnx.load_from_string(cnn.onnx_graph()).graph
    assert {tensor.data_type for tensor in graph.initializer} == {onnx.TensorProto.FLOAT}
    assert np.mean(pipeline.predict(X_test) == y_test) > 0.5  # chance is 0.25
    with pytest.raises(ValueError, match="training_precision"):
        CNNClassifier(training_precision="float8").fit(np.zeros((4, 32, 32, 3), np.float32), [0, 1, 0, 1])


def test_outlier_exposure_spreads_the_probabilities_of_other_pictures(tiny_pipeline, patterns):
    """Fine-tuning with outliers (noise here) makes the net much less sure about such pictures,
    and keeps it right about its classes."""
    X, y, X_test, y_test = patterns
    preprocess, fitted = tiny_pipeline.named_steps["preprocess"], tiny_pipeline.named_steps["cnn"]
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (120, 32, 32, 3), dtype=np.uint8)
    features, outliers = preprocess.transform(X), preprocess.transform(noise[:80])
    held_out = preprocess.transform(noise[80:])  # noise not trained on
    plain, exposed = (clone(fitted).set_params(epochs=3, learning_rate=2.0, outlier_weight=weight)
                      for weight in (0.0, 1.0))
    plain.fit(features, y, initial_weights=fitted.weights_, outliers=outliers)  # weight 0: ignored
    exposed.fit(features, y, initial_weights=fitted.weights_, outliers=outliers)
    assert exposed.predict_proba(held_out).max(axis=1).mean() < \
        plain.predict_proba(held_out).max(axis=1).mean() - 0.1
    test_features = preprocess.transform(X_test)
    accuracy = {name: np.mean(cnn.predict(test_features) == y_test)
                for name, cnn in (("plain", plain), ("exposed", exposed))}
    assert accuracy["exposed"] >= accuracy["plain"] - 0.1 and accuracy["exposed"] > 0.5, accuracy


def test_checkpoint_key_follows_outlier_exposure_only_when_it_is_on(tmp_path):
    X = np.zeros((8, 32, 32, 3), np.float32)
    y = np.zeros(8, np.int32)
    from ml.training.keras_fit import checkpoint_path

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


def _run_on_backend(backend: str, script: str, *args) -> str:
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
        _run_on_backend(backend, _STEPS, start, results[backend])
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


def test_the_export_check_runs_keras_in_full_float32_on_either_backend():
    """GPUs run float32 matrix products in TF32 by default (TensorFlow and JAX alike): the Keras
    reference the ONNX graph is checked against must not, or a GPU-trained model fails the check."""
    for backend in ("tensorflow", "jax"):
        before, inside, after = _run_on_backend(backend, _PRECISION).split()[-3:]
        assert (inside, after) == ("False", before), backend
        if backend == "tensorflow":
            assert before == "True"  # TensorFlow's default: TF32 where the GPU has it
