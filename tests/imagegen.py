"""Generated test images: every format and colour mode the API accepts, EXIF-rotated photos, a
tiny CIFAR-10 archive. No dataset image is ever committed. Encoding a picture and the hostile files
(pixel bombs included) are shared with the benchmarks: bench/fixtures.py, bench/attacks.py."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
from PIL import Image

from bench.fixtures import encode

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def gradient(width=64, height=48, seed=0) -> Image.Image:
    """A smooth colourful picture with structure (so resizing and rotation change it)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    green = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    blue = rng.integers(0, 256, (height, width), dtype=np.uint8) // 4 + 96
    array = np.stack([red, green, blue], axis=-1)
    array[: height // 3, : width // 3] = (250, 20, 20)  # a marker in one corner: orientation matters
    return Image.fromarray(array)


def pattern_dataset(n_per_class=50, size=32, seed=0, n_classes=4):
    """Distinguishable synthetic classes: horizontal stripes, vertical stripes, a centre square,
    diagonal stripes; each with a random phase, random colours and noise."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    y, x = np.mgrid[0:size, 0:size]
    for label in range(n_classes):
        for _ in range(n_per_class):
            phase = rng.integers(0, 8)
            if label == 0:
                mask = ((y + phase) // 4) % 2 == 0
            elif label == 1:
                mask = ((x + phase) // 4) % 2 == 0
            elif label == 2:
                mask = (abs(y - size / 2) < size / 4) & (abs(x - size / 2) < size / 4)
            else:
                mask = ((x + y + phase) // 4) % 2 == 0
            colour = rng.integers(120, 256, 3)
            array = np.where(mask[..., None], colour, 255 - colour).astype(np.float64)
            array += rng.normal(0, 20, array.shape)
            images.append(np.clip(array, 0, 255).astype(np.uint8))
            labels.append(label)
    order = rng.permutation(len(labels))
    return np.stack(images)[order], np.asarray(labels)[order]


def cifar_python_archive(path, per_class=2, classes=CLASSES, seed=0) -> dict[str, bytes]:
    """A tiny cifar-10-python.tar.gz in the official format: cifar-10-batches-py/ holding
    data_batch_1..5 and test_batch (``per_class`` random images of each class in each, pickled
    dicts with bytes keys, uint8 rows of 3072 in channel-first order), batches.meta and readme.html,
    in the official archive's member order. Returns the files' bytes by name."""
    rng = np.random.default_rng(seed)
    n = per_class * len(classes)
    meta = {b"num_cases_per_batch": n, b"label_names": [name.encode() for name in classes],
            b"num_vis": 3072}
    files = {"batches.meta": pickle.dumps(meta, protocol=2), "readme.html": b"<html></html>"}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.permutation(np.repeat(np.arange(len(classes)), per_class)).tolist()
        batch = {b"batch_label": name.encode(), b"labels": labels,
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        files[name] = pickle.dumps(batch, protocol=2)
    order = ["data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta",
             "data_batch_2", "data_batch_5", "data_batch_1"]
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        for name in order:
            member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            member.size = len(files[name])
            archive.addfile(member, io.BytesIO(files[name]))
    return files


def with_exif_orientation(image: Image.Image, orientation: int) -> bytes:
    """A JPEG whose pixels are stored rotated, with the EXIF tag that undoes it, as phones write."""
    stored = {
        3: image.transpose(Image.Transpose.ROTATE_180),
        6: image.transpose(Image.Transpose.ROTATE_90),   # displayed after rotating 270 (cw 90)
        8: image.transpose(Image.Transpose.ROTATE_270),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def all_modes() -> dict[str, Image.Image]:
    base = gradient(40, 30)
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    grey16 = Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257)
    return {
        "RGB": base,
        "RGBA": rgba,
        "L": base.convert("L"),
        "LA": base.convert("LA"),
        "P": base.convert("P", palette=Image.Palette.ADAPTIVE),
        "1": base.convert("1"),
        "CMYK": base.convert("CMYK"),
        "I;16": grey16,
        "I": base.convert("I"),
        "F": base.convert("F"),
        "YCbCr": base.convert("YCbCr"),
    }

