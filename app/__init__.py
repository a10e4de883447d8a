"""shopnear: nearby stores and stock, pickup reservations, coupons and a feed."""

from pathlib import Path

import swagger_ui_bundle
from flask import Flask, send_from_directory

from app.accounts.permissions import register_jwt_problems
from app.config import Config
from app.content_types import require_accepted_body
from app.errors import register_error_handlers
from app.extensions import api, db, jwt, limiter, migrate
from app.json_provider import OrjsonProvider
from app.request_log import register_request_log

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


def create_app(config: Config | None = None) -> Flask:
    """The one application factory."""
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.from_object(config or Config())
    register_request_log(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    jwt.init_app(app)
    register_jwt_problems(jwt)
    limiter.init_app(app)
    # Every limit of ours is a decorator, and a decorated view checks its own limits. The
    # extension's before_request hook would only look for (absent) default limits on every
    # request: ~0.2 ms of each nearby call (cProfile, docs/PERFORMANCE.md).
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    api.init_app(app, spec_kwargs={"info": {"description": __doc__}})
    api.spec.components.security_scheme("bearerAuth", BEARER["bearerAuth"])
    app.before_request(require_accepted_body)
    app.add_url_rule("/docs/static/<path:filename>", "swagger_static", _swagger_static)


def register_blueprints(app: Flask) -> None:
    from app import health
    from app.accounts.routes import admin_blp, auth_blp
    from app.catalog.routes import admin_catalog_blp, catalog_blp
    from app.coupons.routes import admin_coupons_blp, coupons_blp
    from app.events.routes import admin_events_blp
    from app.feed.admin_routes import admin_posts_blp
    from app.feed.routes import feed_blp, media_blp
    from app.feed.show_routes import admin_shows_blp, shows_blp
    from app.inventory.routes import admin_stock_blp, stock_blp
    from app.pickup.routes import admin_reservations_blp, reservations_blp
    from app.stores.routes import admin_stores_blp, stores_blp

    app.register_blueprint(health.bp)
    for blp in (auth_blp, admin_blp, stores_blp, admin_stores_blp):
        api.register_blueprint(blp)
    for blp in (catalog_blp, admin_catalog_blp, stock_blp, admin_stock_blp):
        api.register_blueprint(blp)
    for blp in (reservations_blp, admin_reservations_blp):
        api.register_blueprint(blp)
    for blp in (coupons_blp, admin_coupons_blp):
        api.register_blueprint(blp)
    for blp in (feed_blp, admin_posts_blp, media_blp, shows_blp, admin_shows_blp):
        api.register_blueprint(blp)
    api.register_blueprint(admin_events_blp)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def _swagger_static(filename: str):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
