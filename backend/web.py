"""The single-page app: index.html at / and its modules and styles under /static/."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    response = send_from_directory(current_app.config["FRONTEND_DIR"], "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # always pick up a new deploy
    return response


@bp.get("/static/<path:path>")
def static_files(path):
    # send_from_directory refuses paths that leave the folder (../) with a 404.
    response = send_from_directory(current_app.config["FRONTEND_DIR"], path, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
