"""Example pictures to try, one per class: /api/examples and the pictures it lists."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory, url_for

from backend.errors import APIError
from backend.schemas import ExamplesSchema
from ml.inference.examples import read_manifest

bp = Blueprint("examples", __name__, url_prefix="/api")


@bp.get("/examples")
def index():
    """Example pictures to try, one per class.
    ---
    get:
      summary: One example picture per class (from CIFAR-10's validation split), for a first
        visitor with no picture at hand. The page sends them to /api/predict like any upload.
      responses:
        200:
          description: The examples this server has (none where it was deployed without them)
          content:
            application/json:
              schema: ExamplesSchema
    """
    entries = read_manifest(current_app.config["EXAMPLES_DIR"])
    return ExamplesSchema().dump({"examples": [
        {"label": entry["label"], "url": url_for("examples.picture", name=entry["file"]),
         "source": entry.get("source"), "credit": entry.get("credit")} for entry in entries]})


@bp.get("/examples/<name>")
def picture(name):
    """One example picture.
    ---
    get:
      summary: An example picture listed by /api/examples.
      parameters:
        - in: path
          name: name
          required: true
          schema: {type: string, pattern: '^[A-Za-z0-9_-]+[.][a-z]+$'}
      responses:
        200:
          description: The picture
          content:
            image/jpeg: {}
        404:
          description: No such example
          content:
            application/json:
              schema: ErrorSchema
    """
    folder = current_app.config["EXAMPLES_DIR"]
    # Only the files the manifest lists: nothing else in that folder is served.
    if name not in {entry["file"] for entry in read_manifest(folder)}:
        raise APIError("not_found", "No such example picture. See /api/examples.")
    return send_from_directory(folder, name, max_age=86400)
