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

import re
import struct
from dataclasses import dataclass

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
_EXIF_HEADER = b"Exif\x00\x00"
# Pillow joins a JPEG's EXIF segments by copying what it holds so far onto each new one: every
# 4 KB copied counts one entry.
_EXIF_COPY_BYTES_PER_ENTRY = 4096
_JPEG_FILL = re.compile(rb"\xff+")
# JPEG markers without a length field: TEM, RSTn, SOI, EOI.
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xDA)}
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_JPEG_SOS, _JPEG_DQT, _JPEG_APP1 = 0xDA, 0xDB, 0xE1


@dataclass(frozen=True)
class Layout:
    """``entries``: what Pillow's parser would walk through (counted up to the limit plus one).
    ``multiple_scans``: a JPEG whose coefficients come in several scans."""

    entries: int
    multiple_scans: bool = False


def read_layout(data: bytes, fmt: str, limit: int) -> Layout:
    """The layout of a file of format ``fmt`` (as ``ml.images.sniff_format`` names it). A file
    too damaged to follow is counted as far as it goes: its decoder will refuse it."""
    reader = {"TIFF": _tiff, "PNG": _png, "GIF": _gif, "JPEG": _jpeg, "WEBP": _webp}.get(fmt)
    return reader(data, limit) if reader else Layout(0)


def _tiff(data: bytes, limit: int) -> Layout:
    return Layout(_tiff_entries(data, limit))


def _tiff_entries(data: bytes, limit: int) -> int:
    """Entries of the first IFD (what Pillow reads when it opens a TIFF) and of the IFDs it points
    to, with their values: numeric ones, and strip and tile offsets of any type."""
    order = "<" if data[:2] == b"II" else ">"
    if data[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: 64-bit offsets and counts, 20-byte entries
        offset_format, count_format, entry_format, size, header = "Q", "Q", "HHQ", 20, 8
    else:
        offset_format, count_format, entry_format, size, header = "I", "H", "HHI", 12, 4
    if len(data) < header + 8:
        return 0
    offset_size, count_size = struct.calcsize(offset_format), struct.calcsize(count_format)
    entries, pending, seen = 0, list(struct.unpack_from(order + offset_format, data, header)), set()
    while pending and len(seen) < _TIFF_MAX_IFDS and entries <= limit:
        offset = pending.pop()
        if offset in seen or offset + count_size > len(data):
            continue  # no IFD there: Pillow refuses it, or skips it
        seen.add(offset)
        (count,) = struct.unpack_from(order + count_format, data, offset)
        entries += count
        position = offset + count_size
        end = min(len(data), position + size * count)  # the IFD's entries, as far as the file goes
        while entries <= limit and position + size <= end:
            tag, field_type, values = struct.unpack_from(order + entry_format, data, position)
            if field_type in _TIFF_NUMERIC_TYPES or tag in _TIFF_TILE_TAGS:
                entries += values
            if tag in _TIFF_SUB_IFD_TAGS:  # the IFD's offset is the value itself
                pending += struct.unpack_from(order + offset_format, data, position + size - offset_size)
            position += size
    return entries


def _exif_entries(payload: bytes, limit: int) -> int:
    """An EXIF block's entries: a TIFF structure, after an optional "Exif" header."""
    payload = payload.removeprefix(_EXIF_HEADER)
    return _tiff_entries(payload, limit) if payload[:4] in (b"II*\x00", b"MM\x00*") else 0


def _png(data: bytes, limit: int) -> Layout:
    """Chunks up to IEND (Pillow reads those after the image data too, for their text)."""
    position, entries = 8, 0
    while position + 8 <= len(data) and entries <= limit:
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4:position + 8]
        entries += 1
        if kind == b"IEND":
            break
        if kind == b"eXIf":
            entries += _exif_entries(data[position + 8:position + 8 + length], limit)
        position += 12 + length
    return Layout(entries)


def _gif(data: bytes, limit: int) -> Layout:
    """Extension sub-blocks and stray bytes before the first image (what Pillow reads to open)."""
    if len(data) < 13:
        return Layout(0)
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global palette
    entries = 0
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
        payload = data[position + 2:position + length]
        if marker in _JPEG_FRAMES:  # a layer for each 3 bytes, kept however many frames come
            components, progressive = data[position + 7], marker in _JPEG_PROGRESSIVE
            entries += len(payload) // 3
        elif marker == _JPEG_DQT:  # a list of 64 values for each table of 65 bytes or more
            entries += len(payload) // 65
        elif marker == _JPEG_APP1 and payload.startswith(_EXIF_HEADER):
            exif.append(payload.removeprefix(_EXIF_HEADER))
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
