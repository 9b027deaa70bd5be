"""Stand-in feedback (``python -m ml stand-in-feedback``): until people have sent feedback, part of
real-photos/ plays it, so that the loop of ``python -m ml finetune`` can be measured (issue #32).

From real-photos/ (the folder, or real-photos.tar.gz):

- each photo of ``known/<class>/`` becomes an entry labelled with its class;
- "none of these": the ``other/`` categories that outlier exposure never trained on
  (``ml.evaluation.photos.is_held_out``) are halved by a hash of their name; each category of one
  half gives one photo (one only, so that a held-out "none" picture has no sibling of its own
  category in the fit); the other half is seen by nothing but the measurement.

It writes in the output folder:

- ``feedback.zip``: an export as GET /api/feedback/export writes it, each picture as the server
  keeps one (JPEG, longer side at most 512 px, no metadata);
- ``photos/``, laid out like real-photos/, for ``finetune --photos``: ``known/`` the class photos
  that finetune holds out (``ml.training.finetune.held_out``: the very same split), ``other/`` the
  unseen half of the categories;
- ``entries.csv``: each entry's id, label, source photo and whether finetune holds it out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps

from ml.evaluation.photos import is_held_out
from ml.training.finetune import EXPORT_COLUMNS, EXPORT_TABLE, NONE, Feedback, held_out
from ml.training.prerequisites import photo_bytes

# What the server keeps of a picture (issue #32): a JPEG of at most this side, no metadata.
STORED_SIDE = 512
STORED_QUALITY = 90


def stored_picture(data: bytes) -> bytes:
    """A photo as the server stores feedback: upright, RGB, longer side at most STORED_SIDE,
    re-encoded as JPEG with no EXIF (GPS coordinates), no ICC profile, no comment."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    image.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=STORED_QUALITY)  # no exif= or icc_profile=: none is written
    return out.getvalue()


def is_unseen(category: str) -> bool:
    """Whether a held-out ``other/`` category stays out of the stand-in feedback (half of them)."""
    return int(hashlib.sha256(f"stand-in:{category}".encode()).hexdigest(), 16) % 2 == 1


def build_stand_in(real_photos, out) -> dict:
    """Write the stand-in feedback of ``real_photos`` into the folder ``out`` (see above); returns
    how many entries of each label, how many held out, and how many photos ``photos/`` has."""
    out = Path(out)
    if (out / "photos").exists():
        raise ValueError(f"{out / 'photos'} exists already: remove it or write elsewhere (--out)")
    known, other = [], {}
    for parts, data in photo_bytes(Path(real_photos)):
        if len(parts) != 3:
            continue
        kind, name, file = parts
        if kind == "known":
            known.append((f"known/{name}/{file}", name, data))
        elif kind == "other" and is_held_out(name):
            other.setdefault(name, []).append((f"other/{name}/{file}", data))
    if not known:
        raise ValueError(f"{real_photos} holds no photos in known/<class>/")
    sources = sorted(known)  # (source photo, label, bytes)
    for name, photos in sorted(other.items()):
        if not is_unseen(name):
            source, data = min(photos)
            sources.append((source, NONE, data))
    ids = [hashlib.sha256(f"stand-in:{source}".encode()).hexdigest()[:32] for source, _, _ in sources]
    feedback = Feedback(tuple(ids), tuple(label for _, label, _ in sources),
                        tuple(stored_picture(data) for _, _, data in sources), "stand-in")
    mask = held_out(feedback)

    out.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    with zipfile.ZipFile(out / "feedback.zip", "w") as archive:
        for entry_id, label, picture in zip(feedback.ids, feedback.labels, feedback.pictures):
            archive.writestr(f"{label}/{entry_id}.jpg", picture)
            writer.writerow([entry_id, label, "", "", created])
        archive.writestr(EXPORT_TABLE, table.getvalue())
    with open(out / "entries.csv", "w", newline="") as listing:
        writer = csv.writer(listing, lineterminator="\n")
        writer.writerow(["id", "label", "source", "held_out"])
        for entry_id, (source, label, _), hold in zip(feedback.ids, sources, mask):
            writer.writerow([entry_id, label, source, "true" if hold else "false"])
    photos = [(source, data) for (source, label, data), hold in zip(sources, mask) if hold and label != NONE]
    photos += [photo for name, files in sorted(other.items()) if is_unseen(name) for photo in files]
    for source, data in photos:
        path = out / "photos" / source
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"entries": feedback.counts(), "held_out": feedback.subset(mask).counts(),
            "photos_known": sum(source.startswith("known/") for source, _ in photos),
            "photos_other": sum(source.startswith("other/") for source, _ in photos)}
