"""The real-photo framings of validation images (ml/evaluation/shifts.py)."""

import numpy as np

from ml.evaluation.shifts import PHOTO_SIZE, SHIFTS, as_photo, shifted_scores
from ml.inference.preprocessing import image_to_array


def noise(seed=0):
    """32x32 random 2x2-pixel blocks: detail a photo of 32 px can hold."""
    blocks = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((2, 2, 1), dtype=np.uint8))


def sharp_pixels(photo) -> np.ndarray:
    """Where the photo has pixel-scale detail: a large difference to a neighbour."""
    grey = np.asarray(photo.convert("L"), dtype=float)
    edges = np.zeros_like(grey)
    edges[:, 1:] = np.abs(np.diff(grey, axis=1))
    return edges > 20


def test_as_a_photo_is_the_picture_enlarged_and_shrinks_back_to_it():
    image = noise()
    photo = as_photo(image, np.random.default_rng(0))
    assert photo.size == (PHOTO_SIZE, PHOTO_SIZE) and photo.mode == "RGB"
    back = image_to_array(photo, jpeg_quality=None).astype(int)
    assert np.mean(np.abs(back - image)) < 10  # Lanczos there and back: close, not exact


def test_a_small_subject_lands_somewhere_in_an_out_of_focus_frame():
    corners = set()
    for seed in range(6):
        photo = as_photo(noise(seed), np.random.default_rng(seed), subject=0.5)
        rows, cols = np.nonzero(sharp_pixels(photo))
        # The sharp subject is one square about half the frame wide; around it, nothing sharp.
        assert 0.35 * PHOTO_SIZE < np.ptp(rows) <= 0.5 * PHOTO_SIZE
        assert 0.35 * PHOTO_SIZE < np.ptp(cols) <= 0.5 * PHOTO_SIZE
        corners.add((rows.min() // 16, cols.min() // 16))
    assert len(corners) > 1  # at random places


def test_a_close_up_shows_only_the_centre_and_far_away_loses_the_detail():
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[8:24, 8:24] = (200, 30, 30)  # a red centre on black
    close = np.asarray(as_photo(image, np.random.default_rng(0), crop=0.5)).astype(int)
    # (Lanczos rings where the black just outside the crop meets its edge.)
    assert np.all(np.abs(close[24:-24, 24:-24] - (200, 30, 30)) < 8)

    checkerboard = np.indices((32, 32)).sum(axis=0) % 2 * 255
    image = np.repeat(checkerboard[..., None], 3, axis=2).astype(np.uint8)
    assert sharp_pixels(as_photo(image, np.random.default_rng(0))).mean() > 0.3
    far = np.asarray(as_photo(image, np.random.default_rng(0), detail=16)).astype(int)
    assert np.all(np.abs(far - 128) < 40)  # one-pixel squares blur into grey


def test_shifted_scores_frame_the_same_photos_for_the_same_seed(tiny_pipeline, patterns):
    _, _, images, names = patterns
    classes = list(tiny_pipeline.classes_)
    labels = np.array([classes.index(name) for name in names])
    scores = shifted_scores(tiny_pipeline, images, labels, batch_size=16)
    assert list(scores) == list(SHIFTS)
    for score in scores.values():
        assert 0 <= score["accuracy"] <= 1 and 0.25 <= score["confidence"] <= 1  # 4 classes
    assert shifted_scores(tiny_pipeline, images, labels, batch_size=16) == scores
    assert shifted_scores(tiny_pipeline, images, labels, seed=1, batch_size=16) != scores


def test_framed_takes_the_framings_in_turn():
    from ml.evaluation.shifts import FRAMINGS, framed

    images = np.stack([noise(seed) for seed in range(2 * len(FRAMINGS))])
    photos = framed(images)
    assert len(photos) == len(images) and {p.size for p in photos} == {(PHOTO_SIZE, PHOTO_SIZE)}
    assert [np.asarray(p).tobytes() for p in framed(images)] == [np.asarray(p).tobytes() for p in photos]
    for i, framing in enumerate(FRAMINGS):
        if "subject" not in framing:  # the framings that place nothing at random
            expected = as_photo(images[i], None, **framing)
            assert np.array_equal(np.asarray(photos[i]), np.asarray(expected))
