"""Bytes (an upload, a file) -> a PIL image the pipeline can take, or a precise reason why not.

The one way pictures enter the model: the web server, the command line and the data loader all
decode through ``decode_image`` (or ``load_image`` for a file).

The format is decided from the bytes (magic numbers), never from the file name or the declared
content type. Every upload has a decoding cost budget, checked from the header before any pixel is
decoded: pixels, memory (width x height x bytes per pixel of the decoded frame, and for JPEGs in several
scans the full-resolution coefficient buffer that libjpeg keeps), aspect ratio, and JPEG scans
(each scan is one more pass over the whole image). Before that, the file's structure is counted
(``ml.file_layout``: TIFF tag values, PNG chunks, GIF blocks, JPEG markers), since Pillow parses it
in Python, one entry at a time. A small file that is a huge image, or a huge pile of entries, is
refused in milliseconds, and what is accepted costs a bounded amount of memory and time.

Big JPEGs decode at 1/2, 1/4 or 1/8 scale (``draft``), so a 12-megapixel photo decodes in a few
milliseconds; other formats are shrunk (box filter) right after decoding to the same working size,
so colour conversion never runs on a full frame. The pipeline's own preprocessing takes it from
there. Colour modes are left to the pipeline.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from ml.file_layout import ENTRY_NAMES, read_layout

# iPhones save photos as HEIC: pillow-heif's wheel brings libheif, and registering it is how
# Pillow opens them (it turns them upright itself, and leaves their EXIF orientation at 1).
register_heif_opener()

# Our own limits are checked from the header right after opening. Pillow's process-wide guard
# (Image.MAX_IMAGE_PIXELS) stays on as a second line: it refuses absurd sizes inside Image.open,
# which is reported the same way.

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
# Bytes per pixel that decoding and shrinking cost, by the mode Pillow decodes into (measured as
# peak memory; tests/test_attacks.py and bench/hostile.py check them): Pillow keeps 3-band and
# 2-band images in 4 bytes a pixel; it premultiplies alpha into a second copy to resize; palette
# and bilevel images are expanded (to RGBA / L) before they can be shrunk; 16-bit greyscale is
# shrunk in place.
DECODE_BYTES_PER_PIXEL = {"1": 2, "L": 1, "P": 9, "PA": 9, "LA": 8, "La": 8, "RGBA": 8, "RGBa": 8,
                          "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
DEFAULT_BYTES_PER_PIXEL = 4
# Decoders that work in a buffer of their own before Pillow copies the pixels: libtiff decodes a
# strip into one (2 copies); libwebp's animation decoder keeps RGBA canvases (16 bytes a pixel).
FORMAT_COPIES = {"TIFF": 2}
WEBP_BYTES_PER_PIXEL = 16
# libheif decodes the HEVC frame to YCbCr planes, converts them to RGB, and pillow-heif copies
# that into Pillow's image: 7.7 bytes a pixel at the peak (3 and 12 megapixels measured), so a
# 12-megapixel iPhone photo (93 MB) fits the default decoding budget.
HEIF_BYTES_PER_PIXEL = 8
# Pillow decodes run-length encoded BMPs in Python, a run or a pixel at a time (RLE4 in runs of
# one pixel: 0.56 s a megapixel; 11 megapixels of end-of-line padding took 2.3 s), so they get a
# pixel limit of their own. Compression 1 and 2 are RLE8 and RLE4.
BMP_RLE_COMPRESSIONS = (1, 2)
BMP_RLE_MAX_PIXELS = 1_000_000
MIB = 1024 * 1024
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


@dataclass(frozen=True)
class DecodeLimits:
    """What one upload may cost to decode (see the module docstring; README "Limits")."""

    max_pixels: int = 40_000_000
    max_decode_bytes: int = 96 * MIB
    max_aspect_ratio: float = 20.0
    max_jpeg_scans: int = 64
    max_file_entries: int = 65_536

    @classmethod
    def from_config(cls, config) -> DecodeLimits:
        return cls(config["MAX_IMAGE_PIXELS"], config["MAX_DECODE_BYTES"],
                   config["MAX_ASPECT_RATIO"], config["MAX_JPEG_SCANS"], config["MAX_FILE_ENTRIES"])


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


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits(),
                 reserve: Callable[[int], AbstractContextManager] | None = None) -> Image.Image:
    """Decode a picture's bytes, or raise ImageRejected. ``reserve(nbytes)``, if given, is entered
    around the decoding with its estimated memory cost (a server shares a budget between threads)."""
    if not data:
        raise ImageRejected("empty_file", "The uploaded file is empty.")
    claimed = sniff_format(data)
    if claimed is None:
        kind = "SVG (vector) images are not supported" if _looks_like_svg(data) else \
            "This file is not an image we can read"
        raise ImageRejected("unsupported_media_type",
                       f"{kind}: upload a {ACCEPTED_TYPES} image.", {"accepted": ACCEPTED_TYPES})
    layout = read_layout(data, claimed, limits.max_file_entries)
    if layout.entries > limits.max_file_entries:
        raise ImageRejected("invalid_image",
                            f"The {claimed} file holds over {limits.max_file_entries:,} "
                            f"{ENTRY_NAMES[claimed]}; ordinary images hold far fewer.",
                            {"format": claimed, "max_file_entries": limits.max_file_entries})
    if layout.refusal:
        raise ImageRejected("invalid_image", f"The {claimed} file is laid out as no real image is: "
                            f"{layout.refusal}.", {"format": claimed})
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        size, cost = image.size, decode_cost(image) + layout.buffer_bytes
        if image.format in ("JPEG", "MPO"):
            _check_scans(data, limits)
            image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # decode at a reduced scale
            coefficients = _jpeg_coefficient_bytes(image, size) if layout.multiple_scans else 0
            cost = max(decode_cost(image), coefficients)
        _check_limits(size, cost, limits)
        _check_python_decoding(image, data)
        with reserve(cost) if reserve else nullcontext():
            image.seek(0)  # animated GIF/WebP, multi-page TIFF: the first frame
            image.load()
            # Cameras store rotation in EXIF: show the picture the way its owner sees it. Read
            # from the file: a shrunk copy of a TIFF no longer carries its tags. (pillow-heif has
            # turned a HEIC upright already; its EXIF, not counted by ml.file_layout, is not read.)
            orientation = None if image.format == "HEIF" else image.getexif().get(ExifTags.Base.Orientation)
            image = shrink(image)
        if orientation in EXIF_TRANSPOSE:
            image = image.transpose(EXIF_TRANSPOSE[orientation])
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("image_too_large", "The image has far more pixels than any photo "
                            f"(over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels).",
                            {"max_pixels": limits.max_pixels}) from None
    except UnidentifiedImageError:
        raise ImageRejected("invalid_image", f"The file looks like {claimed} but cannot be "
                       "decoded: it is corrupt or not really an image.", {"format": claimed}) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, ZeroDivisionError, struct.error) as error:
        raise ImageRejected("invalid_image", f"The {claimed} image is corrupt or truncated "
                       f"({_reason(error)}).", {"format": claimed}) from None
    return image


def load_image(path, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """A picture file, decoded exactly as an upload of its bytes would be."""
    return decode_image(Path(path).read_bytes(), limits)


def decode_cost(image: Image.Image) -> int:
    """Bytes that decoding and shrinking ``image`` take at their peak (from its header)."""
    width, height = image.size
    if image.format == "WEBP":
        return width * height * WEBP_BYTES_PER_PIXEL
    if image.format == "HEIF":
        return width * height * HEIF_BYTES_PER_PIXEL
    per_pixel = DECODE_BYTES_PER_PIXEL.get(image.mode, DEFAULT_BYTES_PER_PIXEL)
    copies = FORMAT_COPIES.get(image.format, 1)
    if image.format != "TIFF":
        return width * height * per_pixel * copies
    if image.tag_v2.get(ExifTags.Base.Orientation, 1) != 1:
        copies += 1  # Pillow turns a TIFF upright as it loads it: one more copy
    # libtiff's copy holds the samples as stored: 16-bit RGB is 6 bytes a pixel there, 4 in Pillow
    # (a 3400x3400 16-bit CMYK TIFF took 137 MB, not the 88 MB of two 4-byte copies).
    bits = image.tag_v2.get(258) or (8,)
    stored = math.ceil(sum(bits) / 8) if isinstance(bits, tuple) else math.ceil(bits / 8)
    return width * height * (per_pixel * copies + max(0, stored - per_pixel))


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


def _check_limits(size: tuple[int, int], cost: int, limits: DecodeLimits) -> None:
    width, height = size
    details = {"width": width, "height": height}
    if width <= 0 or height <= 0:
        raise ImageRejected("invalid_image", "The image has no pixels.")
    if width * height > limits.max_pixels:
        raise ImageRejected("image_too_large",
                       f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels; "
                       f"the limit is {limits.max_pixels / 1e6:.0f} megapixels.",
                       {**details, "max_pixels": limits.max_pixels})
    ratio = max(width, height) / min(width, height)
    if ratio > limits.max_aspect_ratio:
        raise ImageRejected("image_aspect_ratio",
                       f"The image is {width}x{height}, a {ratio:.0f}:1 strip; the model needs a "
                       f"picture no longer than {limits.max_aspect_ratio:g}:1.",
                       {**details, "max_aspect_ratio": limits.max_aspect_ratio})
    if cost > limits.max_decode_bytes:
        raise ImageRejected("image_too_large",
                       f"The image is {width}x{height} and would take {math.ceil(cost / MIB)} MB "
                       f"to decode; the limit is {limits.max_decode_bytes // MIB} MB. Save it "
                       "smaller, or as an 8-bit JPEG.",
                       {**details, "decode_bytes": cost, "max_decode_bytes": limits.max_decode_bytes})


def _check_scans(data: bytes, limits: DecodeLimits) -> None:
    # Every scan starts with an SOS marker (FF DA). Entropy-coded data never contains FF DA
    # (an FF there is always followed by 00 or a restart marker), so this count is exact but for
    # scans of an embedded thumbnail, which makes it an upper bound. Encoders write 1 scan
    # (baseline) or ~10 (progressive).
    scans = data.count(b"\xff\xda")
    if scans > limits.max_jpeg_scans:
        raise ImageRejected("invalid_image",
                       f"The JPEG has {scans} scans; at most {limits.max_jpeg_scans} are accepted "
                       "(a normal progressive JPEG has about 10).",
                       {"format": "JPEG", "scans": scans, "max_jpeg_scans": limits.max_jpeg_scans})


def _check_python_decoding(image: Image.Image, data: bytes) -> None:
    """Pillow decodes run-length encoded BMPs (the file ``data``) in Python, a code at a time."""
    width, height = image.size
    if image.format != "BMP" or image.info.get("compression") not in BMP_RLE_COMPRESSIONS:
        return
    if width * height > BMP_RLE_MAX_PIXELS:
        raise ImageRejected("image_too_large",
                            f"The image is a {width}x{height} run-length encoded BMP; those are "
                            f"accepted up to {BMP_RLE_MAX_PIXELS / 1e6:g} megapixel(s). Save it "
                            "as an uncompressed BMP, a PNG or a JPEG.",
                            {"width": width, "height": height, "max_pixels": BMP_RLE_MAX_PIXELS})
    # Every 2-byte code draws a pixel or more but for one end of line a row and the end; a jump
    # (4 bytes) skips one or more. More data than that is codes that draw nothing: 4.9 million
    # ends of line in a 16x16 BMP took 1.8 s. (A V5 header's ICC profile may follow the codes.)
    header_size = int.from_bytes(data[14:18], "little")
    profile = int.from_bytes(data[14 + 116:14 + 120], "little") if header_size >= 124 else 0
    if len(data) - image.tile[0][2] - profile > 4 * width * height + 2 * height + 16:
        raise ImageRejected("invalid_image", "The run-length encoded BMP holds more codes than its "
                            f"{width}x{height} pixels need.", {"format": "BMP"})


def _jpeg_coefficient_bytes(image, full_size: tuple[int, int]) -> int:
    """A JPEG in several scans (progressive, or baseline with components in scans of their own) is
    decoded by keeping every DCT coefficient of the full-resolution image (2 bytes each, per
    component at its own sampling) until the last scan, whatever the output scale: that, not the
    drafted output, is its memory cost."""
    layers = getattr(image, "layer", None) or [(None, 1, 1, None)] * 3
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    width, height = full_size
    return sum(math.ceil(width * layer[1] / h_max / 8) * math.ceil(height * layer[2] / v_max / 8)
               * 64 * 2 for layer in layers)


def _reason(error: Exception) -> str:
    text = str(error).strip().split("\n")[0][:120]
    return text or type(error).__name__
