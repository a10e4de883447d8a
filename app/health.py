"""Liveness and readiness probes."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from flask_migrate import Migrate
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """The database answers and the schema is at the newest migration."""
    try:
        conn = db.session.connection()
        current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError:
        return {"status": "unavailable", "detail": "database unreachable"}, 503
    if current != _migration_heads():
        return {
            "status": "unavailable",
            "detail": "migrations not at head",
            "current": sorted(current),
        }, 503
    return {"status": "ok"}


def _migration_heads() -> set[str]:
    migrate: Migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())
