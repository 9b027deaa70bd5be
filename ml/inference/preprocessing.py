"""Image preprocessing: any picture in, the network's input out.

This transformer is the only place where images become tensors. It lives inside the pickled
Pipeline, so training, evaluation and the web server all run the very same code.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# Transparent pixels are shown on white, as a browser would show them on the page.
_BACKGROUND = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB, compositing transparency on white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        # Palette images may carry transparency in their info dict; RGBA keeps it.
        image = image.convert("RGBA")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything above 255 to white.
        # Integer arithmetic in the image's own width: no float copy of the frame.
        array = np.asarray(image)
        if array.size and array.max() > 255:
            array = array // 257  # 0..65535 -> 0..255
        image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    if image.mode == "F":
        array = np.nan_to_num(np.asarray(image, dtype=np.float32))
        low, high = float(array.min(initial=0.0)), float(array.max(initial=1.0))
        array -= low
        array *= 255 / (high - low or 1.0)
        image = Image.fromarray(array.astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def center_square(image: Image.Image) -> Image.Image:
    """Crop the largest centred square: CIFAR photos are square with the object in the middle."""
    width, height = image.size
    if width == height:
        return image
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


# The CIFAR-10 training images are JPEGs of quality 75 with 4:2:0 chroma subsampling: the network
# learned on their blur, blocks and halved colour resolution. A photo shrunk to 32x32 by us is
# cleaner than anything it has seen, so it is given the same encoding (which leaves pictures of the
# network's size unchanged; docs/experiments/ has what it gained on real photos).
TRAINING_JPEG_QUALITY = 75


def as_training_jpeg(image: Image.Image, quality: int = TRAINING_JPEG_QUALITY) -> Image.Image:
    """``image`` after a round trip through JPEG as the training images were encoded."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling="4:2:0")
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def image_to_array(image, image_size: int = 32,
                   jpeg_quality: int | None = TRAINING_JPEG_QUALITY) -> np.ndarray:
    """One picture (PIL image, or uint8 array HxW / HxWxC) -> uint8 array (size, size, 3).

    Downscaling is antialiased (Lanczos after a fast box reduction for large images), so a
    12-megapixel photo costs a few milliseconds and does not alias; a picture this function
    shrinks is then JPEG-encoded like the training images (``jpeg_quality``; None: not). A
    picture already of the network's size is used as it is.
    """
    if isinstance(image, np.ndarray):
        if image.shape == (image_size, image_size, 3) and image.dtype == np.uint8:
            return image  # already network-sized: the serving fast path for CIFAR-like inputs
        image = _array_to_image(image)
    elif not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    image = center_square(to_rgb(image))
    if image.size != (image_size, image_size):
        image = image.resize(
            (image_size, image_size), Image.Resampling.LANCZOS, reducing_gap=3.0
        )
        if jpeg_quality:
            image = as_training_jpeg(image, jpeg_quality)
    return np.asarray(image, dtype=np.uint8)


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image array HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and array.max() <= 1.0:
            array = array * 255.0  # floats in [0, 1], as matplotlib and skimage produce
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def images_to_array(images, image_size: int = 32,
                    jpeg_quality: int | None = TRAINING_JPEG_QUALITY) -> np.ndarray:
    """Many pictures -> uint8 array (n, size, size, 3)."""
    if (isinstance(images, np.ndarray) and images.dtype == np.uint8
            and images.shape[1:] == (image_size, image_size, 3)):
        return images
    if isinstance(images, Image.Image) or (isinstance(images, np.ndarray) and images.ndim < 4
                                           and images.dtype != object):
        raise ValueError("expected a sequence of images; wrap a single image in a list")
    if not isinstance(images, Iterable):
        raise TypeError(f"expected a sequence of images, got {type(images).__name__}")
    arrays = [image_to_array(image, image_size, jpeg_quality) for image in images]
    if not arrays:
        return np.empty((0, image_size, image_size, 3), dtype=np.uint8)
    return np.stack(arrays)


class ImagePreprocessor(TransformerMixin, BaseEstimator):
    """Pictures of any size and mode -> float32 NHWC tensors, normalised per channel.

    Parameters
    ----------
    image_size : int
        Side of the square network input, in pixels.
    jpeg_quality : int or None
        Pictures this step shrinks are JPEG-encoded at this quality (4:2:0), as the training
        images were; None leaves them as shrunk.

    Attributes
    ----------
    mean_, std_ : ndarray of shape (3,)
        Per-channel statistics of the training pixels (0-255 scale), learned in ``fit``.
    """

    def __init__(self, image_size: int = 32, jpeg_quality: int | None = TRAINING_JPEG_QUALITY):
        self.image_size = image_size
        self.jpeg_quality = jpeg_quality

    def fit(self, X, y=None):
        pixels = images_to_array(X, self.image_size, self.jpeg_quality).reshape(-1, 3).astype(np.float64)
        if len(pixels) == 0:
            raise ValueError("cannot fit the preprocessor on zero images")
        self.mean_ = pixels.mean(axis=0).astype(np.float32)
        self.std_ = np.maximum(pixels.std(axis=0), 1.0).astype(np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, ("mean_", "std_"))
        pixels = images_to_array(X, self.image_size, self.jpeg_quality).astype(np.float32)
        return (pixels - self.mean_) / self.std_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
