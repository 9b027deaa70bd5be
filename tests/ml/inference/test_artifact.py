"""The shipped-model file format: hash sidecar, restricted unpickling, no TensorFlow at load."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from ml.inference import artifact
from tests.conftest import ROOT
from tests.imagegen import gradient

pytestmark = pytest.mark.slow


def test_round_trip(tiny_artifact, tiny_pipeline, patterns):
    loaded = artifact.load(tiny_artifact)
    assert loaded.classes == ["airplane", "automobile", "bird", "cat"]
    assert isinstance(loaded, artifact.Model) and len(loaded.sha256) == 64
    assert loaded.version == "tiny-test" and loaded.input_size == [32, 32, 3]
    top = loaded.top_k(np.array([0.1, 0.4, 0.4, 0.1]), 3)
    assert [p["label"] for p in top] == ["automobile", "bird", "airplane"]  # ties: class order
    _, _, X_test, _ = patterns
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(X_test),
                                  tiny_pipeline.predict_proba(X_test))


def test_loading_and_predicting_never_imports_tensorflow(tiny_artifact):
    code = (
        "import sys, numpy as np\n"
        "from ml.inference import artifact\n"
        f"model = artifact.load({str(tiny_artifact)!r})\n"
        "model.predict_proba([np.zeros((50, 40, 3), np.uint8)])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_tampered_artifact_is_refused(tiny_artifact, tmp_path):
    data = bytearray(tiny_artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "tampered.pkl"
    bad.write_bytes(bytes(data))
    artifact.checksum_path(bad).write_text(artifact.checksum_path(tiny_artifact).read_text())
    with pytest.raises(artifact.ArtifactError, match="SHA-256"):
        artifact.load(bad)


def test_missing_sidecar_or_file_is_refused(tiny_artifact, tmp_path):
    lonely = tmp_path / "lonely.pkl"
    lonely.write_bytes(tiny_artifact.read_bytes())
    with pytest.raises(artifact.ArtifactError, match="checksum file not found"):
        artifact.load(lonely)
    with pytest.raises(artifact.ArtifactError, match="not found"):
        artifact.load(tmp_path / "nothing.pkl")


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/pwned-by-pickle",))


def test_foreign_pickle_with_a_valid_hash_is_refused(tmp_path):
    # Even a correctly hashed file may not run code: only the model's own classes load.
    path = tmp_path / "evil.pkl"
    data = pickle.dumps({"format": artifact.ARTIFACT_FORMAT, "pipeline": Exploit()})
    path.write_bytes(data)
    artifact.checksum_path(path).write_text(artifact.sha256_of(data) + "  evil.pkl\n")
    with pytest.raises(artifact.ArtifactError, match="refusing to load"):
        artifact.load(path)
    assert not os.path.exists("/tmp/pwned-by-pickle")


def test_other_pickles_are_refused(tmp_path):
    path = tmp_path / "other.pkl"
    data = pickle.dumps({"just": "a dict"})
    path.write_bytes(data)
    artifact.checksum_path(path).write_text(artifact.sha256_of(data))
    with pytest.raises(artifact.ArtifactError, match="not a"):
        artifact.load(path)


def test_cli_evaluate_json_and_predict(tiny_artifact, tmp_path):
    root = tmp_path / "data"
    for name in ("airplane", "cat"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            gradient(seed=i).save(root / name / f"{i}.png")
    png = tmp_path / "cm.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ML_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "ml", "evaluate", "--data", str(root), "--model",
                          str(tiny_artifact), "--json", "--confusion-matrix", str(png)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) == {"accuracy", "n", "per_class"} and report["n"] == 6
    assert 0 <= report["accuracy"] <= 1
    assert set(report["per_class"]) == {"airplane", "automobile", "bird", "cat"}
    assert set(report["per_class"]["cat"]) >= {"precision", "recall"}
    assert png.read_bytes().startswith(b"\x89PNG")

    out = subprocess.run([sys.executable, "-m", "ml", "evaluate", "--data", str(root), "--model",
                          str(tiny_artifact), "--json", "--confusion-matrix", str(png), "--shifts"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    shifts = json.loads(out.stdout)["shifts"]
    assert len(shifts) > 1 and all(0 <= s["accuracy"] <= 1 for s in shifts.values())

    out = subprocess.run([sys.executable, "-m", "ml", "predict", str(root / "cat" / "0.png"),
                          "--model", str(tiny_artifact)], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert out.returncode == 0 and "%" in out.stdout


def test_every_cli_command_has_help():
    """Every subcommand python -m ml lists (argparse's {a,b,...}) answers --help."""
    listing = subprocess.run([sys.executable, "-m", "ml", "--help"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60).stdout
    commands = listing.partition("{")[2].partition("}")[0].split(",")
    assert {"train", "finetune", "stand-in-feedback", "ship"} <= set(commands)
    for command in commands:
        out = subprocess.run([sys.executable, "-m", "ml", command, "--help"], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
        assert out.returncode == 0 and "usage:" in out.stdout, command


def test_cli_reports_bad_data_clearly(tmp_path, tiny_artifact):
    out = subprocess.run([sys.executable, "-m", "ml", "evaluate", "--data", str(tmp_path / "none"),
                          "--model", str(tiny_artifact)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 2 and "not found" in out.stderr and "Traceback" not in out.stderr


def test_a_pinned_hash_refuses_a_replaced_model_with_a_recomputed_sidecar(tiny_artifact, tmp_path):
    """An attacker who swaps the labels can recompute the .sha256 sidecar, not the pinned hash."""
    pinned = artifact.load(tiny_artifact).sha256
    payload = artifact.load(tiny_artifact)
    swapped = tmp_path / "swapped.pkl"
    artifact.save(swapped, payload.pipeline, classes=payload.classes[::-1],
                  params=payload.params, metrics=payload.metrics, card=payload.card)
    assert artifact.load(swapped).classes == payload.classes[::-1]  # the sidecar is satisfied
    with pytest.raises(artifact.ArtifactError, match="not the pinned model"):
        artifact.load(swapped, expected_sha256=pinned)
    assert artifact.load(tiny_artifact, expected_sha256=pinned.upper()).sha256 == pinned


def test_a_graph_in_the_pickle_is_never_run(tiny_artifact, tmp_path):
    """A graph smuggled into an artifact (one reading "external data" files, say, or computing
    something else) is never run: the network run is always built from the weights."""
    import onnx

    payload = artifact.load(tiny_artifact)
    cnn = payload.pipeline.named_steps["cnn"]
    images = [gradient(40, 30), gradient(64, 64)]
    expected = payload.predict_proba(images)
    graph = onnx.load_from_string(cnn.onnx_graph())
    weight = max(graph.graph.initializer, key=lambda tensor: len(tensor.raw_data))
    weight.ClearField("raw_data")
    weight.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    cnn.onnx_model_ = graph.SerializeToString()
    tampered = tmp_path / "tampered.pkl"
    artifact.save(tampered, payload.pipeline, classes=payload.classes, params=payload.params,
                  metrics=payload.metrics, card=payload.card)
    loaded = artifact.load(tampered)
    np.testing.assert_array_equal(loaded.predict_proba(images), expected)


def test_cli_and_server_see_a_rotated_photo_the_same_way(client, tmp_path, model_path):
    """EXIF orientation, first frame, scaled JPEG decoding: ml.images does it for both."""
    from tests.imagegen import with_exif_orientation

    photo = tmp_path / "rotated.jpg"
    photo.write_bytes(with_exif_orientation(gradient(300, 200), 6))
    served = client.post("/api/predict", data={"image": (photo.open("rb"), "rotated.jpg"), "top_k": "10"},
                         content_type="multipart/form-data").get_json()["predictions"]
    out = subprocess.run([sys.executable, "-m", "ml", "predict", str(photo), "--model", str(model_path),
                          "--top-k", "10"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = [part.rsplit(" ", 2) for part in out.stdout.split(": ", 1)[1].strip().split(", ")]
    assert [label for label, _, _ in printed] == [p["label"] for p in served]
    assert [float(percent) for _, percent, _ in printed] == [round(p["probability"] * 100, 1) for p in served]
