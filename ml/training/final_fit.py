"""Final fit (``python -m ml train``): the best grid-search parameters, trained on train minus
validation, evaluated on the validation split, calibrated, and saved as the artifact with its model
card and figures (``save_with_card``, which the later steps of ``make train`` save through too)."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml.evaluation.metrics import evaluate
from ml.evaluation.reports import plot_confusion_matrix, write_model_card
from ml.inference import artifact
from ml.training.calibrate import calibrate
from ml.training.data import SPLIT_SEED, Dataset, named_labels, validation_split
from ml.training.recipe import FINAL_RECIPE, make_pipeline

LIMITS = (
    "Trained on CIFAR-10: 32x32 photos of 10 classes (airplane, automobile, bird, cat, deer, dog, "
    "frog, horse, ship, truck). Any other picture still gets one of these 10 labels, so a low "
    "top-1 probability means 'probably none of them'. Large photos are centre-cropped to a square "
    "and shrunk to 32x32, so small or off-centre objects are hard for it."
)


def architecture(params: dict) -> str:
    """The model card's one-line description of the network these parameters build."""
    depth = params.get("block_depth", 2)
    group = ("conv-pool-BN-GELU-conv-BN-GELU" if depth == 2 else
             "conv-pool-BN-GELU, then conv-BN-GELU-conv-BN with a residual, GELU")
    widths = "/".join(map(str, params.get("widths", ())))
    net = (f"airbench{94 if depth == 2 else 96}-style CNN: frozen 2x2 patch-whitening conv, 3 conv "
           f"groups of widths {widths} ({group}), global max pool, linear; ONNX Runtime for inference")
    members = params.get("n_members", 1)
    if members == 1:
        return net
    views = ("the test-time views dealt out among them" if params.get("views") == "dealt"
             else "each net running every test-time view")
    return f"ensemble of {members} nets from different seeds, logits averaged, {views}; each an {net}"


def recipe_params(cnn) -> dict:
    """The parameters ``make_pipeline`` rebuilds this CNN step from (what the model card records)."""
    from ml.inference.ensemble import CNNEnsemble

    if isinstance(cnn, CNNEnsemble):
        return {**recipe_params(cnn.estimator), "n_members": cnn.n_members, "tta": cnn.tta,
                "views": cnn.views}
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in cnn.get_params().items() if k not in ("verbose", "checkpoint_dir")}


def member_params(cnn, **params) -> dict:
    """``set_params`` arguments that set these parameters of each net: of the CNN itself, or of an
    ensemble's members (its ``estimator``)."""
    from ml.inference.ensemble import CNNEnsemble

    prefix = "estimator__" if isinstance(cnn, CNNEnsemble) else ""
    return {prefix + k: v for k, v in params.items()}


def hardware_description(precision: str) -> str:
    """CPU model, whether it has native bfloat16, the GPU if one trained the net, and the arithmetic
    training used."""
    import keras

    from ml.training.keras_fit import accelerator, cpu_has_native_bfloat16

    name = platform.processor() or platform.machine()
    try:
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
        name, cores = (models[0], len(models)) if models else (name, None)
    except OSError:
        cores = None
    native = "native bfloat16" if cpu_has_native_bfloat16() else "no native bfloat16"
    gpu = accelerator()
    where = f"GPU {gpu} (Keras on {keras.config.backend()})" if gpu else "CPU only"
    return f"{name}{f' x{cores}' if cores else ''} ({native}), {where}; training arithmetic {precision}"


def best_params(search_json: Path | None) -> dict:
    """CNN parameters from a grid-search summary (``cnn__`` prefix stripped)."""
    if not search_json or not Path(search_json).exists():
        return {}
    best = json.loads(Path(search_json).read_text())["best_params"]
    return {k.removeprefix("cnn__"): tuple(v) if isinstance(v, list) else v for k, v in best.items()}


def _validation_features(pipeline, dataset: Dataset, train, validation):
    """Validation images as the CNN will see them: preprocessed with statistics of the training
    part only (the same ones the pipeline's fit learns)."""
    from sklearn.base import clone

    preprocess = clone(pipeline.named_steps["preprocess"]).fit(dataset.images[train])
    return preprocess.transform(dataset.images[validation]), named_labels(dataset, validation)


def train_final(dataset: Dataset, out_path, *, params: dict | None = None, epochs=None,
                validation_size=None, seed=SPLIT_SEED, checkpoint_dir=None,
                verbose=1, data_description="", search_summary: dict | None = None) -> dict:
    out_path = Path(out_path)
    params = {**FINAL_RECIPE, **(params or {})}
    if epochs is not None:
        params["epochs"] = epochs
    # `seed` fixes the validation split; the network's own seed defaults to it, and a different
    # random_state in params trains another member on the same split.
    params.setdefault("random_state", seed)
    params.update(verbose=verbose, checkpoint_dir=checkpoint_dir)
    train, validation = validation_split(dataset, validation_size, seed)
    pipeline = make_pipeline(**params)
    # The validation images are only scored after each epoch (the curve goes in the model card);
    # nothing is tuned on them here.
    validation_features = _validation_features(pipeline, dataset, train, validation)
    pipeline.fit(dataset.images[train], named_labels(dataset, train),
                 cnn__validation_data=validation_features)

    return save_with_card(pipeline, dataset, train, validation, validation_features, out_path, {
        # Summed over the epochs (and members), whichever sessions ran them.
        "training_seconds": round(pipeline.named_steps["cnn"].training_seconds_, 1),
        "data": {"description": data_description, "n_train": len(train),
                 "n_validation": len(validation), "split_seed": seed,
                 "validation": "stratified, carved from the training images; test split unseen"},
        "grid_search": {k: search_summary[k] for k in ("best_params", "best_score", "split")}
        if search_summary else None,
    })


def save_with_card(pipeline, dataset: Dataset, train, validation, validation_features, out_path,
                   card_fields: dict, class_photos=None) -> dict:
    """Evaluate a fitted pipeline on the validation split, calibrate it (``class_photos``: see
    ``calibrate``), and write the artifact, its model card, confusion matrix and reliability plot.
    Returns the card."""
    out_path = Path(out_path)
    cnn = pipeline.named_steps["cnn"]
    # The shipped model carries no local paths.
    cnn.set_params(**member_params(cnn, verbose=0, checkpoint_dir=None))
    for net in getattr(cnn, "members_", []):
        net.set_params(verbose=0, checkpoint_dir=None)
    metrics = evaluate(pipeline, dataset.images[validation], dataset.labels[validation],
                       dataset.classes)
    folder = out_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), dataset.classes,
                          folder / "confusion_matrix.png",
                          title=f"Validation confusion matrix ({metrics['accuracy'] * 100:.2f} %)")
    confidence = calibrate(pipeline, validation_features, dataset.images[validation], folder,
                           class_photos)
    shipped_params = recipe_params(cnn)
    created = datetime.now(UTC).replace(microsecond=0)
    card = {
        "name": "CIFAR-10 CNN",
        "version": created.strftime("%Y%m%d-%H%M%S"),
        "created": created.isoformat(),
        "task": "image classification, 10 classes",
        "classes": list(dataset.classes),
        "input_size": [int(d) for d in cnn.input_shape_],
        "architecture": architecture(shipped_params),
        "inference_precision": cnn.inference_precision,
        "params": shipped_params,
        "metrics": {k: v for k, v in metrics.items() if k != "confusion_matrix"},
        "confusion_matrix": metrics["confusion_matrix"],
        "epoch_history": cnn.history_,
        "onnx_max_abs_diff": cnn.onnx_max_abs_diff_,
        **confidence,
        "hardware": hardware_description(cnn.training_precision_),
        "limits": LIMITS,
        **card_fields,
    }
    card["sha256"] = artifact.save(out_path, pipeline, classes=dataset.classes,
                                   params=shipped_params, metrics=card["metrics"], card=card)
    write_model_card(card, folder)
    return card
