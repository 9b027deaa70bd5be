import io
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from ml.training.data import CIFAR10_CLASSES, DataError, load_cifar_batches, load_dataset, stratified_split
from tests.imagegen import cifar_python_archive, gradient


def make_folder(root, classes=("cat", "dog"), per_class=3, size=(40, 30)):
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            gradient(*size, seed=c * 10 + i).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_class_folder_tree(tmp_path):
    root = make_folder(tmp_path / "data")
    data = load_dataset(root, cache_dir=None)
    assert data.classes == ("cat", "dog")
    assert data.images.shape == (6, 32, 32, 3) and data.images.dtype == np.uint8
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_cache_is_reused_and_invalidated(tmp_path):
    root = make_folder(tmp_path / "data")
    cache = tmp_path / "cache"
    first = load_dataset(root, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    again = load_dataset(root, cache_dir=cache)
    np.testing.assert_array_equal(first.images, again.images)
    (root / "bird").mkdir()
    gradient().save(root / "bird" / "x.png")
    assert load_dataset(root, cache_dir=cache).classes == ("bird", "cat", "dog")


def test_tar_archive(tmp_path):
    root = make_folder(tmp_path / "train", classes=("airplane", "ship"), per_class=2)
    archive = tmp_path / "train.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="train")
    data = load_dataset(archive, cache_dir=None)
    assert data.classes == ("airplane", "ship") and len(data) == 4


def test_empty_and_unknown_sources_have_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "missing", cache_dir=None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        load_dataset(tmp_path / "empty", cache_dir=None)
    (tmp_path / "hollow" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="no images"):
        load_dataset(tmp_path / "hollow", cache_dir=None)
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    with pytest.raises(DataError):
        load_dataset(text, cache_dir=None)


def test_corrupt_image_names_the_file(tmp_path):
    root = make_folder(tmp_path / "data", per_class=1)
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xffnot really")
    with pytest.raises(DataError, match=r"broken\.jpg"):
        load_dataset(root, cache_dir=None)


def write_official_batches(folder, n_per_batch=4):
    """Tiny files in the official CIFAR-10 python format (bytes keys, CHW rows)."""
    folder.mkdir()
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
             b"ship", b"truck"]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, f)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n_per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
    return data, labels


def test_official_python_batches(tmp_path):
    test_data, test_labels = write_official_batches(tmp_path / "cifar-10-batches-py")
    train = load_dataset(tmp_path / "cifar-10-batches-py")
    assert len(train) == 20 and train.classes[0] == "airplane" and train.classes[-1] == "truck"
    test = load_dataset(tmp_path, split="test")  # the parent folder works too
    assert test.labels.tolist() == test_labels
    # rows are channel-first: red plane, then green, then blue
    np.testing.assert_array_equal(test.images[0, :, :, 0].ravel(), test_data[0, :1024])


def test_batches_refuse_foreign_objects(tmp_path):
    write_official_batches(tmp_path / "b")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "b" / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(DataError, match="unexpected object"):
        load_cifar_batches(tmp_path / "b")


def test_batches_whose_labels_do_not_fit_are_refused(tmp_path):
    write_official_batches(tmp_path / "b")
    for labels in ([0, 10], [0]):  # a class batches.meta does not name; fewer labels than images
        (tmp_path / "b" / "data_batch_2").write_bytes(
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": labels}))
        with pytest.raises(DataError, match=r"data_batch_2 in .*: labels do not match its images"):
            load_cifar_batches(tmp_path / "b")


def test_the_official_archive_is_read_as_downloaded(tmp_path):
    """cifar-10-python.tar.gz straight from the archive (nothing extracted, nothing cached), the
    same images as its extracted folder gives."""
    files = cifar_python_archive(tmp_path / "cifar-10-python.tar.gz", per_class=2)
    cache = tmp_path / "cache"
    train = load_dataset(tmp_path / "cifar-10-python.tar.gz", cache_dir=cache)
    assert train.classes == CIFAR10_CLASSES and len(train) == 5 * 20
    assert np.bincount(train.labels).tolist() == [10] * 10
    test = load_dataset(tmp_path / "cifar-10-python.tar.gz", split="test", cache_dir=cache)
    batch = pickle.loads(files["test_batch"], encoding="bytes")
    assert test.labels.tolist() == batch[b"labels"]
    # rows are channel-first: red plane, then green, then blue
    np.testing.assert_array_equal(test.images[3, :, :, 2].ravel(), batch[b"data"][3, 2048:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-python.tar.gz"]

    with tarfile.open(tmp_path / "cifar-10-python.tar.gz") as archive:
        archive.extractall(tmp_path / "extracted", filter="data")
    extracted = load_dataset(tmp_path / "extracted")
    np.testing.assert_array_equal(extracted.images, train.images)
    np.testing.assert_array_equal(extracted.labels, train.labels)


def test_a_damaged_official_archive_has_a_clear_error(tmp_path):
    cifar_python_archive(tmp_path / "whole.tar.gz")
    data = (tmp_path / "whole.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cannot read the tar archive .*cut\.tar\.gz"):
        load_dataset(tmp_path / "cut.tar.gz", cache_dir=None)


def test_the_archive_refuses_foreign_objects_too(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as archive:
        for name in ["batches.meta"] + [f"data_batch_{i}" for i in range(1, 6)]:
            payload = pickle.dumps({b"label_names": [b"cat"], b"data": Evil(), b"labels": [0]})
            member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload))
    with pytest.raises(DataError, match=r"unexpected object builtins\.print"):
        load_dataset(tmp_path / "evil.tar.gz", cache_dir=None)


def test_stratified_split_is_fixed_and_balanced():
    labels = np.repeat(np.arange(10), 50)
    train, validation = stratified_split(labels, 100, seed=0)
    again, _ = stratified_split(labels, 100, seed=0)
    np.testing.assert_array_equal(train, again)
    assert len(validation) == 100 and np.bincount(labels[validation]).tolist() == [10] * 10
    assert not set(train) & set(validation)


def test_images_of_any_size_are_resized(tmp_path):
    root = make_folder(tmp_path / "d", per_class=1, size=(200, 120))
    Image.new("RGBA", (50, 50)).save(root / "cat" / "transparent.png")
    assert load_dataset(root, cache_dir=None).images.shape == (3, 32, 32, 3)
