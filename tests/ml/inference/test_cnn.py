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
