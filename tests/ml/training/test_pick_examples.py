"""Example pictures: picked from the validation split of a CIFAR-style archive, copied byte for
byte, with a manifest (tests/backend/api/test_examples.py: the API lists and serves them)."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from bench.fixtures import encode
from ml.inference.examples import read_manifest
from ml.inference.preprocessing import image_to_array
from ml.training.data import load_tar_archive, stratified_split
from ml.training.pick_examples import write_examples
from tests.imagegen import gradient

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
