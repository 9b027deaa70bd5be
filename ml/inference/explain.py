"""Why the model said what it said: occlusion sensitivity (Zeiler & Fergus, 2014).

A grey square (the training images' mean colour, 0 after normalisation) slides over the network's
32x32 input; wherever covering the picture lowers the probability of a class, that part of the
picture mattered for it. All positions go through the network in one batched call, so the cost is
fixed: ``positions`` x the views of one prediction (7 x 7 = 49 for the defaults).
"""

from __future__ import annotations

import numpy as np

PATCH = 8
STRIDE = 4


def occlusion_map(model, x: np.ndarray, label: str | None = None, patch: int = PATCH,
                  stride: int = STRIDE) -> dict:
    """``model``: an ``ml.inference.artifact.Model``; ``x``: one picture as the network takes it
    (``model.prepare(image)``, (1, h, w, 3), normalised). Returns the class explained (``label``,
    default the top one), its probability, and ``heatmap``: for every input pixel, how much covering
    it lowered that probability (averaged over the squares that covered it; negative: it helped)."""
    _, height, width, _ = x.shape
    base = model.predict_prepared(x)[0]
    target = int(np.argmax(base)) if label is None else list(model.classes).index(label)
    corners = occlusion_corners(height, width, patch, stride)
    occluded = np.repeat(x, len(corners), axis=0)
    for i, (top, left) in enumerate(corners):
        occluded[i, top:top + patch, left:left + patch, :] = 0.0
    drops = base[target] - model.predict_prepared(occluded)[:, target]
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for drop, (top, left) in zip(drops, corners):
        total[top:top + patch, left:left + patch] += drop
        count[top:top + patch, left:left + patch] += 1
    heatmap = total / np.maximum(count, 1)
    return {"label": model.classes[target], "probability": float(base[target]),
            "heatmap": np.round(heatmap, 5).tolist(), "patch": patch, "stride": stride,
            "positions": len(corners)}


def occlusion_corners(height: int, width: int, patch: int = PATCH, stride: int = STRIDE) -> list:
    """Where the grey square goes: (top, left) of each position."""
    return [(top, left) for top in range(0, height - patch + 1, stride)
            for left in range(0, width - patch + 1, stride)]
