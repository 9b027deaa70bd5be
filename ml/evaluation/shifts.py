"""Validation accuracy under the framings real photos have and CIFAR-10's do not.

CIFAR-10 photos are tight, centred crops, 32x32. Photos people take often show the subject small
and anywhere in the frame (a deer far off in a field), or close up (a horse's face), and are larger
than the network's input, so the pipeline shrinks them. Each shift below turns a validation image
into such a photo, ``PHOTO_SIZE`` pixels square, and the pipeline classifies it as it would an
upload. With 5,000 images per shift this is a steadier measure than the 45 dev photos of
``real-photos/known``, though only a proxy for them: the subject is still a CIFAR-10 subject.
The recipe's training zoom (``ml.training.loop.zoom``) reframes training images in a similar way,
so for a model trained with it part of the gain here is by construction: the dev photos remain the
independent check.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

PHOTO_SIZE = 128

# name -> how the subject is framed (the arguments of ``as_photo``).
SHIFTS = {
    "as a photo (4x larger, shrunk back)": {},
    "subject 60 % of the frame, anywhere": {"subject": 0.6},
    "subject 40 % of the frame, anywhere": {"subject": 0.4},
    "close-up (centre 70 % fills the frame)": {"crop": 0.7},
    "far and blurred (seen at 16 px)": {"detail": 16},
}


# The framings proper: all but "as a photo", which only changes the size.
FRAMINGS = [framing for framing in SHIFTS.values() if framing]


def framed(images: np.ndarray, seed: int = 0) -> list[Image.Image]:
    """Each image as a photo framed one of the ``FRAMINGS`` ways, taking them in turn."""
    rng = np.random.default_rng(seed)
    return [as_photo(image, rng, **FRAMINGS[i % len(FRAMINGS)]) for i, image in enumerate(images)]


def as_photo(image: np.ndarray, rng: np.random.Generator, *, subject: float = 1.0,
             crop: float = 1.0, detail: int | None = None) -> Image.Image:
    """A 32x32 uint8 ``image`` as a ``PHOTO_SIZE``-pixel photo: its centre ``crop`` share (of the
    side), seen at ``detail`` pixels, filling ``subject`` of the frame's side at a random place.
    Around a smaller subject is the picture itself, enlarged and out of focus: the colours of its
    own surroundings, with nothing sharp enough to be another subject; the subject's edges fade
    into it, as a photo has no frame round its subject for the network to find."""
    picture = Image.fromarray(image)
    side = picture.width
    if crop < 1:
        margin = side * (1 - crop) / 2
        picture = picture.resize((side, side), Image.Resampling.LANCZOS,
                                 box=(margin, margin, side - margin, side - margin))
    if detail:
        picture = picture.resize((detail, detail), Image.Resampling.LANCZOS)
    size = round(PHOTO_SIZE * subject)
    picture = picture.resize((size, size), Image.Resampling.LANCZOS)
    if size == PHOTO_SIZE:
        return picture
    frame = Image.fromarray(image).resize((PHOTO_SIZE, PHOTO_SIZE), Image.Resampling.BICUBIC)
    frame = frame.filter(ImageFilter.GaussianBlur(PHOTO_SIZE / 16))
    top, left = (int(v) for v in rng.integers(0, PHOTO_SIZE - size + 1, size=2))
    frame.paste(picture, (left, top), _feathered(size))
    return frame


def _feathered(size: int) -> Image.Image:
    """A paste mask: opaque inside, fading to transparent over the outer eighth of each side."""
    fade = max(1, size // 8)
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, (fade, fade, size - fade, size - fade))
    return mask.filter(ImageFilter.BoxBlur(fade / 2))


def shifted_scores(pipeline, images: np.ndarray, labels: np.ndarray, seed: int = 0,
                   batch_size: int = 500) -> dict[str, dict[str, float]]:
    """``{shift: {"accuracy", "confidence"}}`` over ``images`` (n, 32, 32, 3) with ``labels``
    (indices into the pipeline's classes); ``confidence`` is the mean top-1 probability, which an
    honest model lowers as its accuracy falls. The same ``seed`` frames the same photos."""
    rng = np.random.default_rng(seed)
    scores = {}
    for name, framing in SHIFTS.items():
        probabilities = np.concatenate([
            pipeline.predict_proba([as_photo(image, rng, **framing)
                                    for image in images[start:start + batch_size]])
            for start in range(0, len(images), batch_size)])
        scores[name] = {"accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
                        "confidence": float(np.mean(probabilities.max(axis=1)))}
    return scores
