"""The single-page app: index.html at / and its modules and styles under /static/."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("web", __name__)
# What the page loads: the stylesheets and the modules of js/. The rest of frontend/ (its tests,
# README, node files) is not served.
PUBLIC_FILES = re.compile(r"[\w-]+\.css|js/[\w-]+\.js")


@bp.get("/")
def index():
    response = send_from_directory(current_app.config["FRONTEND_DIR"], "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # always pick up a new deploy
    return response


@bp.get("/static/<path:path>")
def static_files(path):
    if not PUBLIC_FILES.fullmatch(path):
        abort(404)
    response = send_from_directory(current_app.config["FRONTEND_DIR"], path, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
