"""Learning from feedback (``python -m ml finetune``): the corrections people send from the page
(``POST /api/feedback``: a picture, the right class or "none") teach the shipped nets what they got
wrong, measured before -> after, and refused if they forget CIFAR-10.

    feedback: the operator's export (GET /api/feedback/export) or the server's database
    -> a fixed held-out part of each label (``held_out``), kept out of every fit and threshold
    -> the rest: each class picture copied in several crops and mixed into CIFAR-10's training
       images (so the nets do not forget the classes); "none" pictures in the outlier term
    -> a short fine-tuning from the shipped weights (FINETUNE in ml/training/recipe.py),
       calibrated, and int8 again where the base served int8
    -> before -> after: validation top-1, the held-out feedback per label, real photos
    -> refused if validation top-1 fell more than MAX_VALIDATION_DROP.

The run folder is laid out like make train's: the fine-tuned nets in ``finetuned/``, their int8
version in ``quantized/``, ``finetune.json`` (the figures before and after, the held-out ids) and,
only if accepted, the model at the top, which ``make ship RUN=...`` ships. Training checkpoints
every epoch (``--out`` again resumes), as the other steps do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.database import sqlalchemy_url
from ml.images import ImageRejected, decode_image
from ml.inference import artifact
from ml.training.data import SPLIT_SEED, Dataset, named_labels, validation_split
from ml.training.final_fit import hardware_description, member_params, save_with_card
from ml.training.outliers import CROPS_PER_PHOTO, SMALLEST_CROP, outlier_images, square_crops
from ml.training.recipe import FINETUNE

# The label of "None of these" (POST /api/feedback).
NONE = "none"
# Issue #32: a model that loses more than half a point of validation top-1 is not written.
MAX_VALIDATION_DROP = 0.005
# The export's layout (GET /api/feedback/export): <label>/<id>.jpg and this table.
EXPORT_TABLE = "feedback.csv"
EXPORT_COLUMNS = ("id", "label", "predicted", "model_version", "created_at")
ENTRY_ID = re.compile(r"[0-9a-f]{32}")
# What a finished run copies from its last step to its top, for make ship (ml/training/ship.py).
RUN_FILES = ("model_card.json", "model_card.md", "confusion_matrix.png", "reliability.png")


@dataclass(frozen=True)
class Feedback:
    """Feedback entries, sorted by id: their ids, labels (a class of the model, or NONE) and
    pictures (the JPEG bytes the server stored); ``source`` says where they were read."""

    ids: tuple[str, ...]
    labels: tuple[str, ...]
    pictures: tuple[bytes, ...]
    source: str

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, mask) -> Feedback:
        chosen = np.flatnonzero(mask)
        return Feedback(*(tuple(values[i] for i in chosen) for values in (self.ids, self.labels,
                                                                           self.pictures)), self.source)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels).items()))

    def images(self, indices=None):
        """The pictures, decoded as the server decodes an upload (``ml.images.decode_image``)."""
        for i in range(len(self)) if indices is None else indices:
            try:
                yield decode_image(self.pictures[i])
            except ImageRejected as error:
                raise ValueError(f"feedback {self.ids[i]} in {self.source}: {error.message}") from None


def _collect(entries, source: str) -> Feedback:
    """A Feedback of ``(id, label, picture)`` rows, checked and sorted by id."""
    entries = sorted((str(entry_id), str(label), bytes(picture)) for entry_id, label, picture in entries)
    if not entries:
        raise ValueError(f"no feedback in {source}")
    for entry_id, label, _ in entries:
        if not ENTRY_ID.fullmatch(entry_id) or not label:
            raise ValueError(f"{source}: an entry with id {entry_id!r} and label {label!r} (expected "
                             "32 hex digits and a class or 'none')")
    ids = [entry_id for entry_id, _, _ in entries]
    if len(set(ids)) < len(ids):
        raise ValueError(f"{source}: the same id twice")
    return Feedback(*(tuple(column) for column in zip(*entries)), source)


def read_feedback(source) -> Feedback:
    """The operator's export (a zip file) or a database URL (the server's DATABASE_URL)."""
    return read_database(str(source)) if "://" in str(source) else read_export(source)


def read_export(path) -> Feedback:
    """The zip of GET /api/feedback/export: ``feedback.csv`` (EXPORT_COLUMNS) and each entry's
    picture at ``<label>/<id>.jpg``. Only the members the table names are read."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no feedback export at {path}: give the zip of GET /api/feedback/export "
                         "or a DATABASE_URL")
    try:
        with zipfile.ZipFile(path) as archive:
            with archive.open(EXPORT_TABLE) as table:
                rows = list(csv.DictReader(io.TextIOWrapper(table, encoding="utf-8", newline="")))
            entries = []
            for row in rows:
                entry_id, label = row.get("id") or "", row.get("label") or ""
                if not ENTRY_ID.fullmatch(entry_id) or not label or "/" in label:
                    raise ValueError(f"{path}: {EXPORT_TABLE} has a row with id {entry_id!r} and "
                                     f"label {label!r}")
                entries.append((entry_id, label, archive.read(f"{label}/{entry_id}.jpg")))
    except KeyError as error:  # zipfile: "There is no item named ... in the archive"
        raise ValueError(f"{path} is not a whole feedback export: {error.args[0]}") from None
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path} is not a zip archive: {error}") from None
    return _collect(entries, path.name)


def read_database(url: str) -> Feedback:
    """The ``feedback`` table of the server's database: a plain SELECT of the three of its columns
    that fine-tuning needs, through SQLAlchemy, so SQLite and PostgreSQL alike."""
    import sqlalchemy as sa

    url = sa.make_url(sqlalchemy_url(url))
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():  # SQLite would create an empty one
        raise ValueError(f"no SQLite database at {url.database}")
    table = sa.Table("feedback", sa.MetaData(), sa.Column("id", sa.String(32), primary_key=True),
                     sa.Column("label", sa.String), sa.Column("image", sa.LargeBinary))
    try:
        engine = sa.create_engine(url)
    except ImportError as error:  # the URL's driver
        hint = " (pip install 'psycopg[binary]')" if url.get_backend_name() == "postgresql" else ""
        raise ValueError(f"cannot read {where}: {error}{hint}") from None
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(table.c.id, table.c.label, table.c.image)).all()
    except sa.exc.SQLAlchemyError as error:
        raise ValueError(f"cannot read the feedback table of {where}: "
                         f"{getattr(error, 'orig', None) or error}") from None
    finally:
        engine.dispose()
    return _collect(rows, where)


def held_out(feedback: Feedback, share: float = FINETUNE["hold_out"], seed: int = SPLIT_SEED) -> np.ndarray:
    """Which entries are held out (a boolean mask): of each label's n entries, the share x n
    (rounded) whose hash of seed and id comes first. Stratified, and fixed for the same entries
    whatever order they are read in."""
    mask = np.zeros(len(feedback), bool)
    labels = np.asarray(feedback.labels)
    for label in sorted(set(feedback.labels)):
        members = np.flatnonzero(labels == label)
        ranked = sorted(members, key=lambda i: hashlib.sha256(f"{seed}:{feedback.ids[i]}".encode()).digest())
        mask[ranked[:int(share * len(members) + 0.5)]] = True
    return mask


def class_crops(feedback: Feedback, n_train: int, seed: int = SPLIT_SEED,
                image_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The class pictures of ``feedback`` as training images (uint8) and their labels: each picture
    in as many crops (``square_crops``) as make them FINETUNE's ``feedback_share`` of a fit that
    also has ``n_train`` CIFAR-10 images, at least one (the picture as the app shows it)."""
    chosen = [i for i, label in enumerate(feedback.labels) if label != NONE]
    if not chosen:
        return np.empty((0, image_size, image_size, 3), np.uint8), np.empty(0, str)
    share = FINETUNE["feedback_share"]
    copies = max(1, round(share / (1 - share) * n_train / len(chosen)))
    rng = np.random.default_rng(seed)
    crops = [crop for image in feedback.images(chosen)
             for crop in square_crops(image, copies, FINETUNE["smallest_crop"], rng, image_size)]
    return np.stack(crops), np.repeat([feedback.labels[i] for i in chosen], copies)


def none_crops(feedback: Feedback, seed: int = SPLIT_SEED, image_size: int = 32) -> np.ndarray:
    """The "none of these" pictures of ``feedback`` cropped as outlier exposure crops its photos."""
    chosen = [i for i, label in enumerate(feedback.labels) if label == NONE]
    rng = np.random.default_rng(seed + 1)
    crops = [crop for image in feedback.images(chosen)
             for crop in square_crops(image, CROPS_PER_PHOTO, SMALLEST_CROP, rng, image_size)]
    return np.stack(crops) if crops else np.empty((0, image_size, image_size, 3), np.uint8)


def measure(model: artifact.Model, dataset: Dataset, validation, held: Feedback, photos=None) -> dict:
    """What fine-tuning is judged on: validation top-1; on the held-out feedback, per label, top-1
    (a class) or how often the page says "Not sure" (NONE, at the model's threshold); and
    ``ml.evaluation.photos.evaluate_photos`` of ``photos`` (a folder laid out like real-photos/)."""
    from ml.evaluation.metrics import evaluate

    classes = model.classes
    truth = np.array([classes.index(dataset.classes[i]) for i in dataset.labels[validation]])
    figures = {"validation": evaluate(model.pipeline, dataset.images[validation], truth,
                                      classes)["accuracy"],
               "n_validation": len(validation), "not_sure_threshold": model.not_sure_threshold}
    probabilities = np.empty((0, len(classes)))
    for start in range(0, len(held), 64):  # decoded 64 at a time: a database may hold thousands
        batch = list(held.images(range(start, min(start + 64, len(held)))))
        probabilities = np.concatenate([probabilities, model.predict_proba(batch)])
    labels = np.asarray(held.labels)
    per_label, right = {}, []
    for label in sorted(set(held.labels)):
        rows = probabilities[labels == label]
        if label == NONE:
            score = np.mean(rows.max(axis=1) < model.not_sure_threshold)
        else:
            correct = rows.argmax(axis=1) == classes.index(label)
            score = correct.mean()
            right.append(correct)
        per_label[label] = {"n": len(rows), "score": float(score)}
    figures["held_out"] = per_label
    if right:
        figures["held_out_top1"] = float(np.concatenate(right).mean())
    if photos:
        from ml.evaluation.photos import evaluate_photos

        report = evaluate_photos(model, photos)
        figures["photos"] = {k: report[k] for k in ("balanced_accuracy", "n_known", "not_sure_known",
                                                    "auroc", "n_other", "not_sure_other") if k in report}
    return figures


def drop_refused(before: float, after: float, max_drop: float | None = None) -> bool:
    """Whether validation top-1 fell from ``before`` to ``after`` by more than ``max_drop``
    (MAX_VALIDATION_DROP), up to rounding (the accuracies are shares of a few thousand images)."""
    max_drop = MAX_VALIDATION_DROP if max_drop is None else max_drop
    return before - after > max_drop + 1e-9


def fine_tune_on_feedback(model_path, dataset: Dataset, feedback: Feedback, run, *, model_name: str,
                          other_photos=None, photos=None, class_photos=None,
                          epochs=FINETUNE["epochs"], learning_rate=FINETUNE["learning_rate"],
                          validation_size=None, seed=SPLIT_SEED, checkpoint_dir=None,
                          verbose=1) -> dict:
    """Fine-tune the model at ``model_path`` on ``feedback`` mixed with the training images of
    ``dataset`` (its validation split untouched), into the run folder ``run``; returns the report
    (also ``run/finetune.json``): the figures ``before`` and ``after``, ``accepted``.

    ``other_photos``: photos of other things (``other/<category>/``, the held-out categories
    left out) that the base model's outlier exposure trained on, kept in the outlier term so
    that it is not forgotten for a few "none" pictures. ``photos``: real photos to measure on
    (``measure``). ``class_photos``: where the "Not sure" threshold is set (``calibrate``)."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    run = Path(run)
    base = artifact.load(model_path)
    unknown = sorted(set(feedback.labels) - set(base.classes) - {NONE})
    if unknown:
        raise ValueError(f"feedback labels that are neither classes of the model nor {NONE!r}: "
                         + ", ".join(unknown))
    if tuple(dataset.classes) != tuple(base.classes):
        raise ValueError(f"the data's classes ({', '.join(dataset.classes)}) are not the model's")
    train, validation = validation_split(dataset, validation_size, seed)
    mask = held_out(feedback, FINETUNE["hold_out"], seed)
    fit, held = feedback.subset(~mask), feedback.subset(mask)
    if verbose:
        print(f"feedback from {feedback.source}: {len(fit)} pictures to fit on {fit.counts()}, "
              f"{len(held)} held out {held.counts()}")
    if not len(fit):
        raise ValueError(f"nothing to fit on: all {len(feedback)} feedback entries are held out "
                         f"(FINETUNE['hold_out'] of each label)")
    before = measure(base, dataset, validation, held, photos)

    preprocess = base.pipeline.named_steps["preprocess"]
    images, labels = class_crops(fit, len(train), seed)
    outliers = none_crops(fit, seed)
    if other_photos:
        outliers = np.concatenate([outlier_images(other_photos, seed=seed), outliers])
    cnn = clone(base.cnn).set_params(**member_params(
        base.cnn, epochs=epochs, learning_rate=learning_rate,
        outlier_weight=FINETUNE["outlier_weight"], lr_schedule="triangle", verbose=verbose,
        checkpoint_dir=checkpoint_dir))
    validation_features = (preprocess.transform(dataset.images[validation]),
                           named_labels(dataset, validation))
    cnn.fit(preprocess.transform(np.concatenate([dataset.images[train], images])),
            np.concatenate([named_labels(dataset, train), labels]),
            validation_data=validation_features, initial_weights=base.cnn.weights_,
            outliers=preprocess.transform(outliers) if len(outliers) else None)
    pipeline = Pipeline([("preprocess", preprocess), ("cnn", cnn)])
    candidate = run / "finetuned" / model_name
    save_with_card(pipeline, dataset, train, validation, validation_features, candidate, {
        **{k: base.card[k] for k in ("data", "grid_search", "outlier_exposure") if k in base.card},
        "training_seconds": round(base.card.get("training_seconds", 0) + cnn.training_seconds_, 1),
        "hardware": f"{base.card.get('hardware')}; feedback fine-tuning: "
                    f"{hardware_description(cnn.training_precision_)}",
        "feedback": {"base_model": base.version, "source": feedback.source, "fit": fit.counts(),
                     "held_out": held.counts(), "class_crops": len(images),
                     "outlier_crops": len(outliers), "epochs": epochs, "learning_rate": learning_rate,
                     **{k: FINETUNE[k] for k in ("hold_out", "feedback_share", "outlier_weight")}},
    }, class_photos)
    if base.cnn.inference_precision == "int8":  # serve as the base served
        from ml.training.quantization import quantize_artifact

        quantize_artifact(candidate, dataset, run / "quantized" / model_name, class_photos=class_photos,
                          validation_size=validation_size, seed=seed)
        candidate = run / "quantized" / model_name
    after = measure(artifact.load(candidate), dataset, validation, held, photos)

    accepted = not drop_refused(before["validation"], after["validation"])
    report = {"base_model": str(model_path), "candidate": str(candidate), "accepted": accepted,
              "max_validation_drop": MAX_VALIDATION_DROP, "before": before, "after": after,
              "fit": fit.counts(), "held_out_ids": list(held.ids)}
    (run / "finetune.json").write_text(json.dumps(report, indent=2) + "\n")
    if accepted:  # the run's model, as make train leaves it: make ship RUN=... ships it
        for name in (model_name, f"{model_name}.sha256", *RUN_FILES):
            if (candidate.parent / name).is_file():
                shutil.copyfile(candidate.parent / name, run / name)
    return report
