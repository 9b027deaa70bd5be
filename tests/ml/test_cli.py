"""Retraining from public data: make train / python -m ml check fail in seconds on a bad
prerequisite, write a run folder (never models/), and make ship / python -m ml ship copy a finished
run into models/ and pin its hash. On tiny generated archives in the official format, and on
temporary copies of models/ and render.yaml (the real ones are never written)."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from hashlib import sha256
from pathlib import Path

import pytest
import yaml

from bench.fixtures import encode
from ml.cli import main
from ml.evaluation.photos import is_held_out
from ml.inference import artifact
from ml.training.data import CIFAR10_CLASSES
from ml.training.prerequisites import PrerequisiteError, training_backend
from tests.conftest import ROOT, TINY_CNN
from tests.imagegen import cifar_python_archive, gradient


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory) -> Path:
    """cifar-10-python.tar.gz with 10 images of each class (2 in each training batch)."""
    path = tmp_path_factory.mktemp("data") / "cifar-10-python.tar.gz"
    cifar_python_archive(path, per_class=2)
    return path


def real_photos(root: Path, known=("cat", "ship"), other=("kettle", "violin", "tractor", "lamp")):
    """A folder laid out like real-photos/: known/<class>/ and other/<thing>/, one photo each."""
    for kind, names in (("known", known), ("other", other)):
        for i, name in enumerate(names):
            (root / kind / name).mkdir(parents=True)
            (root / kind / name / "a.jpg").write_bytes(encode(gradient(120, 90, seed=i), "JPEG"))
    return root


def error_of(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_check_passes_and_says_what_it_found(tiny_cifar, tmp_path, capsys):
    photos = real_photos(tmp_path / "real-photos")
    assert main(["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "run"),
                 "--real-photos", str(photos)]) == 0
    report = capsys.readouterr().out
    assert "100 images of the 10 classes, 10 of them for validation" in report
    assert "known/: 2 photos of 2 classes" in report and "other/: 4 photos of 4 things" in report
    assert f"output: {tmp_path / 'run'}/ (writable)" in report and "training: Keras" in report
    # Without photos the run goes on without outlier exposure, and says so.
    assert main(["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "run")]) == 0
    assert "outlier exposure will be skipped" in capsys.readouterr().out


def test_check_stops_at_missing_or_wrong_data_with_one_message(tmp_path, capsys):
    message = error_of(capsys, ["check", "--data", str(tmp_path / "nowhere.tar.gz"), "--out",
                                str(tmp_path / "run")])
    assert message.count("\n") == 1 and "no training data at" in message
    assert "cifar-10-python.tar.gz" in message and "make train DATA=" in message
    cifar_python_archive(tmp_path / "three.tar.gz", classes=("cat", "dog", "frog"))
    message = error_of(capsys, ["check", "--data", str(tmp_path / "three.tar.gz"), "--out",
                                str(tmp_path / "run")])
    assert "is not CIFAR-10" in message and "missing: airplane, automobile, bird, deer" in message
    assert main(["check", "--data", str(tmp_path / "three.tar.gz"), "--out", str(tmp_path / "own"),
                 "--classes", "cat,dog,frog"]) == 0  # a data set of one's own classes
    assert "30 images of the 3 classes" in capsys.readouterr().out
    assert "unexpected: frog" in error_of(capsys, ["check", "--data", str(tmp_path / "three.tar.gz"),
                                                   "--out", str(tmp_path / "own"), "--classes", "cat,dog"])
    cifar_python_archive(tmp_path / "few.tar.gz", per_class=1)  # 50 images: 5 to validate 10 classes on
    assert "too small for the stratified validation split" in error_of(
        capsys, ["check", "--data", str(tmp_path / "few.tar.gz"), "--out", str(tmp_path / "run")])
    (tmp_path / "cut.tar.gz").write_bytes((tmp_path / "three.tar.gz").read_bytes()[:900])
    assert "cannot read the tar archive" in error_of(
        capsys, ["check", "--data", str(tmp_path / "cut.tar.gz"), "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()  # nothing written before the data checked out


def test_check_stops_at_an_unwritable_or_shipped_output_folder(tiny_cifar, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert "cannot write in" in error_of(
        capsys, ["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "file" / "run")])
    assert "training writes a run folder, not models/" in error_of(
        capsys, ["check", "--data", str(tiny_cifar), "--out", "models"])
    assert "training writes a run folder" in error_of(
        capsys, ["train", "--data", str(tiny_cifar), "--model", "models/cifar10_cnn.pkl",
                 "--search-results", ""])
    assert "cannot read the search results" in error_of(
        capsys, ["train", "--data", str(tiny_cifar), "--model", str(tmp_path / "run" / "m.pkl"),
                 "--search-results", str(tmp_path / "grid_search.json")])


def test_check_stops_at_photos_it_could_not_use(tiny_cifar, tmp_path, capsys):
    def photos_error(source):
        return error_of(capsys, ["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "run"),
                                 "--real-photos", str(source)])

    assert "no photos at" in photos_error(tmp_path / "nowhere")
    only_known = real_photos(tmp_path / "a", other=())
    assert "holds no photos in other/" in photos_error(only_known)
    wrong_class = real_photos(tmp_path / "b", known=("cat", "teapot"))
    assert "subfolders that are not classes: teapot" in photos_error(wrong_class)
    held_out = real_photos(tmp_path / "c", other=[n for n in map(str, range(20)) if is_held_out(n)])
    assert "no photos of the categories outlier exposure trains on" in photos_error(held_out)
    broken = real_photos(tmp_path / "d")
    (broken / "other" / "lamp" / "b.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    assert "cannot read photo" in photos_error(broken) and "lamp/b.jpg" in photos_error(broken)


def test_check_reads_a_photo_archive_under_one_top_folder(tiny_cifar, tmp_path, capsys):
    real_photos(tmp_path / "real-photos")
    with tarfile.open(tmp_path / "real-photos.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "real-photos", arcname="real-photos")
    assert main(["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "run"),
                 "--real-photos", str(tmp_path / "real-photos.tar.gz")]) == 0
    assert "other/: 4 photos of 4 things" in capsys.readouterr().out
    with tarfile.open(tmp_path / "two.tar", "w") as archive:
        archive.add(tmp_path / "real-photos", arcname="real-photos")
        archive.add(tmp_path / "real-photos", arcname="more")
    assert "several top folders (more, real-photos)" in error_of(
        capsys, ["check", "--data", str(tiny_cifar), "--out", str(tmp_path / "run"),
                 "--real-photos", str(tmp_path / "two.tar")])


def test_without_tensorflow_training_stops_before_it_starts(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)  # what `import keras` does when it is absent
    with pytest.raises(PrerequisiteError, match=r"install the train extra"):
        training_backend()


def test_train_fails_in_seconds_without_importing_tensorflow(tmp_path):
    """The real command line on a missing archive: exit status 2, one line, no TensorFlow loaded."""
    code = ("import sys; from ml.cli import main; status = main(sys.argv[1:]); "
            "print('tensorflow' in sys.modules); sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, "train", "--data", str(tmp_path / "none.tar.gz"),
                           "--model", str(tmp_path / "run" / "m.pkl")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == "False\n"
    assert done.stderr.startswith("error: no training data at") and done.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------- make train

def make_dry_run(*args) -> subprocess.CompletedProcess:
    if not shutil.which("make"):
        pytest.skip("no make")
    # Not the settings of a make that runs these tests (make test): only these arguments.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=env)


def ml_commands(output: str) -> list[str]:
    """The python -m ml commands of make -n's output, each on one line, spaces squeezed."""
    lines = output.replace("\\\n", " ").splitlines()
    return [" ".join(line.split(" -m ml ", 1)[1].split()) for line in lines if " -m ml " in line]


def test_make_train_without_data_stops_before_anything_runs():
    done = make_dry_run("train", "DATA=/nonexistent/cifar-10-python.tar.gz")
    assert done.returncode != 0 and not ml_commands(done.stdout)
    assert "no training data at /nonexistent/cifar-10-python.tar.gz" in done.stderr
    assert "make train DATA=" in done.stderr
    done = make_dry_run("train", f"DATA={ROOT / 'Makefile'}", "PHOTOS=/nonexistent")
    assert done.returncode != 0 and "no photos at /nonexistent" in done.stderr
    done = make_dry_run("ship")
    assert done.returncode != 0 and "make ship RUN=runs/" in done.stderr


def test_make_train_writes_only_its_run_folder_and_resumes_it(tiny_cifar, tmp_path):
    run = tmp_path / "run"
    done = make_dry_run("train", f"DATA={tiny_cifar}", f"RUN={run}", "PHOTOS=")
    steps = ml_commands(done.stdout)
    assert [step.split()[0] for step in steps] == ["check", "search", "train", "quantize"]
    assert all("models" not in step for step in steps)  # nothing in models/, no outlier exposure
    assert f"--out {run}/cifar10_cnn.pkl" in steps[-1] and "--class-photos" not in steps[-1]

    photos = real_photos(tmp_path / "real-photos")
    steps = ml_commands(make_dry_run("train", f"DATA={tiny_cifar}", f"RUN={run}", f"PHOTOS={photos}").stdout)
    assert [step.split()[0] for step in steps] == ["check", "search", "train", "outliers", "quantize"]
    assert f"--photos {photos}/other --class-photos {photos}/known" in steps[3]
    assert f"--model {run}/outliers/cifar10_cnn.pkl" in steps[4] and f"{photos}/known" in steps[4]

    # Finished steps leave their model card (or the search its results): the rerun skips them,
    # after checking everything again.
    (run / "trained").mkdir(parents=True)
    (run / "grid_search.json").write_text("{}")
    os.utime(run / "grid_search.json", (1, 1))
    (run / "trained" / "model_card.json").write_text("{}")
    steps = ml_commands(make_dry_run("train", f"DATA={tiny_cifar}", f"RUN={run}", "PHOTOS=").stdout)
    assert [step.split()[0] for step in steps] == ["check", "quantize"]


def test_a_photo_archive_is_unpacked_into_the_run_folder(tiny_cifar, tmp_path):
    run, archive = tmp_path / "run", tmp_path / "real-photos.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(real_photos(tmp_path / "real-photos"), arcname="real-photos")
    done = make_dry_run("train", f"DATA={tiny_cifar}", f"RUN={run}", f"PHOTOS={archive}")
    assert f"--real-photos {archive}" in done.stdout
    assert f"tar -xf {archive} -C {run}/photos.part --strip-components=1" in done.stdout
    assert f"--photos {run}/photos/other --class-photos {run}/photos/known" in done.stdout


# ---------------------------------------------------------------------------------- make ship

@pytest.fixture()
def shipped(tmp_path):
    """Temporary copies of models/ and render.yaml to ship into; checks the real ones stay as they were."""
    real = {path: path.read_bytes() for path in (ROOT / "render.yaml", ROOT / "models" / "model_card.json",
                                                  ROOT / "models" / "cifar10_cnn.pkl.sha256")}
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copy(ROOT / "render.yaml", tmp_path / "render.yaml")
    yield tmp_path / "models", tmp_path / "render.yaml"
    assert {path: path.read_bytes() for path in real} == real


def fake_run(folder: Path, accuracy=0.5) -> Path:
    """A run folder as make train leaves it, with a stand-in artifact (no network: shipping only
    copies it)."""
    card = {"version": "test", "metrics": {"accuracy": accuracy, "n": 10}}
    card["sha256"] = artifact.save(folder / "cifar10_cnn.pkl", None, classes=CIFAR10_CLASSES,
                                   params={}, metrics=card["metrics"], card=card)
    (folder / "model_card.json").write_text(json.dumps(card))
    for name in ("model_card.md", "confusion_matrix.png", "reliability.png"):
        (folder / name).write_text(name)
    return folder


def pinned_hash(blueprint: Path) -> str:
    env = yaml.safe_load(blueprint.read_text())["services"][0]["envVars"]
    return {item["key"]: item.get("value") for item in env}["MODEL_SHA256"]


def ship(run, models, blueprint, capsys) -> tuple[int, str]:
    status = main(["ship", str(run), "--models", str(models), "--blueprint", str(blueprint)])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_ship_copies_a_finished_run_and_rewrites_only_the_pinned_hash(shipped, tmp_path, capsys):
    models, blueprint = shipped
    before = blueprint.read_bytes()
    old_sha = pinned_hash(blueprint)
    old_accuracy = json.loads((models / "model_card.json").read_text())["metrics"]["accuracy"]
    run = fake_run(tmp_path / "runs" / "one", accuracy=0.5)
    new_sha = (run / "cifar10_cnn.pkl.sha256").read_text().split()[0]
    # The run has no search results (trained without `ml search`): those shipped before stay.
    (models / "grid_search.json").write_text("{}")

    status, report = ship(run, models, blueprint, capsys)
    assert status == 0, report
    assert f"sha256    {old_sha} -> {new_sha}" in report
    assert f"accuracy  {old_accuracy * 100:.2f} % -> 50.00 %" in report
    assert ("copied    cifar10_cnn.pkl, cifar10_cnn.pkl.sha256, model_card.json, model_card.md, "
            "confusion_matrix.png, reliability.png\n") in report
    kept = next(line for line in report.splitlines() if line.startswith("  kept "))
    assert "grid_search.json" in kept and (models / "grid_search.json").read_text() == "{}"
    for name in ("cifar10_cnn.pkl", "cifar10_cnn.pkl.sha256", "model_card.json", "reliability.png"):
        assert (models / name).read_bytes() == (run / name).read_bytes(), name
    assert not list(models.glob(".*"))  # no partial copies left behind
    # render.yaml: byte for byte the same but the one value, which pins the new model.
    after = blueprint.read_bytes()
    assert after == before.replace(old_sha.encode(), new_sha.encode()) and before.count(old_sha.encode()) == 1
    assert pinned_hash(blueprint) == sha256((models / "cifar10_cnn.pkl").read_bytes()).hexdigest()
    assert artifact.load(models / "cifar10_cnn.pkl", expected_sha256=new_sha).card["version"] == "test"


def test_ship_refuses_an_unfinished_run_and_changes_nothing(shipped, tmp_path, capsys):
    models, blueprint = shipped
    files = {path: path.read_bytes() for path in [blueprint, *models.iterdir()]}
    (tmp_path / "empty").mkdir()
    status, report = ship(tmp_path / "empty", models, blueprint, capsys)
    assert status == 2 and "is not a finished run: it has no cifar10_cnn.pkl" in report
    assert f"make train RUN={tmp_path / 'empty'}" in report

    torn = fake_run(tmp_path / "torn")
    (torn / "cifar10_cnn.pkl").write_bytes((torn / "cifar10_cnn.pkl").read_bytes()[:-10])
    status, report = ship(torn, models, blueprint, capsys)
    assert status == 2 and "is not a finished run" in report and "does not match its SHA-256" in report

    stale = fake_run(tmp_path / "stale")
    (stale / "model_card.json").write_text(json.dumps({"sha256": "0" * 64, "metrics": {"accuracy": 1}}))
    status, report = ship(stale, models, blueprint, capsys)
    assert status == 2 and "model_card.json describes another model" in report

    unpinned = tmp_path / "unpinned.yaml"
    unpinned.write_text(blueprint.read_text().replace("MODEL_SHA256", "MODEL_HASH"))
    status, report = ship(fake_run(tmp_path / "fine"), models, unpinned, capsys)
    assert status == 2 and "has 0 MODEL_SHA256 entries" in report
    assert {path: path.read_bytes() for path in [blueprint, *models.iterdir()]} == files


# ------------------------------------------------------------------- the real thing, in small

@pytest.mark.slow
def test_train_from_the_official_archive_then_ship(tiny_cifar, shipped, tmp_path, capsys, monkeypatch):
    """make train's steps on cifar-10-python.tar.gz with a tiny net for one epoch, laid out as make
    train lays them out (the grid search aside): `python -m ml train` (run again: it resumes), then
    outlier exposure and int8; the run ships into the copy of models/, where the pinned model loads."""
    models, blueprint = shipped
    run, photos = tmp_path / "runs" / "tiny", real_photos(tmp_path / "real-photos")
    params = {**{k: v for k, v in TINY_CNN.items() if k not in ("epochs", "verbose")}, "n_members": 1}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ML_CHECKPOINT_DIR": str(tmp_path / "ckpt"),
           "ML_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "ml", "train", "--data", str(tiny_cifar), "--model",
               str(run / "trained" / "cifar10_cnn.pkl"), "--search-results", "", "--epochs", "1",
               "--params", json.dumps(params)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["model"] == str(run / "trained" / "cifar10_cnn.pkl") and 0 <= result["accuracy"] <= 1
    card = json.loads((run / "trained" / "model_card.json").read_text())
    assert card["classes"] == list(CIFAR10_CLASSES)
    assert (card["data"]["n_train"], card["data"]["n_validation"]) == (90, 10)
    assert card["data"]["description"].startswith("cifar-10-python.tar.gz: 100 labelled images")
    checkpoints = list((tmp_path / "ckpt").glob("cnn-*.npz"))
    assert len(checkpoints) == 1
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0 and f"resuming from {checkpoints[0]} after epoch 1" in again.stdout

    monkeypatch.setattr("ml.cli.DEFAULT_CHECKPOINTS", tmp_path / "ckpt")
    assert main(["outliers", "--data", str(tiny_cifar), "--model", str(run / "trained" / "cifar10_cnn.pkl"),
                 "--out", str(run / "outliers" / "cifar10_cnn.pkl"), "--photos", str(photos / "other"),
                 "--class-photos", str(photos / "known"), "--epochs", "1", "--quiet"]) == 0
    assert main(["quantize", "--data", str(tiny_cifar), "--model", str(run / "outliers" / "cifar10_cnn.pkl"),
                 "--out", str(run / "cifar10_cnn.pkl"), "--class-photos", str(photos / "known")]) == 0
    card = json.loads((run / "model_card.json").read_text())
    assert card["inference_precision"] == "int8" and card["outlier_exposure"]["epochs"] == 1
    assert "2 real photos of the classes" in card["not_sure_source"]
    capsys.readouterr()

    status, report = ship(run, models, blueprint, capsys)
    assert status == 0, report
    assert pinned_hash(blueprint) == card["sha256"] and f"-> {card['sha256']}" in report
    model = artifact.load(models / "cifar10_cnn.pkl", expected_sha256=card["sha256"])
    assert model.classes == list(CIFAR10_CLASSES) and model.predict_proba([gradient()]).shape == (1, 10)
