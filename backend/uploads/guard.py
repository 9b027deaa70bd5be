"""The upload guard: what one upload may cost to decode, checked before any pixel is decoded.

Every upload has a decoding cost budget (``DecodeLimits``, from the settings), checked from the
header: pixels, memory (width x height x bytes per pixel of the decoded frame, and for JPEGs in
several scans the full-resolution coefficient buffer that libjpeg keeps), aspect ratio, and JPEG
scans (each scan is one more pass over the whole image). Before Pillow even opens the file, its
structure is counted (``backend.uploads.layout``: TIFF tag values, PNG chunks, GIF blocks, JPEG
markers), since Pillow parses it in Python, one entry at a time. A small file that is a huge image,
or a huge pile of entries, is refused in milliseconds, and what is accepted costs a bounded amount
of memory and time. The decoding itself is ``ml.images.decode_image``'s, as for training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from PIL import ExifTags, Image

from backend.uploads.layout import ENTRY_NAMES, read_layout
from ml.images import ImageRejected, decode_image, sniff_format

# Bytes per pixel that decoding and shrinking cost, by the mode Pillow decodes into (measured as
# peak memory; tests/backend/test_hostile_uploads.py and bench/hostile.py check them): Pillow keeps 3-band and
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


def decode_within_limits(data: bytes, limits: DecodeLimits = DecodeLimits(),
                         reserve: Callable[[int], AbstractContextManager] | None = None) -> Image.Image:
    """Decode an upload's bytes within ``limits``, or raise ImageRejected. ``reserve(nbytes)``, if
    given, is entered around the decoding with its estimated memory cost (a server shares a budget
    between threads)."""
    claimed = sniff_format(data)  # None: decode_image refuses it
    layout = read_layout(data, claimed, limits.max_file_entries)
    if layout.entries > limits.max_file_entries:
        raise ImageRejected("invalid_image",
                            f"The {claimed} file holds over {limits.max_file_entries:,} "
                            f"{ENTRY_NAMES[claimed]}; ordinary images hold far fewer.",
                            {"format": claimed, "max_file_entries": limits.max_file_entries})
    if layout.refusal:
        raise ImageRejected("invalid_image", f"The {claimed} file is laid out as no real image is: "
                            f"{layout.refusal}.", {"format": claimed})

    @contextmanager
    def admit(image: Image.Image, full_size: tuple[int, int]):
        """Between reading the header and decoding: the cost, checked, then reserved."""
        cost = decode_cost(image) + layout.buffer_bytes
        if image.format in ("JPEG", "MPO"):  # drafted: decode_cost is the reduced scale's
            _check_scans(data, limits)
            coefficients = _jpeg_coefficient_bytes(image, full_size) if layout.multiple_scans else 0
            cost = max(decode_cost(image), coefficients)
        _check_limits(full_size, cost, limits)
        _check_python_decoding(image, data)
        with reserve(cost) if reserve else nullcontext():
            yield

    try:
        return decode_image(data, admit)
    except ImageRejected as error:
        if error.code == "image_too_large" and not error.details:  # Pillow's own guard, in open
            error.details["max_pixels"] = limits.max_pixels
        raise


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


