"""What the tests and the benchmarks both build: a free loopback port, pictures encoded in memory.

The tests import these (and the hostile files of :mod:`bench.attacks`) from here rather than keep
copies: the benchmarks are a tool of their own, so they never import from tests/.
"""

from __future__ import annotations

import io
import socket

from PIL import Image

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """``image`` as the bytes of a ``fmt`` file (Pillow's format name, its save options)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def encoded_blank(width: int, height: int, fmt: str, mode: str = "RGB", **options) -> bytes:
    """A black width x height picture encoded as a ``fmt`` file."""
    return encode(Image.new(mode, (width, height)), fmt, **options)
