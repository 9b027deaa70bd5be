"""What the benchmark sends: generated pictures, encoded once as complete multipart bodies.

Pre-encoding keeps the client's own work (building a 4 MB form on every request) out of the
server's latency figures; both servers receive byte-for-byte the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from urllib3 import encode_multipart_formdata

from bench.fixtures import encode

SINGLE_PATH = "/api/predict"
BATCH_PATH = "/api/predict/batch"
BATCH_SIZE = 64
PHOTO_SIZE = (4000, 3000)  # 12 megapixels, a phone camera's picture
PHOTO_NOISE = 10.0  # std of the sensor-like noise: gives a realistic 3-5 MB JPEG at quality 90
PHOTO_QUALITY = 90


@dataclass(frozen=True)
class Upload:
    """One ready-to-send POST: where it goes, its multipart body, and how many images it holds."""

    label: str
    path: str
    body: bytes
    content_type: str
    n_images: int

    @property
    def size_bytes(self) -> int:
        return len(self.body)

    @property
    def is_batch(self) -> bool:
        return self.path == BATCH_PATH


@dataclass(frozen=True)
class Workload:
    """The three requests every server is measured with."""

    small_png: Upload
    photo_jpeg: Upload
    png_batch: Upload

    def describe(self) -> dict:
        return {upload.label: {"path": upload.path, "images": upload.n_images, "bytes": upload.size_bytes}
                for upload in (self.small_png, self.photo_jpeg, self.png_batch)}


def small_png(seed: int = 0, side: int = 32) -> bytes:
    """A CIFAR-sized picture: a colour gradient with noise, different for each seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / (side - 1)
    colours = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    mix = (x + y)[..., None] / 2
    array = colours[0] * (1 - mix) + colours[1] * mix + rng.normal(0, 12, (side, side, 3))
    return encode(Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)), "PNG")


def photo_jpeg(size: tuple[int, int] = PHOTO_SIZE, seed: int = 0) -> bytes:
    """A 12-megapixel camera-like JPEG: smooth gradients plus per-pixel noise, quality 90."""
    width, height = size
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    base = np.stack(np.broadcast_arrays(255 * x, 255 * y, 128 + 100 * np.sin(6 * x + 4 * y)), axis=-1)
    noisy = base + rng.standard_normal((height, width, 3), dtype=np.float32) * PHOTO_NOISE
    return encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), "JPEG", quality=PHOTO_QUALITY)


def single_upload(label: str, data: bytes, filename: str, mime: str) -> Upload:
    """A POST /api/predict with the picture as the multipart field ``image``."""
    body, content_type = encode_multipart_formdata({"image": (filename, data, mime)})
    return Upload(label, SINGLE_PATH, body, content_type, 1)


def batch_upload(label: str, pictures: list[tuple[str, bytes, str]]) -> Upload:
    """A POST /api/predict/batch with each (filename, bytes, mime) as a repeated ``images`` field."""
    body, content_type = encode_multipart_formdata([("images", picture) for picture in pictures])
    return Upload(label, BATCH_PATH, body, content_type, len(pictures))


def build_workload() -> Workload:
    """Generate the pictures and encode the three requests (a second or two, mostly the JPEG)."""
    return Workload(
        small_png=single_upload("png_32", small_png(), "small.png", "image/png"),
        photo_jpeg=single_upload("jpeg_12mp", photo_jpeg(), "photo.jpg", "image/jpeg"),
        png_batch=batch_upload("png_32_batch64", [(f"small{i}.png", small_png(seed=i), "image/png")
                                                  for i in range(BATCH_SIZE)]),
    )
