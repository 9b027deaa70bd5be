"""Labelled image data: class-folder trees (plain or in a tar archive) and the official CIFAR-10
python batches, decoded in parallel and cached as .npz outside the repository."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ml.images import decode_image, load_image
from ml.inference.preprocessing import image_to_array

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# The official python version: a gzip tar holding cifar-10-batches-py/{data_batch_1..5,test_batch,
# batches.meta}, each a pickled dict.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_BATCHES = "cifar-10-batches-py"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
DEFAULT_CACHE_DIR = Path(os.environ.get("ML_CACHE_DIR", Path.home() / ".cache" / "cifar-cnn"))


class DataError(ValueError):
    """The data source is missing, empty or not in a format we can read."""


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 (n, size, size, 3), integer labels, and class names in label order."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices) -> Dataset:
        return Dataset(self.images[indices], self.labels[indices], self.classes)


def load_dataset(source, *, image_size: int = 32, split: str = "train",
                 cache_dir: Path | None = DEFAULT_CACHE_DIR, n_jobs: int | None = None) -> Dataset:
    """Load labelled images from ``source``.

    ``source`` is one of: a class-folder tree ``root/<class>/*.jpg``; a tar archive of such a tree
    (the shared ``train.tar.gz``); the official CIFAR-10 python batches (``data_batch_1..5``,
    ``test_batch``, ``batches.meta``), as downloaded (``cifar-10-python.tar.gz``, read without
    extracting it) or extracted; or ``keras:cifar10`` to download them through Keras. ``split``
    picks train or test for the batch formats.
    """
    source_text = str(source)
    if source_text == "keras:cifar10":
        return load_keras_cifar10(split)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data source not found: {path}")
    if path.is_dir() and (path / "batches.meta").exists():
        return load_cifar_batches(path, split)
    if path.is_dir() and (path / CIFAR10_BATCHES / "batches.meta").exists():
        return load_cifar_batches(path / CIFAR10_BATCHES, split)
    is_archive = path.is_file() and path.name.endswith(TAR_SUFFIXES)
    if is_archive and _holds_cifar_batches(path):
        return load_cifar_archive(path, split)

    cache_file = _cache_file(path, image_size, cache_dir) if cache_dir else None
    if cache_file and cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as cached:
            return Dataset(cached["images"], cached["labels"], tuple(cached["classes"].tolist()))

    if is_archive:
        dataset = load_tar_archive(path, image_size)
    elif path.is_dir():
        dataset = load_image_folder(path, image_size, n_jobs=n_jobs)
    else:
        raise DataError(f"{path} is neither a folder of class folders, a tar archive of one, "
                        "nor a folder of CIFAR-10 python batches")

    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, images=dataset.images, labels=dataset.labels, classes=np.array(dataset.classes))
        tmp.replace(cache_file)
    return dataset


def load_image_folder(root, image_size: int = 32, n_jobs: int | None = None) -> Dataset:
    """Decode ``root/<class>/<image>`` in parallel worker processes."""
    root = Path(root)
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not classes:
        raise DataError(f"{root} has no class folders: expected {root}/<class name>/<image files>")
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [label] * len(found)
    empty = [name for label, name in enumerate(classes) if label not in set(labels)]
    if empty:
        raise DataError(f"class folders with no images ({', '.join(sorted(IMAGE_SUFFIXES))}): "
                        + ", ".join(empty))
    workers = n_jobs or os.cpu_count() or 1
    chunks = [files[i:i + 2048] for i in range(0, len(files), 2048)]
    if workers == 1 or len(files) < 2048:
        arrays = [_decode_files(chunk, image_size) for chunk in chunks]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            arrays = list(pool.map(_decode_files, chunks, [image_size] * len(chunks)))
    return Dataset(np.concatenate(arrays), np.asarray(labels, dtype=np.int64), classes)


def _decode_files(paths, image_size: int) -> np.ndarray:
    out = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            out[i] = image_to_array(load_image(path), image_size)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read image {path}: {error}") from error
    return out


def member_class(member: tarfile.TarInfo) -> str | None:
    """The class of an image in a tar archive's class-folder tree (its folder's name), or None for
    anything else (folders, other files, hidden paths). ml.training.pick_examples picks files by the
    same rule."""
    path = PurePosixPath(member.name)
    if not member.isfile() or path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    if len(path.parts) < 2 or any(part.startswith(".") for part in path.parts):
        return None
    return path.parts[-2]


def load_tar_archive(path, image_size: int = 32) -> Dataset:
    """Read a class-folder tree straight out of a tar archive: ``<top>/<class>/<image>``.

    Decoding in one pass over the compressed stream is fast for small images (CIFAR-10: ~10 s).
    """
    by_class: dict[str, list[np.ndarray]] = {}
    for member, data in _tar_files(path, lambda member: member_class(member) is not None):
        try:
            image = decode_image(data)
            by_class.setdefault(member_class(member), []).append(image_to_array(image, image_size))
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read image {member.name} in {path}: {error}") from error
    if not by_class:
        raise DataError(f"{path} holds no images in class folders (<class>/<image>)")
    classes = tuple(sorted(by_class))
    images = np.stack([array for name in classes for array in by_class[name]])
    labels = np.concatenate([np.full(len(by_class[name]), label, dtype=np.int64)
                             for label, name in enumerate(classes)])
    return Dataset(images, labels, classes)


def _tar_files(path, wanted):
    """(member, bytes) of each file of a tar archive that ``wanted(member)`` picks, in one pass over
    the (compressed) stream; a damaged or truncated archive raises DataError."""
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile() and wanted(member):
                    yield member, archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read the tar archive {path}: {error}") from error


def _holds_cifar_batches(path) -> bool:
    """Whether a tar archive is the official python version, told from its first member
    (``cifar-10-batches-py/``) without reading the rest."""
    try:
        with tarfile.open(path) as archive:
            first = archive.next()
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read the tar archive {path}: {error}") from error
    return first is not None and PurePosixPath(first.name).parts[:1] == (CIFAR10_BATCHES,)


def _batch_names(split: str) -> list[str]:
    return [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]


def load_cifar_batches(folder, split: str = "train") -> Dataset:
    """The official CIFAR-10 python pickles (``data_batch_1..5`` / ``test_batch``) in a folder."""
    folder = Path(folder)
    names = _batch_names(split) + ["batches.meta"]
    return _decode_batches({name: (folder / name).read_bytes() for name in names
                            if (folder / name).is_file()}, split, folder)


def load_cifar_archive(path, split: str = "train") -> Dataset:
    """The same pickles read straight out of ``cifar-10-python.tar.gz``, nothing extracted."""
    names = set(_batch_names(split) + ["batches.meta"])
    return _decode_batches({PurePosixPath(member.name).name: data for member, data in _tar_files(
        path, lambda member: PurePosixPath(member.name).name in names)}, split, path)


def _decode_batches(files: dict[str, bytes], split: str, where) -> Dataset:
    """A Dataset from the batch files' bytes: ``{"data_batch_1": b"...", "batches.meta": ...}``."""
    names = _batch_names(split)
    missing = [name for name in names + ["batches.meta"] if name not in files]
    if missing:
        raise DataError(f"{where} lacks CIFAR-10 batch files: {', '.join(missing)}")
    meta = _load_pickle(files["batches.meta"], "batches.meta", where)
    classes = tuple(_text(name) for name in meta.get(b"label_names", meta.get("label_names", [])))
    images, labels = [], []
    for name in names:
        batch = _load_pickle(files[name], name, where)
        try:
            data = np.asarray(batch.get(b"data", batch.get("data")), dtype=np.uint8)
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch.get(b"labels", batch.get("labels")), dtype=np.int64))
        except (TypeError, ValueError) as error:
            raise DataError(f"{name} in {where} is not a CIFAR-10 batch: {error}") from error
        if len(labels[-1]) != len(images[-1]) or np.any((labels[-1] < 0) | (labels[-1] >= len(classes))):
            raise DataError(f"{name} in {where}: labels do not match its images and the "
                            f"{len(classes)} classes of batches.meta")
    return Dataset(np.concatenate(images), np.concatenate(labels), classes)


class _BatchUnpickler(pickle.Unpickler):
    # The official batches hold only dicts, lists, bytes and numpy arrays; refuse anything else
    # (a pickle is code, and these files come from outside). Protocol 2 written by Python 3 spells
    # bytes as _codecs.encode(text, "latin1"), which only makes bytes.
    def find_class(self, module, name):
        if (module.startswith("numpy") and name in {"ndarray", "dtype", "_reconstruct",
                                                    "_frombuffer", "scalar"}) or \
                (module, name) == ("_codecs", "encode"):
            return super().find_class(module, name)
        raise DataError(f"unexpected object {module}.{name} in a CIFAR-10 batch file")


def _load_pickle(data: bytes, name: str, where) -> dict:
    try:
        loaded = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DataError:
        raise
    except Exception as error:  # a corrupt stream raises many kinds of errors
        raise DataError(f"{name} in {where} is not a CIFAR-10 batch file: {error}") from error
    if not isinstance(loaded, dict):
        raise DataError(f"{name} in {where} is not a CIFAR-10 batch file (not a dict)")
    return loaded


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def load_keras_cifar10(split: str = "train") -> Dataset:
    """Download the official batches through Keras (needs the network and the train extra)."""
    from keras.datasets import cifar10

    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    return Dataset(x.astype(np.uint8), y.reshape(-1).astype(np.int64), CIFAR10_CLASSES)


# The fixed validation split every tuning run and every report uses (the test split is unseen):
# 5,000 of CIFAR-10's 50,000 training images, a tenth of a smaller data set (a test's, say).
VALIDATION_SIZE = 5000
SPLIT_SEED = 0


def validation_split(dataset: Dataset, validation_size: int | None = None, seed=SPLIT_SEED):
    """The fixed split used for both tuning and reporting: (train indices, validation indices)."""
    if validation_size is None:
        validation_size = min(VALIDATION_SIZE, len(dataset) // 10)
    return stratified_split(dataset.labels, validation_size, seed)


def named_labels(dataset: Dataset, indices) -> np.ndarray:
    return np.asarray(dataset.classes)[dataset.labels[indices]]


def stratified_split(labels, validation_size: int, seed: int = 0):
    """A fixed stratified train/validation split of indices (the same for a given seed)."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    train, validation = train_test_split(indices, test_size=validation_size, stratify=labels,
                                         random_state=seed)
    return np.sort(train), np.sort(validation)


def _cache_file(path: Path, image_size: int, cache_dir: Path) -> Path:
    """Cache key: the source's absolute path, size and mtime (and the image size)."""
    stat = path.stat()
    listing = ""
    if path.is_dir():  # a folder's mtime misses edits inside class folders: include theirs
        listing = ",".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(path.iterdir()))
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{listing}|{image_size}|v1"
    return Path(cache_dir) / f"{path.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
