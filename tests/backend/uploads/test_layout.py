"""A file's layout, read from its bytes before Pillow parses it (backend/uploads/layout.py): any
bytes are counted without failing, and text is measured at the width Pillow keeps it in."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.uploads.layout import read_layout
from bench import attacks
from bench.fixtures import encode
from tests.imagegen import gradient

VALID_FILES = {fmt: encode(gradient(), fmt) for fmt in ("JPEG", "PNG", "GIF", "TIFF")}
VALID_FILES["BigTIFF"] = encode(gradient(), "TIFF", big_tiff=True)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(VALID_FILES)), st.integers(0, 4000), st.binary(max_size=64))
def test_reading_a_layout_never_fails(name, cut, tail):
    """Any prefix of a real file, with anything after it: counted, never an exception."""
    data = VALID_FILES[name][:cut] + tail
    layout = read_layout(data, name.removeprefix("Big"), 1000)
    assert layout.entries >= 0




@pytest.mark.parametrize("part, refused", [
    ("translated keyword", True),  # 2.4 million characters with an emoji: 9.6 MB
    ("text", True),
    ("ascii text", False),  # 2.4 MB of plain XMP is kept at a byte a character
])
def test_png_text_counts_every_part_at_its_width(part, refused):
    wide = ("a" * 2_400_000 + "\N{GRINNING FACE}").encode()
    if part == "translated keyword":
        payload = b"XML:com.adobe.xmp\x00\x00\x00en\x00" + wide + b"\x00<x/>"
    else:
        text = wide if part == "text" else b"<x:xmpmeta>" + b" " * 2_400_000 + b"</x:xmpmeta>"
        payload = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + text
    assert bool(read_layout(attacks.png_with_chunks(b"iTXt", [payload]), "PNG", 65536).refusal) == refused


