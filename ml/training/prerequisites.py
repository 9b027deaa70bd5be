"""What the training commands need, checked before the first epoch: a typo in a path, the wrong
data set, photos laid out another way, an unwritable folder or a missing TensorFlow fails in
seconds with one message, not after hours of training (``python -m ml check``, ``make train``)."""

from __future__ import annotations

import tarfile
import tempfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath

from ml.evaluation.photos import is_held_out
from ml.images import decode_image
from ml.training.data import (
    CIFAR10_CLASSES,
    CIFAR10_URL,
    IMAGE_SUFFIXES,
    DataError,
    Dataset,
    load_dataset,
    validation_split,
)


class PrerequisiteError(ValueError):
    """Something a training command needs is missing or unusable."""


def training_data(source, classes=CIFAR10_CLASSES) -> Dataset:
    """The labelled images of ``source`` (``ml.training.data.load_dataset``), which must be of ``classes``
    and large enough for the fixed validation split."""
    if str(source) != "keras:cifar10" and not Path(source).expanduser().exists():
        raise PrerequisiteError(
            f"no training data at {source}: download the official CIFAR-10 archive ({CIFAR10_URL}) "
            "and pass it, or its extracted folder, or a folder (or tar archive) of class folders: "
            "--data PATH, or make train DATA=PATH")
    try:
        dataset = load_dataset(source)
    except DataError as error:
        raise PrerequisiteError(f"cannot read the training data: {error}") from error
    missing = [name for name in classes if name not in dataset.classes]
    unexpected = [name for name in dataset.classes if name not in classes]
    if missing or unexpected:
        raise PrerequisiteError(
            f"{source} is not {'CIFAR-10' if classes == CIFAR10_CLASSES else 'the data set expected'}: "
            f"its classes are {', '.join(dataset.classes)}; expected {', '.join(classes)} "
            f"(missing: {', '.join(missing) or 'none'}; unexpected: {', '.join(unexpected) or 'none'}; "
            "--classes names a data set's own)")
    try:
        validation_split(dataset)
    except ValueError as error:  # scikit-learn's reason: too few images of a class, say
        raise PrerequisiteError(f"{source} ({len(dataset)} images) is too small for the "
                                f"stratified validation split: {error}") from error
    return dataset


def writable_folder(folder, shipped: Path | None = None) -> Path:
    """Create ``folder`` and check that files can be written in it. ``shipped``: the folder of the
    shipped model, which only ``python -m ml ship`` writes (its hash is pinned in render.yaml)."""
    folder = Path(folder).expanduser()
    if shipped is not None and folder.resolve() == Path(shipped).resolve():
        raise PrerequisiteError(f"training writes a run folder, not {folder}/ (the shipped model): "
                                "python -m ml ship RUN_DIR (make ship RUN=...) copies a finished run there")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PrerequisiteError(f"cannot write in {folder}: {error}") from error
    return folder


def training_backend() -> str:
    """Import what training imports (Keras with its backend, matplotlib for the figures) now rather
    than after the data has loaded; returns e.g. "Keras 3.8.0 on tensorflow"."""
    try:
        import keras
        import matplotlib  # noqa: F401

        __import__(keras.config.backend())
    except ImportError as error:
        raise PrerequisiteError(f"cannot train here: {error} (install the train extra: "
                                "pip install -c constraints.txt -e '.[train]')") from error
    return f"Keras {keras.__version__} on {keras.config.backend()}"


def check(data, out, *, shipped, checkpoints, classes=CIFAR10_CLASSES, real_photos=None,
          other_photos=None, class_photos=None) -> tuple[Dataset, list[str]]:
    """Every prerequisite of a training command: the data readable and of ``classes``, ``out`` and
    ``checkpoints`` writable (``out`` not ``shipped``), the photos given readable and laid out as
    expected, Keras importable. Returns the dataset and a line about each."""
    dataset = training_data(data, classes)
    lines = [f"data: {data}: {len(dataset)} images of the {len(dataset.classes)} classes, "
             f"{len(validation_split(dataset)[1])} of them for validation",
             f"output: {writable_folder(out, shipped)}/ (writable)",
             f"checkpoints: {writable_folder(checkpoints)}/ (writable)"]
    if real_photos:
        lines.append(f"photos: {real_photo_folder(real_photos, dataset.classes)}")
    if other_photos:
        lines.append(f"photos of other things: {other_photo_folder(other_photos)}")
    if class_photos:
        lines.append(f"photos of the classes: {class_photo_folder(class_photos, dataset.classes)}")
    lines.append(f"training: {training_backend()}")
    return dataset, lines


def class_photo_folder(folder, classes) -> str:
    """``folder/<class>/*.jpg`` (e.g. real-photos/known), every photo decodable, every subfolder a
    class; returns a summary."""
    counts = _photo_counts(Path(folder), depth=1)
    return _known_summary(folder, counts, classes)


def other_photo_folder(folder) -> str:
    """``folder/<thing>/*.jpg`` (e.g. real-photos/other) with photos of the categories outlier
    exposure trains on (``ml.evaluation.photos.is_held_out``), every photo decodable; returns a summary."""
    counts = _photo_counts(Path(folder), depth=1)
    return _other_summary(folder, counts)


def real_photo_folder(source, classes) -> str:
    """A folder laid out like real-photos/ (``known/<class>/``, ``other/<thing>/``), or a tar archive
    of one under a single top folder (real-photos.tar.gz): both parts present, every photo
    decodable. Returns a summary."""
    counts = _photo_counts(Path(source), depth=2)
    parts = {kind: Counter({name[1:]: n for name, n in counts.items() if name[0] == kind})
             for kind in ("known", "other")}
    absent = [kind for kind, found in parts.items() if not found]
    if absent:
        raise PrerequisiteError(f"{source} holds no photos in {' or '.join(k + '/' for k in absent)}: "
                                "expected known/<class>/*.jpg and other/<thing>/*.jpg (real-photos/)")
    return (_known_summary(f"{source}: known", parts["known"], classes) + "; "
            + _other_summary("other", parts["other"]))


def _known_summary(where, counts: Counter, classes) -> str:
    if not counts:
        raise PrerequisiteError(f"{where}/<class>/ holds no photos")
    unknown = sorted({name[0] for name in counts} - set(classes))
    if unknown:
        raise PrerequisiteError(f"{where}: subfolders that are not classes: {', '.join(unknown)}")
    return f"{where}/: {sum(counts.values())} photos of {len(counts)} classes"


def _other_summary(where, counts: Counter) -> str:
    trained = sum(n for name, n in counts.items() if not is_held_out(name[0]))
    if not trained:
        raise PrerequisiteError(f"{where}/<thing>/ holds no photos of the categories outlier exposure "
                                "trains on (a third of the categories are held out: ml/evaluation/photos.py)")
    return (f"{where}/: {sum(counts.values())} photos of {len(counts)} things, {trained} of them "
            "for outlier exposure")


def _photo_counts(source: Path, depth: int) -> Counter:
    """How many photos each folder ``depth`` levels down holds, e.g. ``{("known", "cat"): 5}``,
    decoding every one (as training will) so that a bad file fails now."""
    counts = Counter()
    for parts, data in photo_bytes(source):
        if len(parts) <= depth:
            continue
        try:
            decode_image(data)
        except ValueError as error:  # ImageRejected
            raise PrerequisiteError(f"cannot read photo {source}/{'/'.join(parts)}: {error}") from error
        counts[parts[:depth]] += 1
    return counts


def photo_bytes(source: Path):
    """(path parts below ``source``, bytes) of each photo in a folder, or in a tar archive of one
    (below its top folder, which ``tar --strip-components=1`` removes too)."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                yield path.relative_to(source).parts, path.read_bytes()
        return
    if not source.is_file():
        raise PrerequisiteError(f"no photos at {source}: give a folder or a tar archive")
    try:
        with tarfile.open(source) as archive:
            tops = set()
            for member in archive:
                path = PurePosixPath(member.name)
                tops.add(path.parts[0])
                if len(tops) > 1:
                    raise PrerequisiteError(f"{source} holds several top folders ({', '.join(sorted(tops))})"
                                            ": expected one, like real-photos.tar.gz's real-photos/")
                if member.isfile() and path.suffix.lower() in IMAGE_SUFFIXES:
                    yield path.parts[1:], archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise PrerequisiteError(f"cannot read the tar archive {source}: {error}") from error
