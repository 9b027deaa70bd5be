"""Int8 inference (ml/training/quantization.py, CNNClassifier.quantize): the served graph is quantized,
answers as the float32 net does, survives pickling, and a refit drops it."""

import copy
import pickle

import numpy as np
import onnx
import pytest

from tests.conftest import TINY_CNN


@pytest.fixture(scope="module")
def quantized(tiny_pipeline, patterns):
    """A copy of the tiny fitted pipeline whose net serves int8, calibrated on its training images."""
    X, _, _, _ = patterns
    pipeline = copy.deepcopy(tiny_pipeline)
    pipeline.named_steps["cnn"].quantize(pipeline[:-1].transform(X))
    return pipeline


def test_the_served_graph_is_int8(quantized, tiny_pipeline):
    cnn = quantized.named_steps["cnn"]
    assert cnn.inference_precision == "int8"
    assert tiny_pipeline.named_steps["cnn"].inference_precision == "float32"
    graph = onnx.load_from_string(cnn.int8_graph_)
    ops = {node.op_type for node in graph.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    int8_weights = [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8_weights, "the conv weights are stored as int8"
    # The float32 weights stay, for export and further training.
    assert cnn.weights_ is not None


def test_int8_answers_as_float32_does(quantized, tiny_pipeline, patterns):
    _, _, X_test, _ = patterns
    float32 = tiny_pipeline.predict_proba(X_test)
    int8 = quantized.predict_proba(X_test)
    assert not np.array_equal(float32, int8)  # it really runs another graph
    # The tiny net is unsure of everything (top-1 probabilities from 0.25), so a top-1 may flip
    # on a rounding; the probabilities themselves stay within a hundredth (0.011 seen).
    assert np.abs(int8 - float32).max() < 0.03
    assert np.mean(np.argmax(int8, 1) == np.argmax(float32, 1)) >= 0.85


def test_int8_survives_pickling(quantized, patterns):
    _, _, X_test, _ = patterns
    restored = pickle.loads(pickle.dumps(quantized))
    assert restored.named_steps["cnn"].inference_precision == "int8"
    np.testing.assert_array_equal(restored.predict_proba(X_test), quantized.predict_proba(X_test))


def test_a_refit_serves_float32_again(quantized, patterns):
    X, y, _, _ = patterns
    cnn = copy.deepcopy(quantized.named_steps["cnn"]).set_params(epochs=1)
    features = quantized[:-1].transform(X)
    cnn.fit(features, y)
    assert cnn.inference_precision == "float32"


def test_an_ensemble_quantizes_every_member(patterns):
    from ml.training.recipe import make_pipeline

    X, y, X_test, _ = patterns
    pipeline = make_pipeline(n_members=2, **dict(TINY_CNN, epochs=2)).fit(X, y)
    ensemble = pipeline.named_steps["cnn"]
    float32 = pipeline.predict_proba(X_test)
    ensemble.quantize(pipeline[:-1].transform(X))
    assert ensemble.inference_precision == "int8"
    assert [m.inference_precision for m in ensemble.members_] == ["int8", "int8"]
    assert np.abs(pipeline.predict_proba(X_test) - float32).max() < 0.03
