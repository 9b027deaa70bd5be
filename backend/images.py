"""Uploaded bytes -> a PIL image the pipeline can take, or a precise client error.

The format is decided from the bytes (magic numbers), never from the file name or the declared
content type. Dimensions are checked from the header before any pixel is decoded, so a
decompression bomb costs nothing; big JPEGs decode at 1/2, 1/4 or 1/8 scale (``draft``), so a
12-megapixel photo decodes in a few milliseconds. Colour modes are left to the pipeline.
"""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import APIError

# Our own limit (MAX_IMAGE_PIXELS, checked from the header right after opening) replaces
# Pillow's global one, which would raise inside Image.open before we could report the size.
Image.MAX_IMAGE_PIXELS = None

# Pillow format names we accept; the JPEG opener also returns MPO, the multi-picture JPEG that
# many cameras write.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
ACCEPTED_TYPES = "JPEG, PNG, WebP, GIF, BMP or TIFF"
MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)
# Decode JPEGs at no less than this size: enough for an antialiased shrink to the network input.
DRAFT_SIZE = (256, 256)


def sniff_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower()


def decode_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Decode an upload. Raises APIError 415 (not an accepted image type) or 422 (corrupt,
    truncated, or more than ``max_pixels`` pixels)."""
    if not data:
        raise APIError(400, "empty_file", "The uploaded file is empty.")
    claimed = sniff_format(data)
    if claimed is None:
        kind = "SVG (vector) images are not supported" if _looks_like_svg(data) else \
            "This file is not an image we can read"
        raise APIError(415, "unsupported_media_type",
                       f"{kind}: upload a {ACCEPTED_TYPES} image.", {"accepted": ACCEPTED_TYPES})
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise APIError(422, "invalid_image", "The image has no pixels.")
        if width * height > max_pixels:
            raise _too_large(width, height, max_pixels)
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", DRAFT_SIZE)  # decode at a reduced scale: far less work
        image.seek(0)  # animated GIF/WebP, multi-page TIFF: the first frame
        image.load()
        # Cameras store rotation in EXIF: show the picture the way its owner sees it.
        image = ImageOps.exif_transpose(image)
    except APIError:
        raise
    except UnidentifiedImageError:
        raise APIError(422, "invalid_image", f"The file looks like {claimed} but cannot be "
                       "decoded: it is corrupt or not really an image.", {"format": claimed}) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, ZeroDivisionError, struct.error) as error:
        raise APIError(422, "invalid_image", f"The {claimed} image is corrupt or truncated "
                       f"({_reason(error)}).", {"format": claimed}) from None
    return image


def _too_large(width: int, height: int, max_pixels: int) -> APIError:
    return APIError(422, "image_too_large",
                    f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels; "
                    f"the limit is {max_pixels / 1e6:.0f} megapixels.",
                    {"width": width, "height": height, "max_pixels": max_pixels})


def _reason(error: Exception) -> str:
    text = str(error).strip().split("\n")[0][:120]
    return text or type(error).__name__
