"""Bytes (an upload, a file) -> a PIL image the pipeline can take, or a precise reason why not.

The one way pictures enter the model: the web server, the command line and the data loader all
decode through ``decode_image`` (or ``load_image`` for a file), so training and serving see a
picture the same way: the first frame, turned upright as its EXIF orientation says, at a working
size of about 256 pixels. The format is decided from the bytes (magic numbers), never from the
file name or the declared content type.

Big JPEGs decode at 1/2, 1/4 or 1/8 scale (``draft``), so a 12-megapixel photo decodes in a few
milliseconds; other formats are shrunk (box filter) right after decoding to the same working size,
so colour conversion never runs on a full frame. The pipeline's own preprocessing takes it from
there. Colour modes are left to the pipeline.

Pillow's own guard (Image.MAX_IMAGE_PIXELS) refuses absurd sizes inside Image.open. The web server
checks far more before any pixel is decoded (``backend.uploads.guard``, through ``admit``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

# iPhones save photos as HEIC: pillow-heif's wheel brings libheif, and registering it is how
# Pillow opens them (it turns them upright itself, and leaves their EXIF orientation at 1).
register_heif_opener()

# Pillow format names we accept; the JPEG opener also returns MPO, the multi-picture JPEG that
# many cameras write.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF")
ACCEPTED_TYPES = "JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC"
# The ISO base media file brands of HEIF still pictures (HEIC from phones), at bytes 8-12.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
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
# Decode at no less than this size: enough for an antialiased shrink to the network input. JPEGs
# get it from libjpeg's scaled decoding, everything else from a box filter right after decoding.
WORKING_SIZE = 256
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}


class ImageRejected(ValueError):
    """Why a picture cannot be used: ``code`` (empty_file, unsupported_media_type, invalid_image,
    image_too_large, image_aspect_ratio), a message for people, and the figures behind it in ``details``."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


def sniff_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIF"
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower()


Admit = Callable[[Image.Image, tuple[int, int]], AbstractContextManager]


def decode_image(data: bytes, admit: Admit | None = None) -> Image.Image:
    """Decode a picture's bytes, or raise ImageRejected. ``admit(image, full_size)``, if given, is
    called once the header is read (a JPEG set to decode at its reduced scale; ``full_size`` its
    size before that), before any pixel is decoded: it may refuse the picture by raising, and is
    entered around the decoding (a server checks its limits and reserves the memory there)."""
    if not data:
        raise ImageRejected("empty_file", "The uploaded file is empty.")
    claimed = sniff_format(data)
    if claimed is None:
        kind = "SVG (vector) images are not supported" if _looks_like_svg(data) else \
            "This file is not an image we can read"
        raise ImageRejected("unsupported_media_type",
                            f"{kind}: upload a {ACCEPTED_TYPES} image.", {"accepted": ACCEPTED_TYPES})
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        full_size = image.size
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # decode at a reduced scale
        with admit(image, full_size) if admit else nullcontext():
            image.seek(0)  # animated GIF/WebP, multi-page TIFF: the first frame
            image.load()
            # Cameras store rotation in EXIF: show the picture the way its owner sees it. Read
            # from the file: a shrunk copy of a TIFF no longer carries its tags. (pillow-heif has
            # turned a HEIC upright already; its EXIF is not read.)
            orientation = None if image.format == "HEIF" else image.getexif().get(ExifTags.Base.Orientation)
            image = shrink(image)
        if orientation in EXIF_TRANSPOSE:
            image = image.transpose(EXIF_TRANSPOSE[orientation])
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("image_too_large", "The image has far more pixels than any photo "
                            f"(over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels).") from None
    except UnidentifiedImageError:
        raise ImageRejected("invalid_image", f"The file looks like {claimed} but cannot be "
                            "decoded: it is corrupt or not really an image.", {"format": claimed}) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, ZeroDivisionError, struct.error) as error:
        raise ImageRejected("invalid_image", f"The {claimed} image is corrupt or truncated "
                            f"({_reason(error)}).", {"format": claimed}) from None
    return image


def load_image(path) -> Image.Image:
    """A picture file, decoded exactly as an upload of its bytes would be."""
    return decode_image(Path(path).read_bytes())


def shrink(image: Image.Image, size: int = WORKING_SIZE) -> Image.Image:
    """Box-filter a decoded image down so that its shorter side is about ``size`` (never below
    it), as JPEG's scaled decoding does: later conversions and the pipeline's antialiased resize
    then work on a small copy. Palette and bilevel images are expanded first (no box filter
    exists for them); 16-bit greyscale is box-filtered in place."""
    width, height = image.size
    factor = min(width, height) // size
    if factor < 2:
        return image
    if image.mode == "P":
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    return image.resize((width // factor, height // factor), Image.Resampling.BOX)


def _reason(error: Exception) -> str:
    text = str(error).strip().split("\n")[0][:120]
    return text or type(error).__name__
