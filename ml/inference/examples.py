"""The example pictures of the page's "Try an example" row: one per class, committed in
frontend/examples/ with a manifest (``examples.json``) that the server lists at /api/examples.
``ml.training.pick_examples`` picks them from the training archive's validation split."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "examples.json"


def read_manifest(folder) -> list[dict]:
    """The examples ``ml.training.pick_examples`` wrote, or [] where there are none (or the list
    is damaged)."""
    path = Path(folder) / MANIFEST
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict)
            and isinstance(entry.get("label"), str) and isinstance(entry.get("file"), str)
            and (Path(folder) / entry["file"]).is_file()]
