"""Serves /app and /workbench: two static pages and their scripts, which call only the public
API (no data is rendered on the server). Front-end libraries come from the npm registry at the
versions pinned in app/web/package.json, installed by scripts/bootstrap under var/web."""

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_from_directory

HERE = Path(__file__).resolve().parent
# The files each vendored library serves, and where they live inside its npm package.
VENDOR = {"leaflet": "dist", "i18next": "dist/umd"}

bp = Blueprint("web", __name__, template_folder="pages", static_folder=None)


def _page(name: str):
    # The tile URL is the only setting a page needs; empty: stores over a plain background.
    return render_template(f"{name}.html", tile_url=current_app.config["WEB_TILE_URL"])


@bp.get("/app")
def shopper_app():
    return _page("app")


@bp.get("/workbench")
def workbench():
    return _page("workbench")


@bp.get("/web/static/<path:filename>")
def static_file(filename: str):
    return send_from_directory(HERE / "static", filename, max_age=300)


@bp.get("/web/vendor/<lib>/<path:filename>")
def vendor_file(lib: str, filename: str):
    if lib not in VENDOR:
        abort(404)
    root = Path(current_app.config["WEB_NODE_MODULES"]) / lib / VENDOR[lib]
    return send_from_directory(root, filename, max_age=86400)
