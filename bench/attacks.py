"""Hostile uploads, generated in memory: small files that are huge or slow images.

Each is a valid image (or close enough that a decoder works through it) under the byte limits,
built by streaming zero rows through zlib, so generating one costs little memory and time.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# (bit depth, colour type) -> bytes per pixel, for the PNGs below
PNG_KINDS = {"L16": (16, 0, 2), "RGBA16": (16, 6, 8), "RGBA8": (8, 6, 4), "RGB8": (8, 2, 3)}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zeros_deflated(total: int, chunk: int = 1 << 20) -> bytes:
    """zlib stream of ``total`` zero bytes, compressed a megabyte at a time."""
    compressor, parts, block = zlib.compressobj(9), [], bytes(chunk)
    for start in range(0, total, chunk):
        parts.append(compressor.compress(block[:min(chunk, total - start)]))
    return b"".join(parts) + compressor.flush()


def png_zeros(width: int, height: int, kind: str = "RGBA8") -> bytes:
    """A complete, all-black PNG of width x height: tiny on disk, width x height in memory."""
    depth, colour, pixel_bytes = PNG_KINDS[kind]
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = _zeros_deflated((1 + width * pixel_bytes) * height)  # filter byte 0 + pixels per row
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + \
        _png_chunk(b"IEND", b"")


def tiff_zeros(width: int, height: int, sample_format: int = 3) -> bytes:
    """A deflate-compressed 32-bit greyscale TIFF (sample format 3: float, 2: signed int)."""
    body = _zeros_deflated(width * height * 4)
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 4, width), (257, 4, height), (258, 3, 32), (259, 3, 8), (262, 3, 1),
        (273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, len(body)), (339, 3, sample_format),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3
                                                     else struct.pack("<I", value))
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + len(body)) + body + ifd


def progressive_jpeg_scans(width: int, height: int, scans: int) -> bytes:
    """A progressive JPEG whose header claims width x height, followed by ``scans`` empty scans:
    libjpeg makes a pass over the whole coefficient buffer for each."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "grey").save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    sof = data.index(b"\xff\xc2")
    data = data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]
    sos = data.index(b"\xff\xda")
    header_length = struct.unpack(">H", data[sos + 2:sos + 4])[0]
    first_scan_header = data[sos:sos + 2 + header_length]
    return data[:sos] + first_scan_header * scans + b"\xff\xd9"


def encoded_blank(width: int, height: int, fmt: str, mode: str = "RGB", **options) -> bytes:
    """A blank image encoded by Pillow (for formats without a hand-written generator)."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, fmt, **options)
    return buffer.getvalue()


def noise_jpeg(approx_bytes: int, seed: int = 0) -> bytes:
    """A photo-sized JPEG of random noise, about ``approx_bytes`` long (noise barely compresses)."""
    import numpy as np

    side = int((approx_bytes / 1.23) ** 0.5)
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()
