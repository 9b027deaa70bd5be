"""The ONNX graph built from the weights, and ensembles of CNNs (every view for every member, or
the views dealt out among them)."""

import copy

import numpy as np
import pytest
from sklearn.base import clone

from ml.inference import artifact
from ml.inference.cnn import CNNClassifier, tta_logits
from ml.inference.ensemble import CNNEnsemble
from ml.inference.onnx_graph import build_onnx, compact_weights
from ml.training.recipe import make_pipeline
from tests.conftest import TINY_CNN

PICTURES = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)


def recording_member(seen: list, offset: float):
    """A stand-in net: records each batch it runs, and answers its first 3 values + ``offset``."""
    def run(batch):
        seen.append(batch.copy())
        return batch.reshape(len(batch), -1)[:, :3] + offset
    return run


def test_views_are_dealt_out_among_members():
    """Two members with flip: the first sees the picture, the second its mirror. One member sees
    all the views; with more members than views, every member sees every view."""
    X = PICTURES
    a, b = [], []
    logits = tta_logits(X, "flip", [recording_member(a, 0.0), recording_member(b, 100.0)])
    np.testing.assert_array_equal(a[0], X)
    np.testing.assert_array_equal(b[0], X[:, :, ::-1])
    flipped = X[:, :, ::-1].reshape(2, -1)[:, :3] + 100.0
    np.testing.assert_allclose(logits, (X.reshape(2, -1)[:, :3] + flipped) / 2)

    single = tta_logits(X, "flip", recording_member([], 0.0))
    np.testing.assert_allclose(single, (X.reshape(2, -1)[:, :3] + X[:, :, ::-1].reshape(2, -1)[:, :3]) / 2)

    a, b = [], []
    both = tta_logits(X, "none", [recording_member(a, 0.0), recording_member(b, 100.0)])
    assert len(a[0]) == len(b[0]) == 2
    np.testing.assert_allclose(both, X.reshape(2, -1)[:, :3] + 50.0)


def test_without_dealing_every_member_sees_every_view():
    X = PICTURES
    a, b = [], []
    logits = tta_logits(X, "flip", [recording_member(a, 0.0), recording_member(b, 100.0)], deal=False)
    for seen in (a, b):  # one batch of both views each
        np.testing.assert_array_equal(seen[0], np.concatenate([X, X[:, :, ::-1]]))
    plain, mirrored = X.reshape(2, -1)[:, :3], X[:, :, ::-1].reshape(2, -1)[:, :3]
    np.testing.assert_allclose(logits, (plain + mirrored) / 2 + 50.0)


@pytest.mark.slow
@pytest.mark.parametrize("block_depth", [2, 3])
def test_onnx_graph_matches_keras(block_depth):
    """Built from the Keras weights alone, the graph computes what Keras computes, for both block
    depths (BatchNorm statistics made non-trivial, as after training)."""
    import onnxruntime

    from ml.training.network import build_network

    network = build_network(widths=(8, 16, 16), block_depth=block_depth, seed=3)
    rng = np.random.default_rng(0)
    weights = [w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in network.get_weights()]
    weights = [np.abs(w) + 0.5 if "variance" in v.path else w  # variances must stay positive
               for w, v in zip(weights, network.weights)]
    network.set_weights(weights)
    X = rng.normal(0, 1, (5, 32, 32, 3)).astype(np.float32)
    session = onnxruntime.InferenceSession(build_onnx(weights, image_size=32, block_depth=block_depth),
                                           providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": X})[0], np.asarray(network(X)),
                               rtol=1e-4, atol=1e-4)


def test_compact_weights_keep_small_arrays_exact():
    kernel, variance = np.full((3, 3, 64, 64), 0.1, np.float32), np.array([1e-9, 2.0], np.float32)
    stored = compact_weights([kernel, variance])
    assert stored[0].dtype == np.float16 and stored[1].dtype == np.float32
    np.testing.assert_array_equal(stored[1], variance)
    with pytest.raises(ValueError, match="weight arrays"):
        build_onnx(stored, image_size=32, block_depth=2)


@pytest.fixture(scope="module")
def tiny_ensemble(patterns):
    X, y, _, _ = patterns
    return make_pipeline(n_members=2, **dict(TINY_CNN, epochs=3)).fit(X, y)


@pytest.mark.slow
def test_an_ensemble_averages_members_that_differ(tiny_ensemble, patterns):
    _, _, X_test, y_test = patterns
    ensemble = tiny_ensemble.named_steps["cnn"]
    assert isinstance(ensemble, CNNEnsemble) and len(ensemble.members_) == 2
    assert [m.random_state for m in ensemble.members_] == [0, 1]
    first, second = ensemble.members_
    assert not np.allclose(first.weights_[2], second.weights_[2])  # different seeds, different nets
    features = tiny_ensemble.named_steps["preprocess"].transform(X_test)
    mirrored = features[:, :, ::-1]
    assert ensemble.views == "every"
    expected = sum(net.logits(x) for net in (first, second) for x in (features, mirrored)) / 4
    np.testing.assert_allclose(ensemble.decision_function(features), expected, rtol=1e-5, atol=1e-5)
    dealt = copy.copy(ensemble).set_params(views="dealt")
    expected = (first.logits(features) + second.logits(mirrored)) / 2
    np.testing.assert_allclose(dealt.decision_function(features), expected, rtol=1e-5, atol=1e-5)
    assert np.mean(tiny_ensemble.predict(X_test) == y_test) > 0.5  # chance is 0.25
    assert ensemble.calibrate(features, y_test).temperature_ > 0


@pytest.mark.slow
def test_an_ensemble_is_an_sklearn_estimator_and_an_artifact(tiny_ensemble, patterns, tmp_path):
    _, _, X_test, _ = patterns
    ensemble = tiny_ensemble.named_steps["cnn"]
    params = ensemble.get_params()
    assert params["n_members"] == 2 and params["estimator__widths"] == TINY_CNN["widths"]
    assert not hasattr(clone(ensemble), "members_")
    path = tmp_path / "ensemble.pkl"
    artifact.save(path, tiny_ensemble, classes=list(tiny_ensemble.classes_), params={}, metrics={},
                  card={"input_size": [32, 32, 3]})
    loaded = artifact.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), tiny_ensemble.predict_proba(X_test))


def test_ensemble_refuses_bad_parameters():
    X, y = np.zeros((4, 32, 32, 3), np.float32), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="n_members"):
        CNNEnsemble(CNNClassifier(), n_members=0).fit(X, y)
    with pytest.raises(ValueError, match="tta"):
        CNNEnsemble(CNNClassifier(), tta="rotate").fit(X, y)
    with pytest.raises(ValueError, match="views"):
        CNNEnsemble(CNNClassifier(), views="some").fit(X, y)
    with pytest.raises(ValueError, match="initial_weights"):
        CNNEnsemble(CNNClassifier(), n_members=2).fit(X, y, initial_weights=[[]])
