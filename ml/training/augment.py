"""Training augmentation beyond airbench's flips and translations (those are in ``ml.training.loop``):
reframing CIFAR-10's tight crops as the photos people take, smaller and anywhere or close up."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

# How the zoom augmentation frames a picture (ml.evaluation.shifts frames validation images the same
# way to measure it; docs/experiments/ has what it gained).
ZOOM_SMALLEST_SUBJECT = 0.4  # side of a shrunk picture, as a share of the frame's side
ZOOM_TIGHTEST_CROP = 0.6  # side of the part a close-up shows, as a share of the picture's side
ZOOM_SURROUND_BLUR = 1 / 16  # Gaussian sigma of the surround, as a share of the side


def zoom(images: np.ndarray, zoom_out: float, zoom_in: float, rng: np.random.Generator,
         chunk: int = 4096) -> None:
    """Reframe, in place, a random share ``zoom_out`` of the images as photos with a smaller
    subject and another share ``zoom_in`` as close-ups.

    CIFAR-10 photos are framed tightly round their subject; photos people take often are not (a
    deer far off in a field, a bird small against the sky, a horse's face filling the frame), and
    those are what the model got wrong on real photos. A smaller picture (side 40 to 100 % of the
    frame) lands at a random place on the picture itself enlarged and out of focus, its edges
    faded into it: the surround has the colours of the scene but no second sharp subject, and no
    frame line for the network to key on. A close-up shows a random part (60 to 100 % of the side)
    of the picture, enlarged. Bilinear sampling."""
    size = images.shape[1]
    draw = rng.random(len(images))
    smaller = np.flatnonzero(draw < zoom_out)
    closer = np.flatnonzero((draw >= zoom_out) & (draw < zoom_out + zoom_in))
    shrink = rng.uniform(ZOOM_SMALLEST_SUBJECT, 1, size=len(smaller))
    enlarge = 1 / rng.uniform(ZOOM_TIGHTEST_CROP, 1, size=len(closer))
    # Where the picture lands in the frame, as a share of the free space (top, left); for a
    # close-up, which part of the picture the frame shows.
    place_smaller = rng.uniform(0, 1, size=(len(smaller), 2))
    place_closer = rng.uniform(0, 1, size=(len(closer), 2))
    sigma = size * ZOOM_SURROUND_BLUR
    for begin in range(0, max(len(smaller), len(closer)), chunk):
        part = slice(begin, begin + chunk)
        chosen = smaller[part]
        if len(chosen):
            subject = rescaled(images[chosen], shrink[part], place_smaller[part])
            weight = _feathered_mask(size, shrink[part], place_smaller[part])
            surround = gaussian_filter(images[chosen], sigma=(0, sigma, sigma, 0), mode="reflect")
            images[chosen] = weight * subject + (1 - weight) * surround
        chosen = closer[part]
        if len(chosen):
            images[chosen] = rescaled(images[chosen], enlarge[part], place_closer[part])


def _sampling_grid(size: int, scale: np.ndarray, place: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the input coordinates (rows, columns) that its output rows and columns
    sample when it is rescaled by ``scale`` at ``place`` (see ``rescaled``)."""
    window = size / scale  # the input span that the frame shows
    start = -place * (window - size)[:, None]
    grid = (np.arange(size) + 0.5)[None, :] * (window / size)[:, None] - 0.5
    return start[:, 0, None] + grid, start[:, 1, None] + grid


def rescaled(images: np.ndarray, scale: np.ndarray, place: np.ndarray) -> np.ndarray:
    """Each image rescaled by its ``scale`` in a frame of its own size, bilinear. Shrunk (< 1), it
    is put at ``place`` (top, left: 0 to 1 of the free space) and the rest filled by reflection;
    enlarged (> 1), the frame shows its part at ``place`` (0 to 1 of the part it cannot show)."""
    size = images.shape[1]
    ys, xs = _sampling_grid(size, scale, place)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    wy, wx = (ys - y0)[:, :, None, None], (xs - x0)[:, None, :, None]
    n = np.arange(len(images))[:, None, None]

    def pixels(y, x):
        return images[n, _reflect(y, size)[:, :, None], _reflect(x, size)[:, None, :]]

    top = pixels(y0, x0) * (1 - wx) + pixels(y0, x0 + 1) * wx
    bottom = pixels(y0 + 1, x0) * (1 - wx) + pixels(y0 + 1, x0 + 1) * wx
    return (top * (1 - wy) + bottom * wy).astype(images.dtype)


def _feathered_mask(size: int, scale: np.ndarray, place: np.ndarray) -> np.ndarray:
    """(n, size, size, 1) weights of the rescaled picture over its surround: 1 well inside it,
    falling to 0 across its outer eighth, 0 outside."""
    fade = size / 8

    def ramp(coordinates):  # distance inside the picture's edge, in input pixels, over the fade
        inside = np.minimum(coordinates + 0.5, size - 0.5 - coordinates)
        return np.clip(inside / fade, 0, 1)

    ys, xs = _sampling_grid(size, scale, place)
    return (ramp(ys)[:, :, None] * ramp(xs)[:, None, :])[..., None].astype(np.float32)


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Indices outside 0..size-1 mirrored back in (numpy's "reflect" padding: the edge once)."""
    period = 2 * (size - 1)
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)
