"""shopnear: nearby stores and stock, pickup reservations, coupons and a feed."""

from pathlib import Path

import swagger_ui_bundle
from flask import Flask, send_from_directory

from app import cache, idempotency
from app.accounts.permissions import register_jwt_problems
from app.blueprint import register_converters
from app.config import Config
from app.content_types import require_accepted_body, require_short_request_line
from app.contract import document_links, document_problems
from app.errors import register_error_handlers, register_session_teardown
from app.extensions import api, db, jwt, limiter, migrate
from app.http_headers import register_http_headers
from app.json_provider import OrjsonProvider
from app.rate_limits import register_client_address
from app.replicas import route_reads
from app.request_log import register_request_log
from app.timeouts import register_timeouts

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


def create_app(config: Config | None = None) -> Flask:
    """The one application factory."""
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.from_object(config or Config())
    register_request_log(app)
    register_http_headers(app)
    idempotency.init_app(app)
    register_client_address(app)
    register_extensions(app)
    register_blueprints(app)
    document_problems(api.spec)
    document_links(api.spec)
    route_reads(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    register_session_teardown(app)
    register_timeouts(app)
    cache.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    jwt.init_app(app)
    register_jwt_problems(jwt)
    limiter.init_app(app)
    # Every limit of ours is a decorator, and a decorated view checks its own limits. The
    # extension's before_request hook would only look for (absent) default limits on every
    # request: ~0.2 ms of each nearby call (cProfile, docs/PERFORMANCE.md).
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    api.init_app(app, spec_kwargs={"info": {"description": __doc__}})
    register_converters(app, api)
    api.spec.components.security_scheme("bearerAuth", BEARER["bearerAuth"])
    app.before_request(require_short_request_line)
    app.before_request(require_accepted_body)
    app.add_url_rule("/docs/static/<path:filename>", "swagger_static", _swagger_static)


def register_blueprints(app: Flask) -> None:
    from app import health
    from app.accounts.routes import admin_blp, auth_blp
    from app.catalog.routes import admin_catalog_blp, catalog_blp
    from app.coupons.routes import admin_coupons_blp, coupons_blp
    from app.events.routes import admin_events_blp
    from app.feed.media.routes import media_blp
    from app.feed.posts.routes import admin_posts_blp
    from app.feed.reading.routes import feed_blp
    from app.feed.shows.routes import admin_shows_blp, shows_blp
    from app.inventory.routes import admin_stock_blp, stock_blp
    from app.members.card_routes import admin_cards_blp, cards_blp
    from app.members.routes import admin_members_blp, members_blp
    from app.notifications.routes import notifications_blp
    from app.orders.routes import admin_orders_blp, orders_blp
    from app.pickup.routes import admin_reservations_blp, reservations_blp
    from app.segments.routes import admin_segments_blp
    from app.stores.routes import admin_stores_blp, stores_blp
    from app.web import routes as web

    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)
    for blp in (auth_blp, admin_blp, stores_blp, admin_stores_blp):
        api.register_blueprint(blp)
    for blp in (catalog_blp, admin_catalog_blp, stock_blp, admin_stock_blp):
        api.register_blueprint(blp)
    for blp in (reservations_blp, admin_reservations_blp, orders_blp, admin_orders_blp):
        api.register_blueprint(blp)
    for blp in (coupons_blp, admin_coupons_blp):
        api.register_blueprint(blp)
    for blp in (feed_blp, admin_posts_blp, media_blp, shows_blp, admin_shows_blp):
        api.register_blueprint(blp)
    api.register_blueprint(notifications_blp)
    api.register_blueprint(admin_events_blp)
    for blp in (members_blp, admin_members_blp, cards_blp, admin_cards_blp):
        api.register_blueprint(blp)
    api.register_blueprint(admin_segments_blp)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)


def _swagger_static(filename: str):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
