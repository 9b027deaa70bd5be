"""How an image file is laid out, read from its bytes before any decoder sees them.

Pillow parses the structure of a file in Python, at a cost for each entry it walks through: the
values of a TIFF's tag arrays (it makes one decoding tile per strip offset) and of EXIF blocks (a
TIFF structure inside a JPEG, PNG or WebP), PNG chunks, GIF extension blocks, and a JPEG's markers
with the stray and fill bytes between them (skipped one byte at a time), its frame components and
quantization tables, and its EXIF segments (joined by copying all of them so far, once for each).
A small file can hold millions of them. Measured on one worker (Pillow 13): 2.6 million strip
offsets in a 10 MB TIFF took 16 s and 650 MB, 2 million GIF comment blocks 350 MB, 10 MB of fill
bytes in a JPEG 4.8 s, 870,000 empty PNG chunks 2.4 s, 62,500 EXIF segments in a 4.5 MB JPEG
10.9 s, an EXIF orientation of 1.25 million fractions in a PNG 2.7 s and 212 MB (README, "Hostile
input"). ``read_layout`` counts them first, in time bounded by the limit (it stops counting past
it): ordinary images hold tens to a few thousand.

It also tells whether a JPEG's coefficients arrive in several scans: libjpeg then keeps every
coefficient of the full-resolution image in memory whatever the output scale, as it does for
progressive JPEGs. A baseline JPEG with one colour component per scan does that too.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from dataclasses import dataclass

from PIL.PngImagePlugin import MAX_TEXT_CHUNK

# What an entry is, in each format's own words (for the message that refuses a file).
ENTRY_NAMES = {"TIFF": "tag values", "PNG": "chunks and EXIF values",
               "GIF": "extension blocks and stray bytes", "WEBP": "EXIF values",
               "JPEG": "markers, stray and fill bytes, tables and EXIF values"}
# TIFF field types whose values Pillow unpacks one by one into Python numbers (BYTE, ASCII and
# UNDEFINED arrays stay one bytes object, however long)...
_TIFF_NUMERIC_TYPES = {3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 16, 17, 18}
# ... and the strip and tile offsets and byte counts, whatever their type: one decoding tile each.
_TIFF_TILE_TAGS = {273, 279, 324, 325}
# IFDs that tags point to and Pillow reads too: Exif, GPS, and Interoperability (in the Exif IFD).
_TIFF_SUB_IFD_TAGS = {34665, 34853, 40965}
_TIFF_MAX_IFDS = 8
# Pillow reads the entries of a TIFF's first IFD three times (opening, its EXIF, loading).
_TIFF_FIRST_IFD_READS = 3
_EXIF_HEADER = b"Exif\x00\x00"
# Pillow joins a JPEG's EXIF segments by copying what it holds so far onto each new one: every
# 4 KB copied counts one entry.
_EXIF_COPY_BYTES_PER_ENTRY = 4096
# Compressed PNG chunks (text, ICC profiles): Pillow inflates each, up to 1 MB, so each counts as
# many entries.
_PNG_INFLATED_CHUNKS = {b"zTXt", b"iTXt", b"iCCP"}
_PNG_INFLATED_CHUNK_ENTRIES = 1024
_PNG_EXIF_CHUNKS = {b"eXIf", b"tEXt", b"iTXt"}
# Pillow keeps the text of a PNG's text chunks as str (and an ICC profile as bytes), reading those
# before the image data as it opens the file. A str takes 4 bytes a character once it holds one
# character past U+FFFF (an emoji), 2 past U+00FF: 63 inflated iTXt chunks of 1 MB in a 67 KB file
# took a worker 256 MB, all before any decoding budget could be reserved. The text a file keeps is
# therefore measured first (inflated a chunk at a time, at most 1 MB each, as Pillow does) and
# bounded: real files carry kilobytes (XMP, comments), rarely a few megabytes of XMP history.
PNG_MAX_TEXT_BYTES = 8 * 1024 * 1024
# UTF-8 lead bytes of characters past U+FFFF, and of those past U+00FF.
_UTF8_WIDE = (re.compile(rb"[\xf0-\xf4]"), re.compile(rb"[\xc4-\xef]"))
_JPEG_FILL = re.compile(rb"\xff+")
# JPEG markers without a length field: TEM, RSTn, SOI, EOI.
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xDA)}
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_JPEG_SOS, _JPEG_DQT, _JPEG_APP1, _JPEG_APP13 = 0xDA, 0xDB, 0xE1, 0xED


@dataclass(frozen=True)
class Layout:
    """``entries``: what Pillow's parser would walk through (counted up to the limit plus one).
    ``multiple_scans``: a JPEG whose coefficients come in several scans."""

    entries: int
    multiple_scans: bool = False
    # A TIFF whose strips Pillow would read in ways no real file needs (why, for the message).
    refusal: str | None = None
    # Memory a decoder takes besides the picture: libtiff inflates each tile whole.
    buffer_bytes: int = 0


def read_layout(data: bytes, fmt: str | None, limit: int) -> Layout:
    """The layout of a file of format ``fmt`` (as ``ml.images.sniff_format`` names it; a format
    with no structure Pillow walks in Python, or None, has none). A file too damaged to follow is
    counted as far as it goes: its decoder will refuse it."""
    reader = {"TIFF": _tiff, "PNG": _png, "GIF": _gif, "JPEG": _jpeg, "WEBP": _webp}.get(fmt)
    return reader(data, limit) if reader else Layout(0)


def _tiff(data: bytes, limit: int) -> Layout:
    """Entries; tag values and strips or tiles that fit in the file, and no more strips or tiles
    than the picture needs; for an uncompressed TIFF (Pillow reads each strip or tile of those
    itself, in Python, a gap's worth of bytes at a time) none overlapping; for a tiled one, the
    tile buffer libtiff inflates."""
    entries, fields, value_bytes = _tiff_entries(data, limit)
    if entries > limit:
        return Layout(entries)
    # libtiff reads every tag's values, and keeps them, however many point at the same bytes
    # (30 tags of 9 MB at one place in a 9 MB file took 288 MB); Pillow stops at the file's size.
    if value_bytes > len(data):
        return Layout(entries, refusal="its tags' values add up to more bytes than the file holds")
    if not fields:
        return Layout(entries)

    def first(tag, default=0):
        return fields[tag][0] if fields.get(tag) else default

    width, height = first(256), first(257)
    samples = first(277, 1)
    planes = samples if first(284, 1) == 2 else 1
    tiled = 324 in fields
    pixel_bits = max(fields.get(258) or (1,)) * (samples if planes == 1 else 1)

    def row_bytes(pixels: int) -> int:
        return -(-pixels * pixel_bits // 8)

    if tiled:
        tile_width, tile_height = max(1, first(322, 1)), max(1, first(323, 1))
        needed = -(-width // tile_width) * -(-height // tile_height) * planes
        piece = buffer = row_bytes(tile_width) * tile_height
    else:
        rows = max(1, first(278, height) or height)
        needed, piece, buffer = -(-height // rows) * planes, row_bytes(width) * min(rows, height), 0
    offsets = sorted(fields.get(324 if tiled else 273) or ())
    what = "tiles" if tiled else "strips"
    if len(offsets) > needed:
        return Layout(entries, refusal=f"it lists {len(offsets):,} {what} for a picture that needs "
                                       f"{needed:,}", buffer_bytes=buffer)
    # Pillow reads an uncompressed TIFF's strips itself, each up to where the next begins.
    if first(259, 1) == 1 and any(following - start < piece
                                  for start, following in itertools.pairwise(offsets)):
        return Layout(entries, refusal=f"its {what} overlap", buffer_bytes=buffer)
    # libtiff decodes each strip or tile from its own byte count: strips that all point at one
    # megabyte of no-op codes cost a megabyte each (4,000 of them in a 1 MB file took 7 s).
    if sum(fields.get(325 if tiled else 279) or ()) > len(data):
        return Layout(entries, refusal=f"its {what} add up to more bytes than the file holds",
                      buffer_bytes=buffer)
    return Layout(entries, buffer_bytes=buffer)


# TIFF field types with integer values, and their struct codes.
_TIFF_INTEGER_CODES = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q", 18: "Q"}
# The first IFD's fields that ``_tiff`` reads: size, samples, strips and tiles, compression.
_TIFF_LAYOUT_TAGS = {256, 257, 258, 259, 273, 277, 278, 279, 284, 322, 323, 324, 325}
# Bytes of a value of each TIFF field type.
_TIFF_TYPE_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
                    16: 8, 17: 8, 18: 8}


def _tiff_values(data: bytes, order: str, field_type: int, count: int, at: int, inline: int,
                 offset_format: str) -> tuple:
    """The integer values of a field whose value (or its offset) is at ``at``; () if it has none
    the file holds."""
    code = _TIFF_INTEGER_CODES.get(field_type)
    if code is None or count < 1:
        return ()
    size = struct.calcsize(code) * count
    if size > inline:
        (at,) = struct.unpack_from(order + offset_format, data, at)
    if at + size > len(data):
        return ()
    return struct.unpack_from(f"{order}{count}{code}", data, at)


def _tiff_entries(data: bytes, limit: int) -> tuple[int, dict, int]:
    """Entries of the first IFD (what Pillow reads when it opens a TIFF) and of the IFDs it points
    to, with their values: numeric ones, and strip and tile offsets of any type. Also the first
    IFD's layout fields (tag -> integer values), and the bytes of its values stored apart from it
    (libtiff reads them all)."""
    order = "<" if data[:2] == b"II" else ">"
    if data[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: 64-bit offsets and counts, 20-byte entries
        offset_format, count_format, entry_format, size, header = "Q", "Q", "HHQ", 20, 8
    else:
        offset_format, count_format, entry_format, size, header = "I", "H", "HHI", 12, 4
    if len(data) < header + 8:
        return 0, {}, 0
    inline, count_size = struct.calcsize(offset_format), struct.calcsize(count_format)
    entries, pending, seen, fields = 0, list(struct.unpack_from(order + offset_format, data, header)), [], {}
    value_bytes = 0
    while pending and len(seen) < _TIFF_MAX_IFDS and entries <= limit:
        offset = pending.pop(0)
        if offset in seen or offset + count_size > len(data):
            continue  # no IFD there: Pillow refuses it, or skips it
        seen.append(offset)
        (count,) = struct.unpack_from(order + count_format, data, offset)
        entries += count * (_TIFF_FIRST_IFD_READS if not seen[1:] else 1)
        position = offset + count_size
        end = min(len(data), position + size * count)  # the IFD's entries, as far as the file goes
        while entries <= limit and position + size <= end:
            tag, field_type, values = struct.unpack_from(order + entry_format, data, position)
            if field_type in _TIFF_NUMERIC_TYPES or tag in _TIFF_TILE_TAGS:
                entries += values
            field_bytes = _TIFF_TYPE_BYTES.get(field_type, 1) * values
            if len(seen) == 1 and field_bytes > inline:
                value_bytes += field_bytes
            wanted = tag in _TIFF_SUB_IFD_TAGS or (len(seen) == 1 and tag in _TIFF_LAYOUT_TAGS)
            if wanted and entries <= limit:
                found = _tiff_values(data, order, field_type, values, position + size - inline, inline,
                                     offset_format)
                if tag in _TIFF_SUB_IFD_TAGS:
                    pending += found[:1]  # the IFD's offset, by the field's own type
                else:
                    fields[tag] = found
            position += size
    return entries, fields, value_bytes


def _exif_entries(payload: bytes, limit: int) -> int:
    """An EXIF block's entries: a TIFF structure, after an optional "Exif" header."""
    payload = payload.removeprefix(_EXIF_HEADER)
    return _tiff_entries(payload, limit)[0] if payload[:4] in (b"II*\x00", b"MM\x00*") else 0


def _png(data: bytes, limit: int) -> Layout:
    """Chunks up to IEND (Pillow reads those after the image data too, for their text), and the
    memory their text takes once Pillow has read it."""
    position, entries, text_bytes = 8, 0, 0
    while position + 8 <= len(data) and entries <= limit:
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4:position + 8]
        entries += 1
        if kind == b"IEND":
            break
        if kind in _PNG_TEXT_CHUNKS and text_bytes <= PNG_MAX_TEXT_BYTES:
            text_bytes += _png_text_bytes(kind, data, position + 8, min(position + 8 + length, len(data)))
        chunk = data[position + 8:position + 8 + length] if kind in _PNG_EXIF_CHUNKS else b""
        if kind == b"eXIf":
            entries += _exif_entries(chunk, limit)
        elif chunk:  # text: Pillow takes one named "exif", or an EXIF "raw profile" in hex, for EXIF
            keyword, _, text = chunk.partition(b"\x00")
            if keyword == b"exif" and kind == b"tEXt":
                entries += _exif_entries(text, limit)
            elif keyword == b"Raw profile type exif":
                entries += len(text) // 4  # at least 4 hex digits a value
        if kind in _PNG_INFLATED_CHUNKS:
            entries += _PNG_INFLATED_CHUNK_ENTRIES
        position += 12 + length
    if text_bytes > PNG_MAX_TEXT_BYTES:
        return Layout(entries, refusal=f"its text would take over {PNG_MAX_TEXT_BYTES // 1024**2} MB "
                                       "once read")
    return Layout(entries)


_PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"iCCP"}


def _png_text_bytes(kind: bytes, data: bytes, start: int, end: int) -> int:
    """The memory Pillow keeps the text chunk (or ICC profile) ``data[start:end]`` in: every part
    of it as a str, Latin-1 (1 byte a character) but for iTXt (UTF-8: up to 4), the compressed
    part inflated first (up to MAX_TEXT_CHUNK: Pillow refuses more)."""
    view = memoryview(data)  # slices of it are not copies
    keyword_end = data.find(b"\x00", start, end)
    if kind == b"tEXt" or keyword_end < 0:
        return end - start
    if kind != b"iTXt":  # zTXt, iCCP: keyword, NUL, compression method, compressed text
        return keyword_end - start + len(_inflated(view[keyword_end + 2:end]))
    # iTXt: keyword, NUL, compression flag, method, language, NUL, translated keyword, NUL, text;
    # Pillow inflates the text whenever the flag is not 0.
    compressed = keyword_end + 1 < end and data[keyword_end + 1] != 0
    language_end = data.find(b"\x00", keyword_end + 3, end)
    translated_end = data.find(b"\x00", language_end + 1, end) if language_end >= 0 else -1
    if translated_end < 0 or not compressed:
        return (end - start) * _utf8_width(view[start:end])
    head, text = view[start:translated_end + 1], _inflated(view[translated_end + 1:end])
    return len(head) * _utf8_width(head) + len(text) * _utf8_width(text)


def _inflated(compressed) -> bytes:
    """What Pillow inflates a compressed text to (up to MAX_TEXT_CHUNK), or nothing if it fails."""
    try:
        return zlib.decompressobj().decompress(compressed, MAX_TEXT_CHUNK + 1)[:MAX_TEXT_CHUNK]
    except zlib.error:
        return b""  # Pillow refuses it too


def _utf8_width(text) -> int:
    """Bytes a character of a str made of UTF-8 ``text``: 4, 2 or 1 (Python's compact strings)."""
    wide, wider = _UTF8_WIDE
    return 4 if wide.search(text) else 2 if wider.search(text) else 1


def gif_blocks_start(data: bytes) -> int:
    """Where a GIF's blocks begin: after its header, screen descriptor and global palette."""
    flags = data[10]
    return 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)


def _gif(data: bytes, limit: int) -> Layout:
    """Extension sub-blocks and stray bytes before the first image (what Pillow reads to open)."""
    if len(data) < 13:
        return Layout(0)
    position, entries = gif_blocks_start(data), 0
    while position < len(data) and entries <= limit:
        introducer = data[position]
        if introducer in b",;":  # the first image, or the end
            break
        if introducer != ord("!"):  # a stray byte, skipped one at a time
            position, entries = position + 1, entries + 1
            continue
        position += 2  # introducer and label, then sub-blocks up to an empty one
        while position < len(data) and entries <= limit:
            block = data[position]
            position, entries = position + 1 + block, entries + 1
            if not block:
                break
    return Layout(entries)


def _jpeg(data: bytes, limit: int) -> Layout:
    """Markers, stray bytes and fill bytes up to the first scan (where Pillow hands the file to
    libjpeg); the frame's components and the first scan's say whether there are several scans."""
    position, entries, components, progressive, scan_components = 2, 0, None, False, None
    exif, exif_bytes = [], 0
    while position < len(data) and entries <= limit:
        if data[position] != 0xFF:  # stray bytes up to the next marker
            following = data.find(b"\xff", position)
            following = len(data) if following < 0 else following
            entries += following - position
            position = following
            continue
        code_at = _JPEG_FILL.match(data, position).end()  # 0xFF, then fill bytes, then the code
        entries += code_at - position
        if code_at >= len(data):
            break
        marker, position = data[code_at], code_at + 1
        if marker in _JPEG_STANDALONE or marker == 0x00:
            continue
        if position + 8 > len(data):
            break  # no room for the segment: libjpeg refuses the file
        (length,) = struct.unpack_from(">H", data, position)
        payload_start = position + 2  # the segment's bytes after its length, as far as the file goes
        payload_length = max(0, min(position + length, len(data)) - payload_start)
        if marker in _JPEG_FRAMES:  # a layer for each 3 bytes, kept however many frames come
            components, progressive = data[position + 7], marker in _JPEG_PROGRESSIVE
            entries += payload_length // 3
        elif marker == _JPEG_DQT:  # a list of 64 values for each table of 65 bytes or more
            entries += payload_length // 65
        elif marker == _JPEG_APP13:  # Photoshop resources, 12 bytes or more each, walked one by one
            entries += payload_length // 12
        elif marker == _JPEG_APP1 and data.startswith(_EXIF_HEADER, payload_start):
            exif.append(data[payload_start + len(_EXIF_HEADER):payload_start + payload_length])
            exif_bytes += len(exif[-1])
            entries += exif_bytes // _EXIF_COPY_BYTES_PER_ENTRY
        elif marker == _JPEG_SOS:
            scan_components = data[position + 2]
            break
        position += length
    multiple = progressive or (None not in (components, scan_components) and scan_components < components)
    return Layout(entries + _exif_entries(b"".join(exif), limit), multiple_scans=multiple)


def _webp(data: bytes, limit: int) -> Layout:
    """The values of its EXIF chunk (libwebp reads the rest, in C)."""
    position, entries = 12, 0
    while position + 8 <= len(data) and entries <= limit:
        kind, (size,) = data[position:position + 4], struct.unpack_from("<I", data, position + 4)
        if kind == b"EXIF":
            entries += _exif_entries(data[position + 8:position + 8 + size], limit)
        position += 8 + size + (size & 1)
    return Layout(entries)
