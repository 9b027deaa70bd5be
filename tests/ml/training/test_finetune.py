"""Learning from feedback: reading the export and the database, the held-out part, the refusal
rule, the stand-in feedback, and `python -m ml finetune` end to end on a tiny generated export
and a tiny int8 model."""

import csv
import io
import json
import shutil
import zipfile
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from ml.cli import main
from ml.database import sqlalchemy_url as database_url
from ml.evaluation.photos import is_held_out
from ml.inference import artifact
from ml.training.finetune import (
    EXPORT_COLUMNS,
    NONE,
    Feedback,
    drop_refused,
    held_out,
    read_feedback,
)
from ml.training.recipe import FINETUNE
from tests.conftest import ROOT, TINY_CNN
from tests.imagegen import cifar_python_archive, encode

LABELS = ("cat", "dog", "ship", NONE)
# One solid colour per picture: a picture can then be found among the images a fit was given.
COLOURS = [(r, g, b) for r in (20, 120, 230) for g in (20, 230) for b in (20, 120, 230)][:16]


def entry_id(i: int) -> str:
    return f"{i * 7919:032x}"


def feedback_entries():
    """(id, label, JPEG) for 16 pictures of 64x48 px: 4 of each label, each its own colour."""
    return [(entry_id(i), LABELS[i % 4], encode(Image.new("RGB", (64, 48), colour), "JPEG", quality=95))
            for i, colour in enumerate(COLOURS)]


def write_export(path, entries, *, skip_picture=None):
    """A zip laid out as GET /api/feedback/export writes it: <label>/<id>.jpg and feedback.csv."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(EXPORT_COLUMNS)
    with zipfile.ZipFile(path, "w") as archive:
        for entry, label, picture in entries:
            writer.writerow([entry, label, "cat", "20261126-121758", "2026-12-06T12:00:00+00:00"])
            if entry != skip_picture:
                archive.writestr(f"{label}/{entry}.jpg", picture)
        archive.writestr("feedback.csv", table.getvalue())
    return path


def test_an_export_is_read_whole_and_sorted_by_id(tmp_path):
    entries = feedback_entries()
    feedback = read_feedback(write_export(tmp_path / "export.zip", entries[::-1]))
    assert feedback.ids == tuple(sorted(e[0] for e in entries)) and feedback.source == "export.zip"
    by_id = {e[0]: e for e in entries}
    assert all(by_id[i][1:] == (label, picture)
               for i, label, picture in zip(feedback.ids, feedback.labels, feedback.pictures))
    assert feedback.counts() == {label: 4 for label in sorted(LABELS)}
    assert next(feedback.images()).size == (64, 48)

    missing = write_export(tmp_path / "cut.zip", entries, skip_picture=entries[3][0])
    with pytest.raises(ValueError, match=f"not a whole feedback export: .*{NONE}/{entries[3][0]}.jpg"):
        read_feedback(missing)
    (tmp_path / "plain.zip").write_bytes(b"PK not a zip")
    with pytest.raises(ValueError, match="not a zip archive"):
        read_feedback(tmp_path / "plain.zip")
    with pytest.raises(ValueError, match="no feedback export at"):
        read_feedback(tmp_path / "nowhere.zip")
    with pytest.raises(ValueError, match=r"row with id '\.\./x'"):
        read_feedback(write_export(tmp_path / "odd.zip", [("../x", "cat", b"")]))


def test_the_database_is_read_through_sqlalchemy(tmp_path):
    """The server's table as the contract defines it, in SQLite; only id, label and image are read."""
    import sqlalchemy as sa

    path = tmp_path / "feedback.db"
    table = sa.Table(
        "feedback", sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True), sa.Column("label", sa.String, nullable=False),
        sa.Column("predicted", sa.String, nullable=True), sa.Column("model_version", sa.String),
        sa.Column("created_at", sa.DateTime(timezone=True)), sa.Column("image", sa.LargeBinary),
        sa.Column("image_bytes", sa.Integer), sa.Column("delete_token_hash", sa.String))
    engine = sa.create_engine(f"sqlite:///{path}")
    table.metadata.create_all(engine)
    entries = feedback_entries()
    with engine.begin() as connection:
        connection.execute(table.insert(), [
            {"id": i, "label": label, "predicted": None, "model_version": "v", "image": picture,
             "created_at": datetime.now(UTC), "image_bytes": len(picture), "delete_token_hash": "0" * 64}
            for i, label, picture in entries])
    engine.dispose()

    feedback = read_feedback(f"sqlite:///{path}")
    assert list(zip(feedback.ids, feedback.labels, feedback.pictures)) == sorted(entries)
    assert feedback.source == f"sqlite:///{path}"
    with pytest.raises(ValueError, match="no SQLite database at"):
        read_feedback(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()  # not created by asking
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with pytest.raises(ValueError, match=r"cannot read the feedback table .*no such table: feedback"):
        read_feedback(f"sqlite:///{empty}")


def test_render_postgres_urls_are_read_with_psycopg_3():
    assert database_url("postgres://u:p@db:5432/app") == "postgresql+psycopg://u:p@db:5432/app"
    assert database_url("postgresql://u@db/app") == "postgresql+psycopg://u@db/app"
    assert database_url("postgresql+psycopg://u@db/app") == "postgresql+psycopg://u@db/app"
    assert database_url("sqlite:///instance/feedback.db") == "sqlite:///instance/feedback.db"


def test_the_held_out_part_is_stratified_and_fixed():
    labels = ["cat"] * 10 + ["dog"] * 5 + [NONE] * 3 + ["ship"]
    feedback = Feedback(tuple(entry_id(i) for i in range(len(labels))), tuple(labels),
                        (b"",) * len(labels), "test")
    mask = held_out(feedback, 0.3)
    held = feedback.subset(mask).counts()
    assert held == {"cat": 3, "dog": 2, NONE: 1}  # 30 % of each label, rounded; 1 of 1: none
    reordered = feedback.subset(np.ones(len(labels), bool))
    order = np.random.default_rng(0).permutation(len(labels))
    shuffled = Feedback(*(tuple(np.asarray(column)[order]) for column in
                          (reordered.ids, reordered.labels, reordered.pictures)), "test")
    assert set(shuffled.subset(held_out(shuffled, 0.3)).ids) == set(feedback.subset(mask).ids)
    assert set(feedback.subset(held_out(feedback, 0.3, seed=1)).ids) != set(feedback.subset(mask).ids)


def test_a_model_losing_more_than_half_a_point_of_validation_is_refused():
    assert drop_refused(0.9264, 0.9200)  # 0.64 points
    assert not drop_refused(0.9264, 0.9214)  # 0.50 points: allowed
    assert not drop_refused(0.9264, 0.9300)
    assert drop_refused(0.9, 0.89, max_drop=0.005) and not drop_refused(0.9, 0.89, max_drop=0.02)


def real_photos_folder(root):
    """A small real-photos/: 3 class photos of cat and ship (one with GPS in its EXIF, 800x600),
    two photos of each of 12 other things."""
    exif = Image.Exif()
    exif[0x8825] = {2: (48.0, 51.0, 0.0)}  # GPSInfo: GPSLatitude
    for name in ("cat", "ship"):
        (root / "known" / name).mkdir(parents=True)
        for i in range(3):
            (root / "known" / name / f"{i}.jpg").write_bytes(
                encode(Image.new("RGB", (800, 600), (40 * i, 90, 200)), "JPEG", exif=exif.tobytes()))
    for name in [f"thing{i}" for i in range(12)]:
        (root / "other" / name).mkdir(parents=True)
        for i in range(2):
            (root / "other" / name / f"{i}.jpg").write_bytes(encode(Image.new("RGB", (90, 60)), "JPEG"))
    return root


def test_stand_in_feedback_is_an_export_with_its_held_out_photos_beside_it(tmp_path, capsys):
    photos = real_photos_folder(tmp_path / "real-photos")
    out = tmp_path / "stand-in"
    assert main(["stand-in-feedback", str(photos), "--out", str(out)]) == 0
    assert "feedback.zip: " in capsys.readouterr().out
    feedback = read_feedback(out / "feedback.zip")
    with open(out / "entries.csv") as listing:
        entries = {row["id"]: row for row in csv.DictReader(listing)}
    assert set(entries) == set(feedback.ids)
    seen = sorted(n for n in (p.name for p in (photos / "other").iterdir()) if is_held_out(n))
    nones = [row["source"] for row in entries.values() if row["label"] == NONE]
    # One photo per category in the feedback; every category is a held-out one (never in outlier
    # exposure), and the measured others are the rest of them, never in the feedback.
    assert nones and len({source.split("/")[1] for source in nones}) == len(nones)
    measured = sorted(p.name for p in (out / "photos" / "other").iterdir())
    assert sorted([s.split("/")[1] for s in nones] + measured) == seen
    assert feedback.counts() == {"cat": 3, "ship": 3, NONE: len(nones)}
    # The known photos to measure on are exactly those finetune holds out: the same split.
    mask = held_out(feedback)
    held = {entries[i]["source"] for i in feedback.subset(mask).ids if entries[i]["label"] != NONE}
    assert {str(p.relative_to(out / "photos")) for p in (out / "photos" / "known").rglob("*.jpg")} == held
    assert {entries[i]["source"] for i in feedback.subset(mask).ids} == {
        row["source"] for row in entries.values() if row["held_out"] == "true"}
    # Kept as the server keeps a picture: at most 512 px, no EXIF (the GPS position is gone).
    assert Image.open(photos / "known" / "cat" / "0.jpg").getexif().get_ifd(0x8825)
    stored = Image.open(io.BytesIO(feedback.pictures[feedback.labels.index("cat")]))
    assert max(stored.size) == 512 and not stored.getexif() and "icc_profile" not in stored.info
    assert main(["stand-in-feedback", str(photos), "--out", str(out)]) == 2
    assert "photos exists already" in capsys.readouterr().err


# ------------------------------------------------------------------- the real thing, in small

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny CIFAR-10 archive and an int8 model of a narrow net trained on it for an epoch."""
    from ml.training.data import load_dataset
    from ml.training.final_fit import train_final
    from ml.training.quantization import quantize_artifact

    folder = tmp_path_factory.mktemp("tiny")
    data = folder / "cifar-10-python.tar.gz"
    cifar_python_archive(data, per_class=2)
    dataset = load_dataset(data)
    params = {**{k: v for k, v in TINY_CNN.items() if k not in ("epochs", "verbose")}, "n_members": 1}
    train_final(dataset, folder / "float" / "model.pkl", params=params, epochs=1, verbose=0)
    quantize_artifact(folder / "float" / "model.pkl", dataset, folder / "int8" / "model.pkl")
    return data, folder / "int8" / "model.pkl"


def solid_colours(images: np.ndarray) -> set:
    """The colours of the images that are one colour (a feedback picture's crops), rounded to the
    palette of COLOURS; random CIFAR pictures are not one colour."""
    found = set()
    for image in images.reshape(len(images), -1, 3):
        if image.std(axis=0).max() < 6:
            distances = np.abs(np.asarray(COLOURS) - image.mean(axis=0)).max(axis=1)
            assert distances.min() < 12, image.mean(axis=0)
            found.add(COLOURS[int(distances.argmin())])
    return found


@pytest.mark.slow
def test_finetune_end_to_end_writes_a_shippable_run_or_refuses(tiny, tmp_path, capsys, monkeypatch):
    from ml.inference.cnn import CNNClassifier
    from ml.training import finetune
    from ml.training.ship import ship

    data, model = tiny
    export = write_export(tmp_path / "export.zip", feedback_entries())
    monkeypatch.setattr("ml.cli.DEFAULT_CHECKPOINTS", tmp_path / "ckpt")
    fits = []
    original_fit = CNNClassifier.fit

    def spy(self, X, y, validation_data=None, initial_weights=None, outliers=None):
        fits.append((np.asarray(X), np.asarray(y), outliers))
        return original_fit(self, X, y, validation_data, initial_weights, outliers)

    monkeypatch.setattr(CNNClassifier, "fit", spy)
    # The tiny net on random pictures scores by chance: the rule is set aside here (its own test
    # above), then set to refuse anything.
    monkeypatch.setattr(finetune, "MAX_VALIDATION_DROP", 1.0)
    run = tmp_path / "run"
    argv = ["finetune", "--feedback", str(export), "--model", str(model), "--data", str(data),
            "--epochs", "1"]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.split() == ["before", "after"]):]
    assert lines[1].startswith("validation top-1 (10 images)") and lines[1].count("%") == 2
    for label in ("cat (1): top-1", "dog (1): top-1", "ship (1): top-1", "none (1): Not sure"):
        assert any(line.strip().startswith(label) for line in lines), label
    assert f"accepted: {run}/cifar10_cnn.pkl; to serve it: make ship RUN={run}" in printed

    # Held-out pictures are in no fit: neither among the class images nor the outliers. The
    # others are (which shows this check finds a picture where there is one).
    report = json.loads((run / "finetune.json").read_text())
    held_ids = set(report["held_out_ids"])
    assert len(held_ids) == 4 and report["accepted"]
    colour_of = {entry_id(i): colour for i, colour in enumerate(COLOURS)}
    label_of = {entry_id(i): LABELS[i % 4] for i in range(len(COLOURS))}
    (X, y, outliers), = fits
    preprocess = artifact.load(model).pipeline.named_steps["preprocess"]
    pixels = X * preprocess.std_ + preprocess.mean_
    in_classes = solid_colours(pixels)
    in_outliers = solid_colours(np.asarray(outliers) * preprocess.std_ + preprocess.mean_)
    assert in_classes == {colour_of[i] for i in colour_of if i not in held_ids and label_of[i] != NONE}
    assert in_outliers == {colour_of[i] for i in colour_of if i not in held_ids and label_of[i] == NONE}
    assert len(X) == 90 + 9 and sorted(set(y[90:])) == ["cat", "dog", "ship"]  # 90 CIFAR-10 images

    # The run's model: int8 as its base, its card saying what it learnt from; make ship takes it.
    tuned = artifact.load(run / "cifar10_cnn.pkl")
    assert tuned.cnn.inference_precision == "int8" and (run / "quantized" / "model_card.md").is_file()
    card = json.loads((run / "model_card.json").read_text())
    assert card["sha256"] == tuned.sha256
    assert card["feedback"]["fit"] == {"cat": 3, "dog": 3, NONE: 3, "ship": 3}
    assert card["feedback"]["held_out"] == {"cat": 1, "dog": 1, NONE: 1, "ship": 1}
    assert card["feedback"]["learning_rate"] == FINETUNE["learning_rate"] and card["feedback"]["epochs"] == 1
    assert "on 12 feedback pictures (cat 3, dog 3, none 3, ship 3; from export.zip)" in (
        run / "model_card.md").read_text()
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ROOT / "render.yaml", tmp_path / "render.yaml")
    assert ship(run, models, tmp_path / "render.yaml", "cifar10_cnn.pkl")["sha256"][1] == tuned.sha256

    # Refused: exit status 1, why, and no model in the run folder. Same data, same recipe: the
    # fine-tuning resumes from its checkpoint instead of training again.
    monkeypatch.setattr(finetune, "MAX_VALIDATION_DROP", -1.0)
    refused = tmp_path / "refused"
    assert main([*argv, "--out", str(refused)]) == 1
    out = capsys.readouterr()
    assert "resuming from" in out.out and "validation top-1" in out.out
    assert out.err.startswith("refused: validation top-1 fell") and "no model written" in out.err
    assert not (refused / "cifar10_cnn.pkl").exists() and not (refused / "model_card.json").exists()
    assert (refused / "quantized" / "cifar10_cnn.pkl").is_file()
    assert json.loads((refused / "finetune.json").read_text())["accepted"] is False


@pytest.mark.slow
def test_finetune_stops_at_labels_the_model_does_not_have(tiny, tmp_path, capsys, monkeypatch):
    data, model = tiny
    monkeypatch.setattr("ml.cli.DEFAULT_CHECKPOINTS", tmp_path / "ckpt")
    export = write_export(tmp_path / "export.zip", [(entry_id(1), "teapot", b"")])
    assert main(["finetune", "--feedback", str(export), "--model", str(model), "--data", str(data),
                 "--out", str(tmp_path / "run")]) == 2
    assert "neither classes of the model nor 'none': teapot" in capsys.readouterr().err
