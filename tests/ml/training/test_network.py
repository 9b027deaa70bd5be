"""The Keras network (ml/training/network.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

def test_whitening_layer_whitens_image_patches():
    from ml.training.network import WHITEN_KERNEL, build_network, init_whitening

    rng = np.random.default_rng(0)
    # Smooth images with a little noise: a few strong patch directions and many faint ones.
    images = np.repeat(np.repeat(rng.normal(size=(64, 8, 8, 3)), 4, axis=1), 4, axis=2)
    images = (images + 0.01 * rng.normal(size=images.shape)).astype(np.float32)
    k = WHITEN_KERNEL
    patches = np.stack([images[:, i:32 - k + 1 + i, j:32 - k + 1 + j] for i in range(k)
                        for j in range(k)], axis=3).reshape(-1, k * k * 3).astype(np.float64)
    covariance = patches.T @ patches / len(patches)
    eigenvalues = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    for eps in (1e-6, 1e-2):
        model = build_network((8, 8, 8))
        init_whitening(model, images, eps=eps)
        kernel = model.get_layer("whiten").kernel.numpy().reshape(k * k * 3, -1).T[:k * k * 3]
        # Whitened patch variances are eigenvalue / (eigenvalue + eps), largest first.
        np.testing.assert_allclose(np.diag(kernel @ covariance @ kernel.T),
                                   eigenvalues / (eigenvalues + eps), rtol=1e-3, atol=1e-6)
