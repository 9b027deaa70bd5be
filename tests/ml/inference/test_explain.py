"""The occlusion map (ml/inference/explain.py), on a stand-in model whose answer one corner decides."""

import numpy as np
import pytest

from ml.inference.explain import occlusion_map


class TopLeftModel:
    """A stand-in whose class "a" is as probable as the top-left 8x8 corner is bright."""

    classes = ("a", "b")

    def predict_prepared(self, x):
        p = x[:, :8, :8, :].mean(axis=(1, 2, 3)) * 0.8 + 0.1
        return np.stack([p, 1 - p], axis=1)


def test_the_map_points_at_the_part_of_the_picture_that_decides():
    picture = np.ones((1, 32, 32, 3), np.float32)
    result = occlusion_map(TopLeftModel(), picture)
    heatmap = np.array(result["heatmap"])
    assert result["label"] == "a" and result["probability"] == pytest.approx(0.9)
    assert heatmap.shape == (32, 32) and result["positions"] == 49
    assert heatmap[:8, :8].mean() > 0.1 and np.abs(heatmap[16:, 16:]).max() < 1e-6
    other = np.array(occlusion_map(TopLeftModel(), picture, label="b")["heatmap"])
    assert other[:8, :8].mean() < 0  # covering the corner makes "b" more likely
