"""Read replicas: shopper reads that may be a moment stale go to a streaming replica.

`DATABASE_REPLICA_URLS` (comma-separated, zero or more) become Flask-SQLAlchemy binds
`replica0`, `replica1`, …. The views of READ_RULES (GET only) pick a usable replica and the
session sends every statement of that request there; everything else — writes, reads inside a
write (reserve, claim, redeem, pickup), a shopper's own objects (reservations, wallet, follows) —
stays on the primary, because those must see the request's own commits.

A replica is usable while its replay lag is at most REPLICA_MAX_LAG_SECONDS, checked at most every
REPLICA_CHECK_SECONDS per process (one small query). A replica that is down, lagging, or fails in
the middle of a read is skipped: the read runs again on the primary, so the shopper never sees a
5xx for it, and the replica is looked at again after the next check interval.

Lag is measured on the replica: 0 when it has replayed all the WAL it received while streaming,
else the age of the last replayed transaction. A replica that is not streaming from its primary
cannot say how far behind it is and is not used.
"""

import itertools
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

import flask_sqlalchemy.session
import psycopg2
import psycopg2.errors
from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("shopnear.replicas")
EXTENSION = "shopnear_replicas"

# Shopper reads that may be a moment stale: stores, stock near me, catalog, feed and posts.
READ_RULES = frozenset(
    {
        "/v1/stores/nearby",
        "/v1/stores/map",
        "/v1/stores/<int:store_id>",
        "/v1/skus/<int:sku_id>/nearby",
        "/v1/products/<int:product_id>",
        "/v1/skus/<int:sku_id>",
        "/v1/feed",
        "/v1/merchants/<int:merchant_id>/posts",
        "/v1/posts/<int:post_id>",
        "/v1/skus/<int:sku_id>/buyer-shows",
        "/v1/merchants/<int:merchant_id>/buyer-shows",
    }
)

LAG_SQL = text(
    """
    SELECT CASE
      WHEN NOT pg_is_in_recovery() THEN 0
      WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
      ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END
    """
)
# What makes a replica's answer unusable rather than wrong input: the connection, a write that a
# read view should not make, a query cancelled by recovery (SQLSTATE 40001 on a standby).
_REPLICA_TROUBLE = (
    psycopg2.OperationalError,
    psycopg2.errors.ReadOnlySqlTransaction,
    psycopg2.errors.SerializationFailure,
)


def bind_keys(urls: list[str]) -> dict[str, str]:
    """Flask-SQLAlchemy bind keys for the replica URLs."""
    return {f"replica{i}": url for i, url in enumerate(urls)}


class RoutingSession(flask_sqlalchemy.session.Session):
    """db.session: the request's replica when its view chose one, else the usual engine."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        key = g.get("read_replica") if bind is None and has_app_context() else None
        if key is not None:
            return self._db.engines[key]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@dataclass
class _Replica:
    key: str
    checked_at: float = float("-inf")
    usable: bool = False


class ReplicaSet:
    """The replicas of one process: round robin over the usable ones."""

    def __init__(self, keys: list[str], *, max_lag: float, check_every: float):
        self.replicas = [_Replica(k) for k in keys]
        self._turns = itertools.cycle(self.replicas)
        self.max_lag, self.check_every = max_lag, check_every

    def pick(self) -> str | None:
        """A usable replica's bind key, or None (then the primary serves)."""
        now = time.monotonic()
        for _ in self.replicas:
            replica = next(self._turns)
            if now - replica.checked_at >= self.check_every:
                self._check(replica, now)
            if replica.usable:
                return replica.key
        return None

    def _check(self, replica: _Replica, now: float) -> None:
        from app.extensions import db

        replica.checked_at = now
        try:
            with db.engines[replica.key].connect() as connection:
                lag = connection.execute(LAG_SQL).scalar()
        except DBAPIError as error:
            log.warning("replica %s is not reachable: %s", replica.key, error.orig)
            replica.usable = False
            return
        replica.usable = lag is not None and float(lag) <= self.max_lag
        if not replica.usable:
            log.warning("replica %s skipped: lag %s s", replica.key, lag)

    def mark_down(self, key: str) -> None:
        """A replica failed mid-read: skip it until the next check, and drop its connections."""
        from app.extensions import db

        for replica in self.replicas:
            if replica.key == key:
                replica.usable, replica.checked_at = False, time.monotonic()
        db.engines[key].dispose()


@contextmanager
def on_primary():
    """Within a read view sent to a replica: the statements of this block go to the primary
    (a write the read must make, such as settling a game that has just closed)."""
    key = g.pop("read_replica", None) if has_app_context() else None
    try:
        yield
    finally:
        if key is not None:
            g.read_replica = key


def _is_replica_trouble(error: Exception) -> bool:
    cause = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(cause, _REPLICA_TROUBLE)


def _on_replica(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        from app.extensions import db

        replicas: ReplicaSet = current_app.extensions[EXTENSION]
        key = replicas.pick() if request.method in ("GET", "HEAD") else None
        if key is None:
            return view(*args, **kwargs)
        g.read_replica = key
        try:
            return view(*args, **kwargs)
        except (DBAPIError, psycopg2.Error) as error:
            if not _is_replica_trouble(error):
                raise
            log.warning("read on %s failed (%s); served by the primary", key, error)
            replicas.mark_down(key)
        finally:
            g.pop("read_replica", None)
        db.session.rollback()
        return view(*args, **kwargs)

    return wrapper


def route_reads(app: Flask) -> None:
    """Send the views of READ_RULES to the replicas, when there are any."""
    keys = [k for k in app.config.get("SQLALCHEMY_BINDS") or {} if k.startswith("replica")]
    if not keys:
        return
    app.extensions[EXTENSION] = ReplicaSet(
        keys,
        max_lag=app.config["REPLICA_MAX_LAG_SECONDS"],
        check_every=app.config["REPLICA_CHECK_SECONDS"],
    )
    for rule in app.url_map.iter_rules():
        if rule.rule in READ_RULES:
            app.view_functions[rule.endpoint] = _on_replica(app.view_functions[rule.endpoint])
