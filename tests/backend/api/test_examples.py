"""Example pictures: picked from the validation split of a CIFAR-style archive, copied byte for
byte, listed and served by the API (nothing else from their folder), and classified like any upload."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from ml.data import load_tar_archive, stratified_split
from ml.examples import MANIFEST, read_manifest, write_examples
from ml.preprocessing import image_to_array
from tests.imagegen import encode, gradient

CLASSES = ("bird", "cat", "ship")
PER_CLASS = 10
VALIDATION = 6


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A tiny CIFAR-style archive: train/<class>/<n>.jpg, every picture different."""
    path = tmp_path_factory.mktemp("data") / "train.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for label, name in enumerate(CLASSES):
            for n in range(PER_CLASS):
                data = encode(gradient(32, 32, seed=100 * label + n), "JPEG", quality=90)
                info = tarfile.TarInfo(f"train/{name}/{n:04d}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def examples_dir(archive, tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    write_examples(archive, folder, validation_size=VALIDATION)
    return folder


def test_each_example_is_the_first_validation_picture_of_its_class(archive, examples_dir):
    dataset = load_tar_archive(archive)
    _, validation = stratified_split(dataset.labels, VALIDATION, 0)
    entries = read_manifest(examples_dir)
    assert [entry["label"] for entry in entries] == list(CLASSES)
    for entry in entries:
        first = next(i for i in validation if dataset.classes[dataset.labels[i]] == entry["label"])
        picture = Image.open(examples_dir / entry["file"])
        assert np.array_equal(image_to_array(picture), dataset.images[first])
        assert entry["source"].startswith(f"train/{entry['label']}/") and "CIFAR-10" in entry["credit"]


def test_the_files_are_copied_byte_for_byte(archive, examples_dir):
    with tarfile.open(archive) as tar:
        for entry in read_manifest(examples_dir):
            original = tar.extractfile(entry["source"]).read()
            assert (examples_dir / entry["file"]).read_bytes() == original


def test_a_missing_or_damaged_manifest_means_no_examples(tmp_path):
    assert read_manifest(tmp_path / "nowhere") == []
    (tmp_path / MANIFEST).write_text("{not json")
    assert read_manifest(tmp_path) == []
    (tmp_path / MANIFEST).write_text('[{"label": "cat", "file": "gone.jpg"}, 3]')
    assert read_manifest(tmp_path) == []  # listed files that are not there are left out


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
    from ml import artifact

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
