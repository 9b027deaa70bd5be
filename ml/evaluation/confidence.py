"""Honest confidence: temperature scaling, calibration error, the "Not sure" threshold, and how
well the confidence tells pictures of the 10 classes from pictures of anything else.

The confidence the app shows is the top-1 probability after temperature scaling. Temperature
scaling (Guo et al., 2017) divides the logits by one number fitted on held-out images: the ranking
of classes, and so the accuracy, is unchanged; only how sure the probabilities sound is corrected.
"""

from __future__ import annotations

import numpy as np

from ml.inference.cnn import softmax

# The page says "Not sure" below the threshold; it is chosen so that at most this share of
# pictures of the known classes get the note.
NOT_SURE_TARGET = 0.15
ECE_BINS = 15
# Resamples for the bootstrap intervals of the real-photo figures.
INTERVAL_RESAMPLES = 2000


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels)

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_z - scaled[np.arange(len(labels)), labels]))

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Expected calibration error and the per-bin figures of a reliability diagram."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            ece += inside.mean() * gap
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": int(inside.sum()),
                         "confidence": float(confidence[inside].mean()),
                         "accuracy": float(correct[inside].mean())})
    return {"ece": float(ece), "bins": rows}


def calibration_report(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Temperature for the whole held-out set, and ECE before and after scaling. The "after"
    figure is cross-fitted (each half scored with the temperature fitted on the other half), so it
    does not flatter the temperature with the data it was fitted on."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    temperature = fit_temperature(logits, labels)
    order = np.random.default_rng(0).permutation(len(labels))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    confidence = np.empty(len(labels))
    for scored, fitted in (halves, halves[::-1]):
        t = fit_temperature(logits[fitted], labels[fitted])
        confidence[scored] = softmax(logits[scored] / t).max(axis=1)
    correct = logits.argmax(axis=1) == labels
    before = reliability(softmax(logits).max(axis=1), correct)
    after = reliability(confidence, correct)
    return {"temperature": temperature, "ece_before": before["ece"], "ece": after["ece"],
            "bins": after["bins"], "bins_before": before["bins"], "n": len(labels)}


def not_sure_threshold(class_confidence: np.ndarray, target: float = NOT_SURE_TARGET) -> float:
    """The highest threshold that leaves at most ``target`` of class pictures below it."""
    return float(np.quantile(np.asarray(class_confidence, float), target, method="lower"))


def left_out_not_sure_rate(class_confidence: np.ndarray, target: float = NOT_SURE_TARGET) -> float:
    """The share of class pictures below the threshold that the others set (leave-one-out): what
    a threshold set on pictures like these says on new ones. On the pictures that set it the
    rate is at most ``target`` by construction."""
    confidence = np.asarray(class_confidence, float)
    return float(np.mean([confidence[i] < not_sure_threshold(np.delete(confidence, i), target)
                          for i in range(len(confidence))]))


def separation(known_confidence, other_confidence) -> float:
    """AUROC of the confidence as a score for "one of the classes" (1) vs "something else" (0)."""
    from sklearn.metrics import roc_auc_score

    known, other = np.asarray(known_confidence, float), np.asarray(other_confidence, float)
    labels = np.r_[np.ones(len(known)), np.zeros(len(other))]
    return float(roc_auc_score(labels, np.r_[known, other]))


def bootstrap_interval(statistic, *samples, level: float = 0.95) -> list[float] | None:
    """The percentile bootstrap interval of ``statistic(*samples)``, each sample resampled on its
    own (``scipy.stats.bootstrap``); None where a sample has fewer than two values. On 45 class
    photos one photo is ~2 points of accuracy: the interval says how far a figure can be trusted."""
    from scipy.stats import bootstrap

    samples = tuple(np.asarray(sample, float) for sample in samples)
    if min(len(sample) for sample in samples) < 2:
        return None
    result = bootstrap(samples, statistic, vectorized=False, n_resamples=INTERVAL_RESAMPLES,
                       confidence_level=level, method="percentile", random_state=0)
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def balanced_accuracy(*correct_by_class) -> float:
    """The mean of the per-class accuracies (each argument: one class's 0/1 results)."""
    return float(np.mean([np.mean(correct) for correct in correct_by_class]))
