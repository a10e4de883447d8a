"""Every database connection runs under DB_STATEMENT_TIMEOUT_MS and DB_LOCK_TIMEOUT_MS: a query
that runs long or waits on a lock ends (as a 503, app/errors.py) instead of holding a worker.

Set with SET when the pool opens a connection (once per connection, not per request). Startup
options would cost nothing, but PgBouncer refuses them; behind it every client sets the same
values, so a server connection passed between clients keeps the right ones."""

from flask import Flask
from sqlalchemy import event

from app.extensions import db


def _limits_setter(statement_ms: int, lock_ms: int):
    def set_limits(dbapi_connection, _record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # no transaction left open by the SETs
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(statement_ms)}")
            cursor.execute(f"SET lock_timeout = {int(lock_ms)}")
        dbapi_connection.autocommit = autocommit

    return set_limits


def register_timeouts(app: Flask) -> None:
    """Put the limits on every engine of the app (the primary and any replicas)."""
    setter = _limits_setter(app.config["DB_STATEMENT_TIMEOUT_MS"], app.config["DB_LOCK_TIMEOUT_MS"])
    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "connect", setter)
