"""Serves the front-end packages that `npm ci` installed: only the folders listed here."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("assets", __name__)

# URL prefix -> folder inside node_modules
VENDOR_DIRS = {
    "utrecht-css": "@utrecht/component-library-css/dist",
    "utrecht-tokens": "@utrecht/design-tokens/dist",
    "htmx": "htmx.org/dist",
    "leaflet": "leaflet/dist",
}


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    folder = VENDOR_DIRS.get(package)
    if folder is None:
        abort(404)
    return send_from_directory(current_app.config["NODE_MODULES"] / folder, filename, max_age=86400)
