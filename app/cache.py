"""A cache shared by every API host, in Redis (REDIS_URL), for the hottest reads that change
rarely: store detail, a campaign as shoppers see it.

Entries are keyed by a generation: `cache:<family>:<id>:<generation>`. A change bumps the
object's generation (`INCR gen:<family>:<id>`) after its transaction commits, so no host reads
the old entry again; a reader that built its entry from the old rows before the commit filed it
under the old generation, where nobody looks (a plain delete-after-commit would let that reader
put the old answer back). Entries also expire (CACHE_TTL_SECONDS, and never past a moment the
caller names, such as a store's next opening or closing), so an entry whose invalidation was lost
lives at most that long.

Redis is an accelerator, never the truth: when it does not answer (socket timeouts of 0.25 s), the
read is built from the database and Redis is left alone for CACHE_RETRY_SECONDS; reads stay
correct, only slower. Entries are built on the primary, never a replica, so an entry is not older
than the commit that bumped its generation.
"""

import logging
import time
from collections.abc import Callable

import orjson
import redis
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("shopnear.cache")
EXTENSION = "shopnear_cache"
PENDING = "shopnear_cache_bumps"


class ReadCache:
    """One process's view of the shared cache; does nothing without REDIS_URL."""

    def __init__(self, url: str, *, ttl: float, retry: float):
        self.client = (
            redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
            if url
            else None
        )
        self.ttl, self.retry = ttl, retry
        self._down_until = 0.0

    def _usable(self) -> bool:
        return self.client is not None and time.monotonic() >= self._down_until

    def _failed(self, error: Exception) -> None:
        log.warning("redis cache unavailable for %.0f s: %s", self.retry, error)
        self._down_until = time.monotonic() + self.retry

    def get_or_build(self, family: str, key, build: Callable[[], dict], *, fresh_for=None) -> dict:
        """The cached answer for (family, key), else `build()`'s, kept for the next reader."""
        if not self._usable():
            return _on_primary(build)
        try:
            generation = int(self.client.get(f"gen:{family}:{key}") or 0)
            entry = f"cache:{family}:{key}:{generation}"
            hit = self.client.get(entry)
        except redis.RedisError as error:
            self._failed(error)
            return _on_primary(build)
        if hit is not None:
            return orjson.loads(hit)
        body = _on_primary(build)
        ttl = self.ttl if fresh_for is None else min(self.ttl, fresh_for(body))
        if ttl >= 1:
            try:
                self.client.set(entry, orjson.dumps(body), ex=int(ttl))
            except redis.RedisError as error:
                self._failed(error)
        return body

    def bump(self, keys: set[tuple[str, object]]) -> None:
        """New generations for these objects (their cached answers are no longer read)."""
        if not keys or self.client is None:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for family, key in sorted(keys, key=str):
                    pipe.incr(f"gen:{family}:{key}")
                pipe.execute()
        except redis.RedisError as error:
            # Hosts that cached the old answer keep it until it expires (CACHE_TTL_SECONDS).
            self._failed(error)


def _on_primary(build: Callable[[], dict]) -> dict:
    replica = g.pop("read_replica", None)
    try:
        return build()
    finally:
        if replica is not None:
            g.read_replica = replica


def cached(family: str, key, build: Callable[[], dict], *, fresh_for=None) -> dict:
    """`build()`'s answer through the shared cache (a pass-through without Redis);
    `fresh_for(body)` bounds how many seconds it stays true."""
    return current_app.extensions[EXTENSION].get_or_build(family, key, build, fresh_for=fresh_for)


def invalidate(session: Session, family: str, key) -> None:
    """Forget (family, key)'s cached answers once `session`'s transaction commits."""
    session.info.setdefault(PENDING, set()).add((family, key))


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    keys = session.info.pop(PENDING, None)
    if keys:
        current_app.extensions[EXTENSION].bump(keys)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = ReadCache(
        app.config["REDIS_URL"],
        ttl=app.config["CACHE_TTL_SECONDS"],
        retry=app.config["CACHE_RETRY_SECONDS"],
    )
