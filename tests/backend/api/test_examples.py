"""Example pictures as the API lists and serves them (nothing else from their folder), classified like
any upload (tests/ml/training/test_pick_examples.py: how they are picked)."""

from __future__ import annotations

import io
import json

import pytest

from bench.fixtures import encode
from ml.inference.examples import MANIFEST, read_manifest
from tests.imagegen import gradient

CLASSES = ("bird", "cat", "ship")


@pytest.fixture()
def examples_dir(tmp_path):
    """A folder as ``python -m ml.training.pick_examples`` writes it: a picture per class and the
    manifest listing them."""
    entries = []
    for n, label in enumerate(CLASSES):
        (tmp_path / f"{label}.jpg").write_bytes(encode(gradient(32, 32, seed=n), "JPEG", quality=90))
        entries.append({"label": label, "file": f"{label}.jpg", "source": f"train/{label}/0.jpg",
                        "credit": "test"})
    (tmp_path / MANIFEST).write_text(json.dumps(entries))
    return tmp_path


@pytest.fixture()
def examples_client(model_path, examples_dir):
    from backend import create_app

    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "RATE_LIMIT": "",
                      "UPLOAD_RATE_LIMIT": "", "EXAMPLES_DIR": str(examples_dir)})
    return app.test_client()


def test_the_api_lists_and_serves_the_examples(examples_client, examples_dir):
    listed = examples_client.get("/api/examples").get_json()["examples"]
    assert [example["label"] for example in listed] == list(CLASSES)
    for example in listed:
        response = examples_client.get(example["url"])
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.data == (examples_dir / f"{example['label']}.jpg").read_bytes()


def test_an_example_is_classified_like_any_upload(examples_client):
    example = examples_client.get("/api/examples").get_json()["examples"][0]
    data = examples_client.get(example["url"]).data
    response = examples_client.post("/api/predict", data={"image": (io.BytesIO(data), "bird.jpg")},
                                    content_type="multipart/form-data")
    assert response.status_code == 200 and len(response.get_json()["predictions"]) == 5


@pytest.mark.parametrize("name", ["examples.json", "other.jpg", "..%2Fconfig.py", "%2Fetc%2Fpasswd"])
def test_nothing_but_the_listed_pictures_is_served(examples_client, examples_dir, name):
    (examples_dir / "other.jpg").write_bytes(b"not listed")
    response = examples_client.get(f"/api/examples/{name}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_no_examples_folder_lists_none(model_path, tmp_path):
    from backend import create_app

    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path),
                      "EXAMPLES_DIR": str(tmp_path / "none")})
    assert app.test_client().get("/api/examples").get_json() == {"examples": []}


def test_the_committed_examples_show_one_picture_per_class(model_path):
    """Every clone and deploy has them: frontend/examples/ is in the repository."""
    from backend.config import ROOT, from_env
    from ml.inference import artifact

    entries = read_manifest(from_env()["EXAMPLES_DIR"])
    assert [entry["label"] for entry in entries] == list(artifact.load(model_path).classes)
    for entry in entries:
        assert (ROOT / "frontend" / "examples" / entry["file"]).stat().st_size < 4096


def test_relative_paths_mean_the_working_directory_at_start(model_path, tmp_path, monkeypatch):
    """As `make run` passes them (MODEL_PATH=models/…): each is resolved once, when the settings
    are read, not against the app's package folder when a file is sent."""
    from backend import create_app
    from backend.config import ROOT

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("EXAMPLES_DIR", "frontend/examples")
    monkeypatch.setenv("MODEL_PATH", str(model_path.relative_to(ROOT)) if model_path.is_relative_to(ROOT)
                       else str(model_path))
    app = create_app({"TESTING": True, "RATE_LIMIT": "", "UPLOAD_RATE_LIMIT": "", "IMAGE_RATE_LIMIT": ""})
    monkeypatch.chdir(tmp_path)  # a later change of directory changes nothing
    client = app.test_client()
    for name in ("EXAMPLES_DIR", "MODEL_PATH", "REPORTS_DIR", "FRONTEND_DIR"):
        assert app.config[name].startswith("/"), name
    examples = client.get("/api/examples").get_json()["examples"]
    assert len(examples) == 10
    for example in examples:
        assert client.get(example["url"]).status_code == 200, example["url"]
    for url in client.get("/api/model").get_json()["reports"].values():
        assert url and client.get(url).status_code == 200, url
