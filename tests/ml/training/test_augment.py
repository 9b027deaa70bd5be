"""Reframing training pictures as photos (ml/training/augment.py)."""

from __future__ import annotations

import numpy as np


def test_rescaled_shrinks_the_picture_into_a_reflected_frame_or_enlarges_a_part_of_it():
    from ml.training.augment import rescaled, zoom

    ramp = np.broadcast_to(np.arange(32, dtype=np.float32)[None, None, :, None], (1, 32, 32, 3)).copy()
    # Half size, centred: the picture spans columns 8..23, sampled every 2 input pixels.
    half = rescaled(ramp, np.array([0.5]), np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(half[0, 5, 8:24, 0], 2 * np.arange(8, 24) - 15.5, atol=1e-5)
    np.testing.assert_allclose(half[0, 5, :8, 0], np.abs(2 * np.arange(8) - 15.5), atol=1e-5)  # mirrored
    left = rescaled(ramp, np.array([0.5]), np.array([[0.0, 0.0]]))  # top-left corner
    np.testing.assert_allclose(left[0, 0, :16, 0], 2 * np.arange(16) + 0.5, atol=1e-5)
    same = rescaled(ramp, np.array([1.0]), np.array([[0.3, 0.7]]))  # full size: unchanged
    np.testing.assert_allclose(same, ramp, atol=1e-5)
    # Twice the size: the frame shows half the picture, its left or its right half.
    big_left = rescaled(ramp, np.array([2.0]), np.array([[0.5, 0.0]]))
    np.testing.assert_allclose(big_left[0, 7, 1:31, 0], np.arange(1, 31) / 2 - 0.25, atol=1e-5)
    big_right = rescaled(ramp, np.array([2.0]), np.array([[0.5, 1.0]]))
    np.testing.assert_allclose(big_right[0, 7, 1:31, 0], 16 + np.arange(1, 31) / 2 - 0.25, atol=1e-5)

    # Reframing: the asked-for shares of the images change, and no other.
    images = np.random.default_rng(0).normal(size=(2000, 32, 32, 3)).astype(np.float32)
    for zoom_out, zoom_in in ((0.15, 0.0), (0.0, 0.15), (0.15, 0.15), (0.0, 0.0)):
        zoomed = images.copy()
        zoom(zoomed, zoom_out, zoom_in, np.random.default_rng(1))
        changed = ~np.isclose(zoomed, images, atol=1e-6).all(axis=(1, 2, 3))
        assert abs(changed.mean() - (zoom_out + zoom_in)) < 0.03


def test_zoom_out_puts_a_smaller_picture_anywhere_on_its_own_blurred_surround():
    from ml.training.augment import ZOOM_SMALLEST_SUBJECT, zoom

    # No frame line for the network to key on: a flat picture stays flat.
    flat = np.full((20, 32, 32, 3), 0.3, np.float32)
    zoom(flat, 1.0, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(flat, 0.3, atol=1e-5)

    # A sharp bright square (the subject) on black: shown smaller, and somewhere new each time.
    picture = np.zeros((32, 32, 3), np.float32)
    picture[12:20, 12:20] = 1.0
    images = np.repeat(picture[None], 300, axis=0)
    zoom(images, 1.0, 0.0, np.random.default_rng(0))
    sharp = images[..., 0] > 0.97  # the surround's copy of the square is blurred below this
    assert sharp.any(axis=(1, 2)).all()
    columns = [np.flatnonzero(s.any(axis=0)) for s in sharp]
    sides = np.array([np.ptp(c) + 1 for c in columns])
    assert sides.max() <= 8 and sides.min() <= 8 * ZOOM_SMALLEST_SUBJECT + 1
    assert np.ptp([c.mean() for c in columns]) > 10
    # Around it, the picture out of focus: its blurred square, not black, at the frame's centre
    # wherever the small copy is not.
    away = [i for i, c in enumerate(columns) if c.max() < 10 or c.min() > 22]
    assert away and all(0.5 < images[i, 16, 16, 0] < 0.97 for i in away)
