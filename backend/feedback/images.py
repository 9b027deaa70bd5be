"""What is kept of a picture sent as feedback: never the upload itself, but a JPEG of at most
STORED_SIDE pixels on its longer side, made from the decoded pixels alone. A phone photo's EXIF
(GPS coordinates, the camera, the time), XMP, comments and colour profile are all left behind."""

from __future__ import annotations

import io

from PIL import Image

from ml.inference.preprocessing import to_rgb

STORED_SIDE = 512  # pixels: 16 times the network's 32, room for any crop or augmentation to come
JPEG_QUALITY = 90


def stored_jpeg(image: Image.Image) -> bytes:
    """``image`` (decoded as /api/predict decodes it: upright, shrunk) as the JPEG that is stored."""
    rgb = to_rgb(image)  # transparency on the background the model sees it on
    rgb.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)  # only ever shrinks
    # A new image from the pixels: nothing of the upload's info (EXIF, XMP, ICC, comment) goes along.
    pixels = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    buffer = io.BytesIO()
    pixels.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()
