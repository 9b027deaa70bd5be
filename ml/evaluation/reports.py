"""Figures and the model card written next to the artifact (matplotlib: the train extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ml.evaluation.confidence import ECE_BINS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(matrix: np.ndarray, classes, path, title="Confusion matrix") -> Path:
    plt = _pyplot()
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=110)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    return _save(plt, fig, path)


def _save(plt, fig, path) -> Path:
    """Lay the figure out, write it to ``path`` and free it (pyplot keeps every open figure)."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_reliability(calibration: dict, path, title="Reliability on the validation split") -> Path:
    """Accuracy against confidence per bin, before and after temperature scaling: a calibrated
    model's points lie on the diagonal."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.2), dpi=110)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfectly calibrated")
    for key, label, colour in (("bins_before", f"raw (ECE {calibration['ece_before'] * 100:.1f} %)",
                                "#dd8452"),
                               ("bins", f"temperature {calibration['temperature']:.2f} "
                                        f"(ECE {calibration['ece'] * 100:.1f} %)", "#4c72b0")):
        bins = calibration[key]
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                color=colour, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-1 probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return _save(plt, fig, path)


def plot_search(cv_results: dict, path, title="Grid search: validation accuracy") -> Path:
    """One bar per candidate, best first, labelled with the parameters that vary."""
    plt = _pyplot()
    scores = np.asarray(cv_results["mean_test_score"], dtype=float)
    params = cv_results["params"]
    varying = [k for k in params[0] if len({str(p[k]) for p in params}) > 1]
    labels = [", ".join(f"{k.split('__')[-1]}={_short(p[k])}" for k in varying) for p in params]
    order = np.argsort(scores)[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(order) + 1.6), dpi=110)
    bars = ax.barh(range(len(order)), scores[order] * 100, color="#4c72b0")
    bars[0].set_color("#dd8452")
    ax.set_yticks(range(len(order)), [labels[i] for i in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("validation accuracy (%)")
    low = max(0.0, float(np.nanmin(scores)) * 100 - 5)
    ax.set_xlim(low, min(100.0, float(np.nanmax(scores)) * 100 + 2))
    for rank, i in enumerate(order):
        ax.text(scores[i] * 100, rank, f" {scores[i] * 100:.2f}", va="center", fontsize=8)
    ax.set_title(title)
    return _save(plt, fig, path)


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return "/".join(map(str, value))
    return str(value)


def _inference(card: dict) -> str:
    quantization = card.get("quantization")
    if not quantization:
        return card.get("inference_precision", "float32")
    return (f"int8: {quantization['method']}, calibrated on {quantization['calibration_images']} "
            f"training images (validation top-1 "
            f"{quantization['validation_accuracy_before'] * 100:.2f} % in float32)")


def _feedback(feedback: dict | None) -> list[str]:
    """The card's line on fine-tuning with users' feedback (``ml.training.finetune``), if any."""
    if not feedback:
        return []
    fit = ", ".join(f"{label} {n}" for label, n in feedback["fit"].items())
    return [f"- **Fine-tuned on feedback**: {feedback['epochs']:g} more epochs from model "
            f"`{feedback['base_model']}` on {sum(feedback['fit'].values())} feedback pictures "
            f"({fit}; from {feedback['source']}) mixed into the training images; "
            f"{sum(feedback['held_out'].values())} more held out to measure"]


def write_model_card(card: dict, folder, stem="model_card") -> tuple[Path, Path]:
    folder = Path(folder)
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps(card, indent=2, default=str) + "\n")
    metrics = card.get("metrics", {})
    lines = [
        f"# Model card: {card.get('name', 'CIFAR-10 CNN')}",
        "",
        f"- **Version**: `{card.get('version')}` (created {card.get('created')})",
        f"- **Task**: {card.get('task', 'image classification')}; classes: "
        + ", ".join(card.get("classes", [])),
        f"- **Architecture**: {card.get('architecture')}",
        f"- **Inference arithmetic**: {_inference(card)}",
        f"- **Data**: {card.get('data', {}).get('description')}",
        f"- **Training images**: {card.get('data', {}).get('n_train')}; "
        f"validation images: {card.get('data', {}).get('n_validation')} "
        f"(stratified, seed {card.get('data', {}).get('split_seed')})",
        f"- **Training time**: {card.get('training_seconds', 0) / 60:.1f} min on "
        f"{card.get('hardware')}",
        *_feedback(card.get("feedback")),
        "",
        "## Validation metrics",
        "",
        f"- Top-1 accuracy: **{metrics.get('accuracy', float('nan')) * 100:.2f} %** "
        f"on {metrics.get('n')} validation images (test-time augmentation: "
        f"{card.get('params', {}).get('tta')})",
        "",
        "| class | precision | recall |",
        "|---|---|---|",
    ]
    for name, scores in metrics.get("per_class", {}).items():
        lines.append(f"| {name} | {scores['precision'] * 100:.1f} % | {scores['recall'] * 100:.1f} % |")
    calibration = card.get("calibration")
    if calibration:
        fitted_on = calibration.get("fitted_on", "the validation split")
        lines += ["", "## Confidence", "",
                  f"- Temperature scaling: T = {calibration['temperature']:.3f}, fitted on "
                  f"{fitted_on}; expected calibration error {calibration['ece_before'] * 100:.2f} % "
                  f"before, **{calibration['ece'] * 100:.2f} %** after (cross-fitted, "
                  f"{ECE_BINS} bins; [reliability plot](reliability.png))"]
        exposure = card.get("outlier_exposure")
        if exposure:
            lines.append(f"- Outlier exposure: {exposure['epochs']:g} more epochs from model "
                         f"`{exposure['base_model']}` with {exposure['images']} crops of photos of "
                         f"other things ({exposure['source']}, held-out categories excluded) trained "
                         f"towards uniform probabilities (weight {exposure['weight']:g})")
        if card.get("not_sure_threshold") is not None:
            lines.append(f"- \"Not sure\" below a top-1 probability of "
                         f"**{card['not_sure_threshold']:.3f}** ({card.get('not_sure_source', '')})")
    lines += ["", "## Hyper-parameters", "", "```json", json.dumps(card.get("params", {}), indent=2),
              "```", "", "## Intended use and limits", "", card.get("limits", ""), ""]
    md_path = folder / f"{stem}.md"
    md_path.write_text("\n".join(lines))
    return json_path, md_path
