"""Command line: python -m ml COMMAND --help (check, search, train, outliers, quantize, ship,
calibrate, evaluate, photos, predict, finetune, stand-in-feedback)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from ml import SHIPPED_MODEL

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/cifar10-jpeg/train.tar.gz"
# The shipped model, which the server loads and render.yaml pins; only `ml ship` writes its folder.
DEFAULT_MODEL = Path(os.environ.get("MODEL_PATH", SHIPPED_MODEL))
SHIPPED = DEFAULT_MODEL.parent
DEFAULT_CHECKPOINTS = Path(os.environ.get("ML_CHECKPOINT_DIR", Path.home() / ".cache/cifar-cnn/ckpt"))
# Training writes a new folder here (git-ignored) unless told where.
RUNS = Path("runs")


def _new_run() -> Path:
    return RUNS / datetime.now().strftime("%Y%m%d-%H%M%S")


def _data_arg(parser, default=DEFAULT_DATA):
    parser.add_argument("--data", default=str(default),
                        help="the official cifar-10-python.tar.gz or its extracted folder, a "
                             "class-folder tree or a tar archive of one, or keras:cifar10 "
                             "(default: %(default)s)")


def _classes_arg(parser):
    from ml.training.data import CIFAR10_CLASSES

    parser.add_argument("--classes", type=lambda text: tuple(text.split(",")), default=CIFAR10_CLASSES,
                        help="the classes --data must have, comma-separated (default: CIFAR-10's)")


def _artifact_command(commands, name: str, help: str, description: str, *, new_artifact=False):
    """A command that reads an artifact (--model) and the training data (--data), and rewrites
    it or (``new_artifact``) writes another (--out)."""
    parser = commands.add_parser(name, help=help, description=description)
    _data_arg(parser)
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="default: %(default)s")
    if new_artifact:
        parser.add_argument("--out", required=True, help="new artifact path")
    parser.add_argument("--class-photos", default=None,
                        help="folder of <class>/*.jpg real photos (e.g. real-photos/known) whose "
                             "top-1 probabilities set the 'Not sure' threshold (default: the "
                             "validation images framed as photos)")
    return parser


def main(argv=None) -> int:
    from ml.training.recipe import FINETUNE, OUTLIER_EXPOSURE

    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check what training needs, in seconds",
                                description="Checks every prerequisite of make train's steps before "
                                "the first epoch: the data (readable, the CIFAR-10 classes), the "
                                "real photos if given, the output and checkpoint folders, Keras.")
    _data_arg(check)
    _classes_arg(check)
    check.add_argument("--out", required=True, help="the run folder training will write")
    check.add_argument("--real-photos", default=None,
                       help="folder laid out like real-photos/ (known/<class>/*.jpg, "
                            "other/<thing>/*.jpg) or a tar archive of one (default: none, so no "
                            "outlier exposure, and the 'Not sure' threshold from the validation "
                            "images framed as photos)")

    search = commands.add_parser("search", help="grid search on a fixed validation split",
                                 description="GridSearchCV over the pipeline; writes "
                                 "grid_search.{csv,json,png} to --out.")
    _data_arg(search)
    _classes_arg(search)
    search.add_argument("--out", default=None,
                        help="output folder (default: a new run folder, runs/<date-time>)")
    search.add_argument("--full", action="store_true",
                        help="all training images for --epochs each (default: budget mode)")
    search.add_argument("--epochs", type=float, default=None, help="epochs per candidate")
    search.add_argument("--subset", type=int, default=None, help="training images per candidate")
    search.add_argument("--grid", default=None, help="JSON object of parameter lists (cnn__*)")
    search.add_argument("--n-jobs", type=int, default=1,
                        help="parallel candidates on this machine (joblib processes)")
    search.add_argument("--scheduler", default=None,
                        help="run the candidates on a Dask cluster: tcp://HOST:8786 (an existing "
                             "scheduler) or local:N (start N local worker processes)")
    search.add_argument("--quiet", action="store_true")

    train = commands.add_parser("train", help="final fit with the best parameters -> artifact",
                                description="Trains on train minus the validation split and writes "
                                "the artifact, its .sha256, the model card and confusion matrix.")
    _data_arg(train)
    _classes_arg(train)
    train.add_argument("--model", default=None,
                       help=f"artifact path (default: runs/<date-time>/{DEFAULT_MODEL.name}, a new "
                            "run folder; the same path again resumes from the per-epoch checkpoints)")
    train.add_argument("--search-results", default=str(SHIPPED / "grid_search.json"),
                       help="grid_search.json whose best_params to use; '' for none, i.e. "
                            "FINAL_RECIPE as it is (default: %(default)s)")
    train.add_argument("--epochs", type=float, default=None,
                       help="epochs (default: the final recipe's, ml/training/recipe.py FINAL_RECIPE)")
    train.add_argument("--params", default=None, help="JSON object of CNN parameters (overrides)")
    train.add_argument("--quiet", action="store_true")

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class scores, confusion matrix",
                                   description="Evaluates an artifact on labelled images.")
    _data_arg(evaluate)
    evaluate.add_argument("--model", default=str(DEFAULT_MODEL), help="default: %(default)s")
    evaluate.add_argument("--validation-split", action="store_true",
                          help="only the fixed validation split of --data (what tuning used)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--confusion-matrix", default="confusion_matrix_eval.png",
                          help="PNG to write (default: %(default)s)")
    evaluate.add_argument("--shifts", action="store_true",
                          help="also accuracy and mean confidence with the images framed as real "
                          "photos are: small and anywhere, close up, blurred (ml/evaluation/shifts.py)")

    photos = commands.add_parser("photos", help="real-photo figures: accuracy, AUROC, 'Not sure' rates",
                                 description="Evaluates an artifact on a folder laid out like "
                                 "real-photos/: known/<class>/*.jpg and other/<anything>/*.jpg.")
    photos.add_argument("folder", help="e.g. ~/data/real-photos (unpacked real-photos.tar.gz)")
    photos.add_argument("--model", default=str(DEFAULT_MODEL), help="default: %(default)s")
    photos.add_argument("--json", action="store_true", help="print one JSON object")
    photos.add_argument("--held-out", action="store_true",
                        help="of other/, only the categories outlier exposure never trains on")

    outliers = _artifact_command(commands, "outliers", "fine-tune a model with outlier exposure",
                                 "Continues training an artifact for a few epochs with crops of "
                                 "photos of other things (other/<category>/, held-out categories "
                                 "excluded) pushed towards uniform probabilities; writes a new, "
                                 "calibrated artifact.", new_artifact=True)
    outliers.add_argument("--photos", required=True, help="folder of other/<category>/*.jpg")
    outliers.add_argument("--epochs", type=float, default=OUTLIER_EXPOSURE["epochs"],
                          help="default: %(default)s")
    outliers.add_argument("--learning-rate", type=float, default=OUTLIER_EXPOSURE["learning_rate"],
                          help="peak of the triangular schedule (default: %(default)s)")
    outliers.add_argument("--weight", type=float, default=OUTLIER_EXPOSURE["weight"],
                          help="outlier loss weight (default: %(default)s)")
    outliers.add_argument("--quiet", action="store_true")

    _artifact_command(commands, "calibrate", "fit temperature and 'Not sure' threshold",
                      "Temperature scaling of an artifact from the validation split of --data, and "
                      "its 'Not sure' threshold from --class-photos (else the framed validation "
                      "images); rewrites the artifact, its .sha256, model card and reliability plot.")
    _artifact_command(commands, "quantize", "serve int8 (ONNX Runtime quantization)",
                      "Quantizes an artifact's network to int8 (activation ranges from training "
                      "images of --data), then evaluates and calibrates it again on the validation "
                      "split; writes a new artifact with its card and figures.", new_artifact=True)

    ship = commands.add_parser("ship", help="copy a finished run into models/, pin its hash",
                               description="Copies a finished run's artifact, .sha256, model card "
                               "and figures into the shipped model's folder and rewrites "
                               "MODEL_SHA256 in render.yaml; prints what changed.")
    ship.add_argument("run", help="run folder, e.g. runs/20260101-120000")
    ship.add_argument("--models", default=str(SHIPPED), help="default: %(default)s")
    ship.add_argument("--blueprint", default="render.yaml", help="default: %(default)s")

    predict = commands.add_parser("predict", help="classify image files",
                                  description="Prints the top classes of each image.")
    predict.add_argument("images", nargs="+", help="image files")
    predict.add_argument("--model", default=str(DEFAULT_MODEL), help="default: %(default)s")
    predict.add_argument("--top-k", type=int, default=3)

    finetune = commands.add_parser(
        "finetune", help="fine-tune a model on users' feedback -> run folder",
        description="Fine-tunes a model's nets on the feedback pictures (a fixed part of each label "
        "held out) mixed with the training images of --data, 'none' pictures in the outlier term; "
        "prints validation top-1, held-out feedback per label and (--photos) real-photo figures, "
        "before -> after; writes the run folder, with the model at its top only if validation "
        "top-1 fell by at most half a point (else exit status 1). make ship RUN=... ships it.")
    finetune.add_argument("--feedback", required=True,
                          help="the zip of GET /api/feedback/export, or the server's DATABASE_URL "
                               "(sqlite:///..., postgres://...)")
    finetune.add_argument("--out", required=True, help="run folder (the same again resumes)")
    finetune.add_argument("--model", default=str(DEFAULT_MODEL), help="default: %(default)s")
    _data_arg(finetune)
    finetune.add_argument("--photos", default=None,
                          help="real photos to measure on, before and after: a folder laid out like "
                               "real-photos/ (known/<class>/*.jpg, other/<thing>/*.jpg), none of "
                               "them in the feedback")
    finetune.add_argument("--other-photos", default=None,
                          help="other/<category>/ photos that the model's outlier exposure trained on "
                               "(held-out categories excluded), kept in the outlier term")
    finetune.add_argument("--class-photos", default=None,
                          help="folder of <class>/*.jpg real photos that set the 'Not sure' "
                               "threshold (default: the validation images framed as photos)")
    finetune.add_argument("--epochs", type=float, default=FINETUNE["epochs"], help="default: %(default)s")
    finetune.add_argument("--learning-rate", type=float, default=FINETUNE["learning_rate"],
                          help="peak of the triangular schedule (default: %(default)s)")
    finetune.add_argument("--quiet", action="store_true")

    stand_in = commands.add_parser(
        "stand-in-feedback", help="stand-in feedback from real photos, to measure finetune",
        description="Writes OUT/feedback.zip (an export, as GET /api/feedback/export writes it) "
        "from the class photos of real-photos/ and one photo of each of half the other/ "
        "categories outlier exposure never saw (as 'none'); OUT/photos/ (for finetune --photos): "
        "the class photos finetune holds out and the other half of those categories; "
        "OUT/entries.csv: where each entry comes from.")
    stand_in.add_argument("real_photos", help="real-photos.tar.gz or its unpacked real-photos/ folder")
    stand_in.add_argument("--out", required=True, help="output folder")

    args = parser.parse_args(argv)
    try:
        return {"check": _check, "search": _search, "train": _train, "evaluate": _evaluate,
                "photos": _photos, "calibrate": _calibrate, "outliers": _outliers,
                "quantize": _quantize, "ship": _ship, "predict": _predict, "finetune": _finetune,
                "stand-in-feedback": _stand_in}[args.command](args)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _prerequisites(data, out, classes, **photos):
    """The dataset, once everything a training command needs is checked (ml/training/prerequisites.py)."""
    from ml.training.prerequisites import check

    return check(data, out, shipped=SHIPPED, checkpoints=DEFAULT_CHECKPOINTS, classes=classes,
                 **photos)[0]


def _check(args) -> int:
    from ml.training.prerequisites import check

    _, lines = check(args.data, args.out, shipped=SHIPPED, checkpoints=DEFAULT_CHECKPOINTS,
                     classes=args.classes, real_photos=args.real_photos)
    if not args.real_photos:
        lines.append("photos: none given: outlier exposure will be skipped, and the 'Not sure' "
                     "threshold set on the validation images framed as photos")
    print("\n".join(lines))
    return 0


def _search(args) -> int:
    from ml.training.recipe import SEARCH_BUDGET
    from ml.training.search import cluster, run_search, save_results

    args.out = args.out or _new_run()
    dataset = _prerequisites(args.data, args.out, args.classes)
    grid = json.loads(args.grid) if args.grid else None
    if grid:
        grid = {k: [tuple(v) if isinstance(v, list) else v for v in values] for k, values in grid.items()}
    epochs = args.epochs or (10.0 if args.full else SEARCH_BUDGET["epochs"])
    budget_subset = None if args.full else SEARCH_BUDGET["train_subset"]
    subset = args.subset if args.subset is not None else budget_subset
    with cluster(args.scheduler) as client:
        search = run_search(dataset, grid, epochs=epochs, train_subset=subset,
                            n_jobs=-1 if client else args.n_jobs,
                            checkpoint_dir=str(DEFAULT_CHECKPOINTS), verbose=0 if args.quiet else 1)
    summary = save_results(search, args.out)
    print(json.dumps({"best_params": summary["best_params"], "best_score": summary["best_score"]}))
    return 0


def _train(args) -> int:
    from ml.training.final_fit import best_params, train_final

    args.model = args.model or _new_run() / DEFAULT_MODEL.name
    search_results = Path(args.search_results) if args.search_results else None
    try:
        summary = json.loads(search_results.read_text()) if search_results else None
        params = best_params(search_results)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot read the search results {search_results}: {error!r} "
                         "(--search-results '' trains FINAL_RECIPE as it is)") from error
    if args.params:
        params.update(json.loads(args.params))
    dataset = _prerequisites(args.data, Path(args.model).parent, args.classes)
    card = train_final(dataset, args.model, params=params, epochs=args.epochs,
                       checkpoint_dir=str(DEFAULT_CHECKPOINTS), verbose=0 if args.quiet else 1,
                       data_description=f"{Path(args.data).name}: {len(dataset)} labelled images, "
                                        f"{len(dataset.classes)} classes",
                       search_summary=summary)
    print(json.dumps({"accuracy": card["metrics"]["accuracy"], "model": args.model,
                      "training_minutes": round(card["training_seconds"] / 60, 1)}))
    return 0


def _evaluate(args) -> int:
    import numpy as np

    from ml.evaluation.metrics import evaluate
    from ml.evaluation.reports import plot_confusion_matrix
    from ml.inference import artifact
    from ml.training.data import load_dataset, validation_split

    model = artifact.load(args.model)
    dataset = load_dataset(args.data, split="test")
    if args.validation_split:
        _, validation = validation_split(dataset)
        dataset = dataset.subset(validation)
    classes = model.classes
    unknown = sorted(set(dataset.classes) - set(classes))
    if unknown:
        raise ValueError(f"classes the model does not know: {', '.join(unknown)}")
    labels = np.array([classes.index(dataset.classes[i]) for i in dataset.labels])
    metrics = evaluate(model.pipeline, dataset.images, labels, classes)
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), classes, args.confusion_matrix,
                          title=f"Confusion matrix ({metrics['accuracy'] * 100:.2f} %)")
    report = {k: metrics[k] for k in ("accuracy", "n", "per_class")}
    if args.shifts:
        from ml.evaluation.shifts import shifted_scores

        report["shifts"] = shifted_scores(model.pipeline, dataset.images, labels)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"accuracy {metrics['accuracy'] * 100:.2f} % on {metrics['n']} images")
    for name, scores in metrics["per_class"].items():
        print(f"  {name:>12}  precision {scores['precision'] * 100:5.1f} %  "
              f"recall {scores['recall'] * 100:5.1f} %")
    print(f"confusion matrix: {args.confusion_matrix}")
    if "shifts" in report:
        print("framed as photos people take (ml/evaluation/shifts.py):")
    for name, scores in report.get("shifts", {}).items():
        print(f"  {name:<40} accuracy {scores['accuracy'] * 100:5.1f} %   "
              f"mean confidence {scores['confidence'] * 100:5.1f} %")
    return 0


def _interval(bounds, scale, spec, unit, before="; ", after="") -> str:
    """"; 95 % interval a-b" for a bootstrap interval, or nothing where there is none."""
    if bounds is None:
        return ""
    low, high = (format(bound * scale, spec) for bound in bounds)
    return f"{before}95 % interval {low}-{high}{unit}{after}"


def _photos(args) -> int:
    from ml.evaluation.photos import evaluate_photos
    from ml.inference import artifact

    model = artifact.load(args.model)
    threshold = model.not_sure_threshold
    report = evaluate_photos(model, args.folder, held_out_only=args.held_out)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"known photos: balanced top-1 {report['balanced_accuracy'] * 100:.1f} % "
          f"({report['n_known']} photos{_interval(report['balanced_accuracy_interval'], 100, '.1f', ' %')})")
    for name, scores in report["per_class"].items():
        print(f"  {name:>12}  {scores['accuracy'] * 100:5.1f} %  of {scores['n']:3d}   "
              f"'Not sure' {scores['not_sure'] * 100:5.1f} %")
    print(f"'Not sure' (top-1 probability < {threshold:.3f}): {report['not_sure_known'] * 100:.1f} % "
          "of known photos" + (f", {report['not_sure_other'] * 100:.1f} % of the {report['n_other']} "
                               "others" if "auroc" in report else ""))
    print(f"'Not sure' on each known photo with the threshold set on the other known photos "
          f"(leave-one-out): {report['not_sure_known_left_out'] * 100:.1f} %")
    if "auroc" in report:
        print(f"AUROC of the confidence, known vs other: {report['auroc']:.3f}"
              f"{_interval(report['auroc_interval'], 1, '.3f', '', before=' (', after=')')}")
    return 0


def _calibrate(args) -> int:
    from ml.training.calibrate import recalibrate
    from ml.training.data import load_dataset

    card = recalibrate(args.model, load_dataset(args.data), class_photos=args.class_photos)
    calibration = card["calibration"]
    print(json.dumps({"temperature": calibration["temperature"], "ece_before": calibration["ece_before"],
                      "ece": calibration["ece"], "not_sure_threshold": card["not_sure_threshold"],
                      "sha256": card["sha256"]}))
    return 0


def _outliers(args) -> int:
    from ml.inference import artifact
    from ml.training.outliers import fine_tune_with_outliers

    classes = tuple(artifact.load(args.model).classes)  # the data must be the model's
    dataset = _prerequisites(args.data, Path(args.out).parent, classes, other_photos=args.photos,
                             class_photos=args.class_photos)
    card = fine_tune_with_outliers(args.model, dataset, args.photos, args.out,
                                   epochs=args.epochs, learning_rate=args.learning_rate,
                                   weight=args.weight, class_photos=args.class_photos,
                                   checkpoint_dir=str(DEFAULT_CHECKPOINTS),
                                   verbose=0 if args.quiet else 1)
    print(json.dumps({"accuracy": card["metrics"]["accuracy"], "model": args.out,
                      "not_sure_threshold": card["not_sure_threshold"]}))
    return 0


def _quantize(args) -> int:
    from ml.training.data import load_dataset
    from ml.training.prerequisites import class_photo_folder, writable_folder
    from ml.training.quantization import quantize_artifact

    dataset = load_dataset(args.data)
    writable_folder(Path(args.out).parent, SHIPPED)
    if args.class_photos:  # read only after quantizing and evaluating: check them first
        class_photo_folder(args.class_photos, dataset.classes)
    card = quantize_artifact(args.model, dataset, args.out, class_photos=args.class_photos)
    print(json.dumps({"accuracy": card["metrics"]["accuracy"], "model": args.out,
                      "float32_accuracy": card["quantization"]["validation_accuracy_before"],
                      "not_sure_threshold": card["not_sure_threshold"]}))
    return 0


def _ship(args) -> int:
    from ml.training.ship import ship

    changed = ship(args.run, args.models, args.blueprint, DEFAULT_MODEL.name)
    (old_sha, new_sha), (old_accuracy, new_accuracy) = changed["sha256"], changed["accuracy"]
    print(f"shipped {args.run} into {args.models}/")
    print(f"  sha256    {old_sha} -> {new_sha} (MODEL_SHA256 in {args.blueprint})")
    before = "none" if old_accuracy is None else f"{old_accuracy * 100:.2f} %"
    print(f"  accuracy  {before} -> {new_accuracy * 100:.2f} % (validation split, model cards)")
    print(f"  copied    {', '.join(changed['copied'])}")
    if changed["kept"]:
        print(f"  kept      {', '.join(changed['kept'])} (the run has none; they describe an older run)")
    print(f"commit {args.models}/ and {args.blueprint} together")
    return 0


def _predict(args) -> int:
    from ml.images import load_image
    from ml.inference import artifact

    model = artifact.load(args.model)
    for path in args.images:
        top = model.top_k(model.predict_proba([load_image(path)])[0], args.top_k)
        print(path + ": " + ", ".join(f"{p['label']} {p['probability'] * 100:.1f} %" for p in top))
    return 0



def _finetune(args) -> int:
    from ml.inference import artifact
    from ml.training.finetune import MAX_VALIDATION_DROP, fine_tune_on_feedback, read_feedback

    classes = tuple(artifact.load(args.model).classes)  # the data must be the model's
    feedback = read_feedback(args.feedback)
    dataset = _prerequisites(args.data, args.out, classes, other_photos=args.other_photos,
                             class_photos=args.class_photos)
    report = fine_tune_on_feedback(args.model, dataset, feedback, args.out, model_name=DEFAULT_MODEL.name,
                                   other_photos=args.other_photos, photos=args.photos,
                                   class_photos=args.class_photos, epochs=args.epochs,
                                   learning_rate=args.learning_rate,
                                   checkpoint_dir=str(DEFAULT_CHECKPOINTS),
                                   verbose=0 if args.quiet else 1)
    print("\n".join(_before_after(report["before"], report["after"])))
    before, after = report["before"]["validation"], report["after"]["validation"]
    if not report["accepted"]:
        print(f"refused: validation top-1 fell {(before - after) * 100:.2f} points "
              f"({before * 100:.2f} % -> {after * 100:.2f} %), more than the "
              f"{MAX_VALIDATION_DROP * 100:.1f} allowed; no model written in {args.out}/ (the "
              f"candidate, to look at: {report['candidate']})", file=sys.stderr)
        return 1
    print(f"accepted: {Path(args.out) / DEFAULT_MODEL.name}; to serve it: make ship RUN={args.out}")
    return 0


def _before_after(before: dict, after: dict) -> list[str]:
    """The table finetune prints: one row per figure both sides have, before and after."""
    def figure(figures, path):
        for key in path:
            figures = figures.get(key) if isinstance(figures, dict) else None
        return figures

    rows = [(f"validation top-1 ({before['n_validation']} images)", ("validation",)),
            ("held-out feedback: top-1 of the class pictures", ("held_out_top1",))]
    rows += [(f"  {label} ({scores['n']}): {'Not sure' if label == 'none' else 'top-1'}",
              ("held_out", label, "score")) for label, scores in before["held_out"].items()]
    photos = before.get("photos", {})
    rows += [(f"real photos ({photos.get('n_known')} known, {photos.get('n_other')} others): "
              "balanced top-1", ("photos", "balanced_accuracy")),
             ("  AUROC, known vs other", ("photos", "auroc")),
             ("  'Not sure' on the known photos", ("photos", "not_sure_known")),
             ("  'Not sure' on the others", ("photos", "not_sure_other")),
             ("'Not sure' threshold", ("not_sure_threshold",))]
    lines = [f"{'':<52}{'before':>11}{'after':>11}"]
    for name, path in rows:
        values = [figure(figures, path) for figures in (before, after)]
        if None not in values:
            share = path[-1] not in ("auroc", "not_sure_threshold")
            lines.append(f"{name:<52}" + "".join(f"{value * 100:9.2f} %" if share else f"{value:11.3f}"
                                                 for value in values))
    return lines


def _stand_in(args) -> int:
    from ml.training.stand_in import build_stand_in

    summary = build_stand_in(args.real_photos, args.out)
    print(f"{args.out}/feedback.zip: {sum(summary['entries'].values())} entries {summary['entries']}, "
          f"of which finetune holds out {summary['held_out']}")
    print(f"{args.out}/photos/: {summary['photos_known']} held-out class photos in known/, "
          f"{summary['photos_other']} photos of unseen things in other/ (finetune --photos)")
    return 0
