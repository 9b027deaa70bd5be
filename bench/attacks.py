"""Hostile uploads, generated in memory: small files that are huge or slow images.

Each is a valid image (or close enough that a decoder works through it) under the byte limits,
built by streaming zero rows through zlib, so generating one costs little memory and time.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from backend.uploads.layout import gif_blocks_start
from bench.fixtures import encoded_blank

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


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A decompression bomb: a tiny 8-bit greyscale PNG that claims width x height pixels (the
    data of 16 rows, the rest missing)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress((b"\x00" + bytes(width)) * 16, 9)  # filter byte 0 + a row of black, 16 times
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


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


def noise_jpeg(approx_bytes: int, seed: int = 0) -> bytes:
    """A photo-sized JPEG of random noise, about ``approx_bytes`` long (noise barely compresses)."""
    import numpy as np

    side = int((approx_bytes / 1.23) ** 0.5)
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


# Files whose structure, not their pixels, is the attack: millions of entries that Pillow's
# parsers walk through one at a time in Python (backend/uploads/layout.py), or a decoder that does.

def _ifd(entries) -> bytes:
    """A little-endian TIFF IFD of (tag, type, count, value or offset) entries, no next IFD."""
    return (struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *entry) for entry in entries)
            + struct.pack("<I", 0))


def _ifd_size(entries: int) -> int:
    return 2 + 12 * entries + 4


def _tiff_data_at(entries: int) -> int:
    """Where what follows a TIFF's first IFD (of ``entries`` entries, at offset 8) begins."""
    return 8 + _ifd_size(entries)


def _tiff_file(entries, *data: bytes) -> bytes:
    """A little-endian TIFF: its first IFD at offset 8, ``data`` after it."""
    return b"II*\x00" + struct.pack("<I", 8) + _ifd(entries) + b"".join(data)


def tiff_strip_offsets(count: int, side: int = 64, field_type: int = 4) -> bytes:
    """An uncompressed side x side greyscale TIFF whose StripOffsets array lists ``count``
    entries (LONG, or ``field_type`` 1: BYTE), all pointing at the same strip: Pillow makes a
    decoding tile for each."""
    pixels_at = _tiff_data_at(8)
    offsets_at = pixels_at + side * side
    offset = struct.pack("<I", pixels_at) if field_type == 4 else bytes([pixels_at % 256])
    return _tiff_file([(256, 3, 1, side), (257, 3, 1, side), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                       (273, field_type, count, offsets_at), (278, 3, 1, 1), (279, 4, 1, side)],
                      bytes(side * side), offset * count)


def tiff_row_strips(width: int, height: int) -> bytes:
    """An uncompressed greyscale TIFF with a strip for every row: as many strips as a picture
    may have."""
    offsets_at = _tiff_data_at(9)
    counts_at = offsets_at + 4 * height
    data_at = counts_at + 4 * height
    offsets = struct.pack(f"<{height}I", *range(data_at, data_at + width * height, width))
    counts = struct.pack(f"<{height}I", *[width] * height)
    return _tiff_file([(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
                       (262, 3, 1, 1), (273, 4, height, offsets_at), (277, 3, 1, 1), (278, 4, 1, 1),
                       (279, 4, height, counts_at)], offsets, counts, bytes(width * height))


def tiff_overlapping_strips(strips: int = 10, width: int = 1024, rows: int = 2048) -> bytes:
    """An uncompressed greyscale TIFF of ``strips`` strips of ``rows`` rows, which start one byte
    apart in one strip's worth of data: Pillow reads each strip up to where the next begins, so a
    byte at a time."""
    offsets_at = _tiff_data_at(9)
    counts_at = offsets_at + 4 * strips
    data_at = counts_at + 4 * strips
    offsets = struct.pack(f"<{strips}I", *range(data_at, data_at + strips))
    counts = struct.pack(f"<{strips}I", *[width * rows] * strips)
    return _tiff_file([(256, 4, 1, width), (257, 4, 1, strips * rows), (258, 3, 1, 8), (259, 3, 1, 1),
                       (262, 3, 1, 1), (273, 4, strips, offsets_at), (277, 3, 1, 1), (278, 4, 1, rows),
                       (279, 4, strips, counts_at)], offsets, counts, bytes(width * rows))


def tiff_huge_tile(side: int = 16, tile: int = 16384) -> bytes:
    """A deflated side x side greyscale TIFF stored as one tile x tile tile: libtiff inflates the
    whole tile."""
    body = _zeros_deflated(tile * tile)
    return _tiff_file([(256, 3, 1, side), (257, 3, 1, side), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
                       (277, 3, 1, 1), (322, 4, 1, tile), (323, 4, 1, tile), (324, 4, 1, _tiff_data_at(10)),
                       (325, 4, 1, len(body))], body)


def exif_fractions(count: int) -> bytes:
    """An EXIF block (a TIFF structure) whose orientation tag holds ``count`` fractions (RATIONAL):
    Pillow unpacks them all when the decoder reads the orientation."""
    return _tiff_file([(0x0112, 5, count, _tiff_data_at(1))], bytes(8 * count))


def tiff_exif_fractions(count: int, side: int = 64, pointer_type: int = 4) -> bytes:
    """An uncompressed TIFF whose Exif IFD holds one tag of ``count`` fractions: Pillow unpacks
    it after decoding. ``pointer_type`` 3: the IFD's offset is a SHORT (the field's other two
    bytes not zero)."""
    pixels_at = _tiff_data_at(8)
    exif_at = pixels_at + side * side
    pointer = exif_at if pointer_type == 4 else exif_at | 0xFFFF0000
    sub = _ifd([(0x829A, 5, count, exif_at + _ifd_size(1))])  # ExposureTime
    return _tiff_file([(256, 3, 1, side), (257, 3, 1, side), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                       (273, 4, 1, pixels_at), (279, 4, 1, side * side), (34665, pointer_type, 1, pointer)],
                      bytes(side * side), sub, bytes(8 * count))


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg_with(segments: bytes) -> bytes:
    """A small blank JPEG with ``segments`` right after its start marker."""
    jpeg = encoded_blank(64, 64, "JPEG")
    return jpeg[:2] + segments + jpeg[2:]


def jpeg_after_app0(jpeg: bytes) -> int:
    """Where the segment after a JPEG's first one (its APP0, as Pillow writes it) begins."""
    return 4 + struct.unpack(">H", jpeg[4:6])[0]


_PNG_AFTER_HEADER = 8 + 25  # the signature and IHDR


def _png_with(chunks: bytes) -> bytes:
    """A small blank PNG with ``chunks`` right after its header."""
    png = encoded_blank(64, 64, "PNG")
    return png[:_PNG_AFTER_HEADER] + chunks + png[_PNG_AFTER_HEADER:]


def jpeg_exif_segments(count: int, size: int = 64) -> bytes:
    """A small JPEG with ``count`` EXIF segments of ``size`` bytes: Pillow joins each to a copy of
    those before it."""
    return _jpeg_with(_jpeg_segment(0xE1, b"Exif\x00\x00" + bytes(size)) * count)


def jpeg_frame_headers(count: int) -> bytes:
    """A small JPEG with ``count`` extra frame headers (SOF0), each 64 KB of component entries
    (its count says 3): Pillow keeps a layer for every 3 bytes of every one."""
    return _jpeg_with(_jpeg_segment(0xC0, struct.pack(">BHHB", 8, 64, 64, 3) + bytes([1, 0x11, 0]) * 21_842)
                      * count)


def png_text_exif(count: int) -> bytes:
    """A small PNG with a text chunk named "exif" (which Pillow takes for EXIF) of ``count``
    fractions."""
    return _png_with(_png_chunk(b"tEXt", b"exif\x00" + exif_fractions(count)))


def png_raw_profile_exif(count: int) -> bytes:
    """A small PNG with a text chunk "Raw profile type exif" (EXIF in hex, as ImageMagick writes
    it) whose orientation holds ``count`` fractions."""
    exif = exif_fractions(count)
    text = b"\nexif\n%d\n" % len(exif) + exif.hex().encode()
    return _png_with(_png_chunk(b"tEXt", b"Raw profile type exif\x00" + text))


def png_compressed_texts(count: int) -> bytes:
    """A small PNG with ``count`` compressed text chunks of a megabyte each when inflated."""
    return _png_with(_png_chunk(b"zTXt", b"comment\x00\x00" + _zeros_deflated(1 << 20)) * count)


def png_wide_texts(count: int, flag: int = 1) -> bytes:
    """A small PNG with ``count`` compressed international text chunks (compression ``flag``:
    Pillow inflates any but 0), each a megabyte of text when inflated with one emoji at its end
    (Python then keeps it at 4 bytes a character), each under a keyword of its own (Pillow keeps
    one text per keyword)."""
    deflated = zlib.compress(("a" * ((1 << 20) - 4) + "\N{GRINNING FACE}").encode(), 9)
    return png_with_chunks(b"iTXt", [b"comment%d\x00%c\x00\x00\x00" % (i, flag) + deflated
                                     for i in range(count)])


def png_with_chunks(kind: bytes, payloads: list[bytes]) -> bytes:
    """A small PNG with a ``kind`` chunk of each payload after its header."""
    return _png_with(b"".join(_png_chunk(kind, payload) for payload in payloads))


def png_exif_fractions(count: int) -> bytes:
    """A small PNG whose eXIf chunk holds one tag of ``count`` fractions."""
    return _png_with(_png_chunk(b"eXIf", exif_fractions(count)))


def gif_comment_blocks(count: int) -> bytes:
    """A small GIF with ``count`` one-byte comment extensions before its image."""
    gif = encoded_blank(64, 64, "GIF", "P")
    image_at = gif_blocks_start(gif)
    return gif[:image_at] + b"\x21\xfe\x01A\x00" * count + gif[image_at:]


def jpeg_fill_bytes(count: int) -> bytes:
    """A small JPEG with ``count`` 0xFF fill bytes after its first segment (legal before any
    marker): Pillow's marker parser skips them one at a time."""
    jpeg = encoded_blank(64, 64, "JPEG")
    after_app0 = jpeg_after_app0(jpeg)
    return jpeg[:after_app0] + b"\xff" * count + jpeg[after_app0:]


def png_empty_chunks(count: int) -> bytes:
    """A small PNG with ``count`` empty private chunks before its image data."""
    return _png_with(_png_chunk(b"prIv", b"") * count)


def _rle8_bmp(width: int, height: int, codes: bytes, profile: bytes = b"") -> bytes:
    """An 8-bit RLE BMP of width x height whose pixel data is ``codes``; with a ``profile``, its
    header is a V5 one with that ICC profile after the codes."""
    palette = bytes(4 * 256)
    header = struct.pack("<IiiHHIIiiII", 124 if profile else 40, width, height, 1, 8, 1, len(codes),
                         2835, 2835, 256, 0)
    if profile:  # masks, colour space 'MBED', endpoints, gammas, intent, profile offset and size
        profile_at = 124 + len(palette) + len(codes)  # from the header's start
        header += bytes(16) + b"DEBM" + bytes(36 + 12) + struct.pack("<IIII", 4, profile_at, len(profile), 0)
    start = 14 + len(header) + len(palette)
    return (b"BM" + struct.pack("<IHHI", start + len(codes) + len(profile), 0, 0, start) + header + palette
            + codes + profile)


def bmp_rle_end_of_lines(width: int, height: int) -> bytes:
    """An 8-bit RLE BMP of width x height, each row one pixel and an end-of-line: Pillow's RLE
    decoder (written in Python) pads the rest of every row one byte at a time."""
    return _rle8_bmp(width, height, b"\x01\x12\x00\x00" * height + b"\x00\x01")


def bmp_rle_no_op_codes(count: int, side: int = 16, profile: bytes = b"") -> bytes:
    """A side x side RLE8 BMP whose data starts with ``count`` end-of-line codes that end no row:
    Pillow's RLE decoder (Python) reads every one, and they draw nothing. With a ``profile``, the
    header is a V5 one with that ICC profile after the codes."""
    rows = (bytes([side, 7]) + b"\x00\x00") * side
    return _rle8_bmp(side, side, b"\x00\x00" * count + rows + b"\x00\x01", profile)


def tiff_aliased_tags(tags: int, size: int, side: int = 64) -> bytes:
    """A deflated side x side greyscale TIFF with ``tags`` private tags of ``size`` bytes, all
    pointing at the same block: libtiff reads and keeps every one (Pillow stops at the file's
    size, libtiff does not)."""
    pixels = zlib.compress(bytes(side * side))
    entries = 9 + tags
    pixels_at = _tiff_data_at(entries)
    block_at = pixels_at + len(pixels)
    return _tiff_file([(256, 3, 1, side), (257, 3, 1, side), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
                       (273, 4, 1, pixels_at), (277, 3, 1, 1), (278, 4, 1, side), (279, 4, 1, len(pixels))]
                      + [(40000 + i, 7, size, block_at) for i in range(tags)], pixels, bytes(size))


def tiff_shared_strip(width: int, height: int, size: int = 1 << 20) -> bytes:
    """A PackBits greyscale TIFF with a strip for every row, all pointing at one ``size``-byte
    block of no-op codes ending in a row: libtiff decodes the whole block for each row."""
    row = b"".join(bytes([(257 - n) & 0xFF, 0]) for n in [128] * (width // 128) + [width % 128] if n)
    block = b"\x80" * (size - len(row)) + row
    offsets_at = _tiff_data_at(9)
    counts_at = offsets_at + 4 * height
    block_at = counts_at + 4 * height
    return _tiff_file([(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 32773),
                       (262, 3, 1, 1), (273, 4, height, offsets_at), (277, 3, 1, 1), (278, 4, 1, 1),
                       (279, 4, height, counts_at)],
                      struct.pack(f"<{height}I", *[block_at] * height),
                      struct.pack(f"<{height}I", *[len(block)] * height), block)


def jpeg_scan_per_component(width: int, height: int, components: int = 3) -> bytes:
    """A baseline JPEG of width x height, all coefficients zero, each colour component in a scan of
    its own: libjpeg keeps every coefficient of the full image until the last scan, as for a
    progressive JPEG."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a Huffman table: symbol 0 has the code '0'
    data = b"\xff\xd8" + _jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    data += _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, components)
                    + b"".join(bytes([c + 1, 0x11, 0]) for c in range(components)))
    data += _jpeg_segment(0xC4, b"\x00" + one_code) + _jpeg_segment(0xC4, b"\x10" + one_code)
    blocks = -(-width // 8) * -(-height // 8)
    scan = bytes(-(-2 * blocks // 8))  # per block, DC difference 0 and end of block: 2 bits
    for c in range(components):
        data += _jpeg_segment(0xDA, bytes([1, c + 1, 0x00, 0x00, 0x3F, 0x00])) + scan
    return data + b"\xff\xd9"


# Small files that each limit on a file's structure refuses in milliseconds
# (tests/backend/test_hostile_uploads.py asserts it against the production server;
# python -m bench.hostile measures it): name -> (file name, bytes). Without those limits each
# cost a worker seconds or hundreds of MB.
STRUCTURE_ATTACKS = {
    "TIFF, 2.6 million strip offsets (10 MB)": ("x.tif", lambda: tiff_strip_offsets(2_600_000)),
    "GIF, 2 million comment blocks (10 MB)": ("x.gif", lambda: gif_comment_blocks(2_000_000)),
    "JPEG, 10 MB of fill bytes": ("x.jpg", lambda: jpeg_fill_bytes(10_000_000)),
    "PNG, 870,000 empty chunks (10 MB)": ("x.png", lambda: png_empty_chunks(870_000)),
    "RLE BMP 14000x797, every row ended early (4 KB)": ("x.bmp", lambda: bmp_rle_end_of_lines(14000, 797)),
    "baseline JPEG 6324x6324, a scan per component (630 KB)": (
        "x.jpg", lambda: jpeg_scan_per_component(6324, 6324, 4)),
    "TIFF, 2.6 million strip offsets typed BYTE (2.6 MB)": (
        "x.tif", lambda: tiff_strip_offsets(2_600_000, field_type=1)),
    "TIFF, an Exif IFD of 1.25 million fractions (10 MB)": ("x.tif", lambda: tiff_exif_fractions(1_250_000)),
    "PNG, an eXIf chunk of 1.25 million fractions (10 MB)": ("x.png", lambda: png_exif_fractions(1_250_000)),
    "PNG, 63 text chunks of 1 MB with an emoji, compressed (67 KB)": ("x.png", lambda: png_wide_texts(63)),
    "JPEG, 62,500 EXIF segments of 64 bytes (4.5 MB)": ("x.jpg", lambda: jpeg_exif_segments(62_500)),
    "JPEG, 150 frame headers of 64 KB (9.8 MB)": ("x.jpg", lambda: jpeg_frame_headers(150)),
    "TIFF 1024x20480, 10 strips of 2 MB, one byte apart (2 MB)": ("x.tif", lambda: tiff_overlapping_strips()),
    "TIFF 16x16 in one 16384x16384 tile (260 KB)": ("x.tif", lambda: tiff_huge_tile()),
    "TIFF, an Exif IFD of 1.25 million fractions, its offset a SHORT (10 MB)": (
        "x.tif", lambda: tiff_exif_fractions(1_250_000, pointer_type=3)),
    "TIFF, 30 tags of 9 MB, all one block, deflated (9 MB)": (
        "x.tif", lambda: tiff_aliased_tags(30, 9_000_000)),
    "TIFF 1000x4000 PackBits, every row's strip one 1 MB block (1 MB)": (
        "x.tif", lambda: tiff_shared_strip(1000, 4000)),
    "RLE BMP 16x16, 4.9 million end-of-line codes (9.8 MB)": (
        "x.bmp", lambda: bmp_rle_no_op_codes(4_900_000)),
}
