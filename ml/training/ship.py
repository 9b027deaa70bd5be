"""Shipping a finished training run (``python -m ml ship RUN_DIR``, ``make ship RUN=...``): its
artifact, sidecar, model card and figures are copied into models/, and the hash render.yaml pins
(MODEL_SHA256) is rewritten to match. Training itself never writes models/."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ml.inference import artifact

# What a run folder holds next to its artifact and sidecar, as models/ does (those a run lacks,
# e.g. one trained without `ml search`, stay as they were).
REPORTS = ("model_card.json", "model_card.md", "confusion_matrix.png", "reliability.png",
           "grid_search.csv", "grid_search.json", "grid_search.png")
# The value line of render.yaml's MODEL_SHA256 entry: the one line shipping rewrites.
PINNED_HASH = re.compile(r"^[ \t]*- key: MODEL_SHA256[ \t]*\r?\n[ \t]*value:[ \t]*(\S+)", re.MULTILINE)


class ShipError(RuntimeError):
    """The run is not finished, or render.yaml does not pin the model where shipping looks."""


def ship(run_dir, models_dir, blueprint, model_name) -> dict:
    """Copy run ``run_dir``'s ``model_name`` with its sidecar and reports into ``models_dir`` and
    pin its hash in ``blueprint`` (render.yaml). Checks everything before changing anything.
    Returns what changed: the old and new hashes, validation accuracies and the files copied."""
    run, models, blueprint = Path(run_dir), Path(models_dir), Path(blueprint)
    source = run / model_name
    if not source.is_file():
        raise ShipError(f"{run} is not a finished run: it has no {model_name} "
                        f"(make train RUN={run} resumes it)")
    try:
        model = artifact.load(source)  # the sidecar matches, and it is an artifact we can serve
    except artifact.ArtifactError as error:
        raise ShipError(f"{run} is not a finished run: {error}") from error
    card = _card(run)
    if card.get("sha256") != model.sha256:
        raise ShipError(f"{run}/model_card.json describes another model than {model_name} "
                        f"(an interrupted step? make train RUN={run} finishes it)")
    # Bytes, not text: every byte of render.yaml but the hash stays as it is (line endings too).
    pinned = blueprint.read_bytes().decode()
    found = list(PINNED_HASH.finditer(pinned))
    if len(found) != 1:
        raise ShipError(f"{blueprint} has {len(found)} MODEL_SHA256 entries ('- key: MODEL_SHA256' "
                        "and a 'value:' line under it); expected one")
    if not models.is_dir():
        raise ShipError(f"no folder {models} to ship into")

    before = _card(models) if (models / "model_card.json").is_file() else {}
    copied = [model_name, artifact.checksum_path(source).name,
              *(name for name in REPORTS if (run / name).is_file())]
    for name in copied:  # each file whole or not at all
        partial = models / f".{name}.shipping"
        shutil.copyfile(run / name, partial)
        os.replace(partial, models / name)
    start, end = found[0].span(1)
    blueprint.write_bytes((pinned[:start] + model.sha256 + pinned[end:]).encode())
    return {
        "sha256": (found[0].group(1), model.sha256),
        "accuracy": (before.get("metrics", {}).get("accuracy"), card["metrics"]["accuracy"]),
        "copied": copied,
        "kept": [name for name in REPORTS if name not in copied and (models / name).is_file()],
    }


def _card(folder: Path) -> dict:
    try:
        return json.loads((folder / "model_card.json").read_text())
    except (OSError, ValueError) as error:
        raise ShipError(f"cannot read {folder}/model_card.json: {error}") from error
