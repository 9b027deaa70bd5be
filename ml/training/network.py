"""The CNN, in Keras 3: airbench-style nets (Jordan, 2024, "94% on CIFAR-10 in 3.29 seconds").

    frozen 2x2 patch-whitening conv -> GELU
    3 x conv group                                                     widths e.g. 64/256/256
    global max pool -> linear (no bias) -> x 1/9

A conv group of depth 2 (airbench94) is conv3x3 -> maxpool2 -> BN -> GELU -> conv3x3 -> BN -> GELU;
depth 3 (airbench96) adds a third conv and a residual over the last two:
conv -> pool -> BN -> GELU = x0 -> conv -> BN -> GELU -> conv -> BN -> (+ x0) -> GELU.

The BatchNorms have no scale (only a bias), convs start as partial identities (Dirac init), and the
first layer is fixed to whiten 2x2 patches of the training images: together these let the
net train to ~94% in ~10 epochs. Imported only for training and export (it needs TensorFlow).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ml.inference.onnx_graph import BATCHNORM_EPSILON, LOGIT_SCALE

WHITEN_KERNEL = 2


def gelu(x):
    """Exact GELU written with erf: Keras' own uses erfc, which has no ONNX operator."""
    return 0.5 * x * (1.0 + keras.ops.erf(x * 0.7071067811865476))


def torch_like_uniform() -> keras.initializers.Initializer:
    """PyTorch's default conv/linear init, U(+-1/sqrt(fan_in)), which the airbench recipe assumes."""
    return keras.initializers.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")


def conv_group(x, width: int, bn_momentum: float, name: str, depth: int = 2):
    def conv_norm(x, i):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                          kernel_initializer=torch_like_uniform(), name=f"{name}_conv{i}")(x)
        if i == 1:
            x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        # Keras momentum weighs the running average: PyTorch's 0.4 is Keras' 0.6.
        return layers.BatchNormalization(momentum=bn_momentum, epsilon=BATCHNORM_EPSILON, scale=False,
                                         name=f"{name}_norm{i}")(x)

    x = layers.Activation(gelu, name=f"{name}_gelu1")(conv_norm(x, 1))
    if depth == 2:
        return layers.Activation(gelu, name=f"{name}_gelu2")(conv_norm(x, 2))
    shortcut = x
    x = layers.Activation(gelu, name=f"{name}_gelu2")(conv_norm(x, 2))
    x = layers.Add(name=f"{name}_residual")([conv_norm(x, 3), shortcut])
    return layers.Activation(gelu, name=f"{name}_gelu3")(x)


BLOCK_DEPTHS = (2, 3)


def build_network(widths=(64, 256, 256), n_classes: int = 10, image_size: int = 32,
                  bn_momentum: float = 0.6, seed: int = 0, block_depth: int = 2) -> keras.Model:
    if block_depth not in BLOCK_DEPTHS:
        raise ValueError(f"block_depth must be one of {BLOCK_DEPTHS}, got {block_depth!r}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Conv2D(2 * 3 * WHITEN_KERNEL**2, WHITEN_KERNEL, padding="valid", use_bias=True,
                      trainable=True, name="whiten")(inputs)
    x = layers.Activation(gelu, name="whiten_gelu")(x)
    for i, width in enumerate(widths, start=1):
        x = conv_group(x, width, bn_momentum, name=f"block{i}", depth=block_depth)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    x = layers.Dense(n_classes, use_bias=False, kernel_initializer=torch_like_uniform(),
                     name="head")(x)
    outputs = layers.Rescaling(LOGIT_SCALE, name="logits")(x)
    model = keras.Model(inputs, outputs, name="airbench_cnn")
    _dirac_init(model)
    return model


def _dirac_init(model: keras.Model) -> None:
    """The first in_channels filters of each 3x3 conv start as the identity (torch's dirac_)."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and layer.name != "whiten":
            kernel = np.array(layer.kernel.numpy())
            n = min(kernel.shape[2], kernel.shape[3])
            kernel[:, :, :, :n] = 0.0
            kernel[1, 1, np.arange(n), np.arange(n)] = 1.0
            layer.kernel.assign(kernel)


def init_whitening(model: keras.Model, images: np.ndarray, eps: float = 5e-4) -> None:
    """Set the frozen first layer to whiten 2x2 patches: eigenvectors of the patch covariance,
    scaled by 1/sqrt(eigenvalue), used with both signs (so the GELU after it loses nothing)."""
    k = WHITEN_KERNEL
    _, h, w, c = images.shape
    patches = np.stack([images[:, i:h - k + 1 + i, j:w - k + 1 + j, :]
                        for i in range(k) for j in range(k)], axis=3)  # n, h', w', k*k, c
    flat = patches.reshape(-1, k * k * c).astype(np.float64)
    covariance = flat.T @ flat / len(flat)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    filters = (eigenvectors / np.sqrt(eigenvalues + eps)).T  # (k*k*c, k*k*c): one filter per row
    filters = np.concatenate([filters, -filters]).reshape(-1, k, k, c)  # out, kh, kw, c
    whiten = model.get_layer("whiten")
    whiten.kernel.assign(filters.transpose(1, 2, 3, 0).astype(np.float32))
