"""How the model does on real photos: a folder laid out like ``real-photos/``

    known/<class>/*.jpg    photos of the model's classes (any subset of them)
    other/<thing>/*.jpg    photos of anything else

gives per-class accuracy on the known photos, their balanced accuracy, the AUROC of the shown
confidence (top-1 probability) for "known" vs "other", and how often the page says "Not sure" on
each at the model's threshold.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ml.evaluation.confidence import balanced_accuracy, bootstrap_interval, left_out_not_sure_rate, separation
from ml.images import ImageRejected, load_image
from ml.training.data import IMAGE_SUFFIXES

HELD_OUT_SHARE = 3  # one category of other/ in three is held out


def is_held_out(category: str) -> bool:
    """Whether the photos of ``other/<category>/`` are kept out of outlier exposure
    (``ml.training.outliers``) so that ``held_out_only`` measures on kinds of pictures the network
    has not seen: a fixed third of the categories, by a hash of the name."""
    return int(hashlib.sha256(category.encode()).hexdigest(), 16) % HELD_OUT_SHARE == 0


def photo_files(folder: Path) -> dict[str, list[Path]]:
    """``{subfolder name: files}`` for each subfolder of ``folder`` holding photos."""
    if not folder.is_dir():
        return {}
    return {sub.name: files for sub in sorted(folder.iterdir()) if sub.is_dir()
            if (files := sorted(f for f in sub.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES))}


def class_photo_files(folder, classes) -> dict[str, list[Path]]:
    """``photo_files`` of a folder of ``<class>/`` subfolders, each one of the model's ``classes``
    (so that real-photos/ itself, with its other/, is refused rather than pooled)."""
    by_class = photo_files(Path(folder))
    if not by_class:
        raise ValueError(f"{folder}/<class>/ holds no photos")
    unknown = sorted(set(by_class) - {str(name) for name in classes})
    if unknown:
        raise ValueError(f"{folder}: subfolders that are not classes of the model: {', '.join(unknown)}")
    return by_class


def probabilities(pipeline, files: list[Path], batch: int = 64) -> np.ndarray:
    out = []
    for start in range(0, len(files), batch):
        images = []
        for path in files[start:start + batch]:
            try:
                images.append(load_image(path))
            except ImageRejected as error:
                raise ValueError(f"{path}: {error.message}") from None
        out.append(pipeline.predict_proba(images))
    return np.concatenate(out) if out else np.empty((0, 0))


def evaluate_photos(model, root, held_out_only: bool = False) -> dict:
    """``model``: an ``ml.inference.artifact.Model``; its "Not sure" threshold is the one the page uses.
    ``held_out_only``: of ``other/``, only the categories outlier exposure never trains on."""
    root = Path(root)
    pipeline, classes, threshold = model.pipeline, model.classes, model.not_sure_threshold
    known, other = class_photo_files(root / "known", classes), photo_files(root / "other")
    if held_out_only:
        other = {name: files for name, files in other.items() if is_held_out(name)}
    per_class, known_confidence, correct_by_class = {}, [], []
    for name, files in known.items():
        probs = probabilities(pipeline, files)
        correct = probs.argmax(axis=1) == classes.index(name)
        per_class[name] = {"accuracy": float(correct.mean()), "n": len(files),
                           "not_sure": float(np.mean(probs.max(axis=1) < threshold))}
        known_confidence.append(probs.max(axis=1))
        correct_by_class.append(correct)
    known_confidence = np.concatenate(known_confidence)
    report = {
        "balanced_accuracy": balanced_accuracy(*correct_by_class),
        # 95 % bootstrap intervals over the photos (within each class; known and other apart).
        "balanced_accuracy_interval": bootstrap_interval(balanced_accuracy, *correct_by_class),
        "n_known": len(known_confidence), "per_class": per_class,
        "not_sure_threshold": threshold,
        "not_sure_known": float(np.mean(known_confidence < threshold)),
        # For a threshold set on these very photos (`--class-photos`): the honest estimate.
        "not_sure_known_left_out": left_out_not_sure_rate(known_confidence),
    }
    if other:
        other_confidence = np.concatenate([probabilities(pipeline, files).max(axis=1)
                                           for files in other.values()])
        report |= {"n_other": len(other_confidence),
                   "auroc": separation(known_confidence, other_confidence),
                   "auroc_interval": bootstrap_interval(separation, known_confidence, other_confidence),
                   "not_sure_other": float(np.mean(other_confidence < threshold))}
    return report
