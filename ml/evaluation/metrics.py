"""Accuracy, per-class precision/recall and the confusion matrix of a fitted pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def evaluate(pipeline, images, labels, classes, batch_size: int = 1000) -> dict:
    """``labels`` are indices into ``classes`` (the artifact's class order)."""
    predicted = np.concatenate([
        np.argmax(pipeline.predict_proba(images[i:i + batch_size]), axis=1)
        for i in range(0, len(images), batch_size)
    ]) if len(images) else np.empty(0, dtype=int)
    indices = np.arange(len(classes))
    precision, recall, _, support = precision_recall_fscore_support(
        labels, predicted, labels=indices, zero_division=0)
    return {
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else float("nan"),
        "n": len(labels),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]),
                   "support": int(support[i])}
            for i, name in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(labels, predicted, labels=indices).tolist(),
    }
