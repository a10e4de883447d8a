"""Safe retries of POSTs that create things (DESIGN rule 3), for every domain.

A client sends `Idempotency-Key`; the first request with a key does the work and its answer is
stored next to a hash of its body, in the same transaction as the work. The same key with the same
body returns the stored answer; with another body it is a 422. Keys are per user and per scope
(`"pickup.reserve"`, `"inventory.sync:<merchant>"`, `"coupons.claim"`...).

    outcome = idempotency.run_once(
        session=session, user_id=user_id, scope="pickup.reserve", key=key, payload=data,
        work=lambda: (201, make_the_thing()),   # returns (status, body dict)
    )
    outcome.status, outcome.body, outcome.replayed

A replayed answer carries `Idempotent-Replayed: true` (set here, after the view, for every
operation that replays), so a client can tell the retry that did nothing from the first request.

The body is stored through orjson (datetimes become RFC 3339 strings), so a replayed body has
strings where the first one had datetimes: declare such response fields as `StoredDateTime`.

Concurrency: the key row is inserted *before* the work with `ON CONFLICT DO NOTHING`, so a second
request with the same key waits on the first one's unique-index entry until it commits (then it
replays) or rolls back (then it does the work itself). Failed requests leave nothing behind: only
successes are remembered, so a retry after a 409 runs again. `flask sweep-expired` purges keys
older than IDEMPOTENCY_KEY_HOURS (default 24).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import marshmallow as ma
import orjson
from flask import Flask, Response, g, has_request_context
from sqlalchemy import BigInteger, Integer, String, UniqueConstraint, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from app import prepared
from app.errors import Conflict, Invalid
from app.extensions import db
from app.fields import Text

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class IdempotencyHeaderSchema(ma.Schema):
    """The optional `Idempotency-Key` header of a creating POST."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = Text(
        data_key=HEADER,
        load_default=None,
        validate=ma.validate.Regexp(r"^[\x21-\x7e]{1,128}$", error="1..128 visible ASCII."),
        metadata={"example": "6f1c2a8e-0b7d-4f5e-9a51-2d3c4b5a6e7f"},
    )


class StoredDateTime(ma.fields.DateTime):
    """A date-time response field that also passes through the strings of a replayed body."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


# Both prepared (app/prepared.py): every creating POST with a key sends them.
CLAIM = text(
    "INSERT INTO idempotency_keys (user_id, scope, key, request_hash)"
    " VALUES (CAST(:user AS bigint), CAST(:scope AS text), CAST(:key AS text),"
    " CAST(:digest AS text)) ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id"
)
REMEMBER = text(
    "UPDATE idempotency_keys SET response_status = CAST(:status AS int),"
    " response_body = CAST(:body AS jsonb) WHERE id = CAST(:id AS bigint) RETURNING id"
)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


class KeyReused(Invalid):
    type = "idempotency.key_reused"


def request_hash(payload) -> str:
    """A stable hash of a parsed request body (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def run_once(
    *,
    session: Session,
    user_id: int,
    scope: str,
    key: str | None,
    payload,
    work: Callable[[], tuple[int, dict]],
) -> Outcome:
    """Do `work` once per (user, scope, key); replay its stored answer to retries."""
    if key is None:
        return Outcome(*work(), replayed=False)
    digest = request_hash(payload)
    params = {"user": user_id, "scope": scope, "key": key, "digest": digest}
    claimed = prepared.write(session, CLAIM, params)  # no row: claimed before, replay
    if not claimed:
        return replay(session, user_id, scope, key, digest)
    status, body = work()
    remember(session=session, key_id=claimed[0].id, status=status, body=body)
    return Outcome(status, body, replayed=False)


def remember(*, session: Session, key_id: int, status: int, body: dict) -> None:
    """Store the answer of the request that claimed the key `key_id`, for its retries."""
    params = {"id": key_id, "status": status, "body": orjson.dumps(body).decode()}
    prepared.write(session, REMEMBER, params)


def replay(session: Session, user_id: int, scope: str, key: str, digest: str) -> Outcome:
    """The stored answer of a key claimed before (422 if its body differed, 409 if running)."""
    k = IdempotencyKey
    row = session.execute(
        select(k.request_hash, k.response_status, k.response_body).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
        )
    ).one()
    if row.request_hash != digest:
        raise KeyReused(HEADER, "This key was used with another request body.")
    if row.response_status is None:
        raise Conflict("The first request with this key is still running.", type="idempotency.busy")
    if has_request_context():
        g.idempotent_replayed = True
    return Outcome(row.response_status, row.response_body, replayed=True)


def _say_replayed(response: Response) -> Response:
    if g.get("idempotent_replayed") and response.status_code < 400:
        response.headers[REPLAYED] = "true"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_say_replayed)


def purge_older_than(*, session: Session, hours: int) -> int:
    """Forget keys older than `hours`; returns how many."""
    cutoff = func.now() - timedelta(hours=hours)
    stmt = delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
    return session.execute(stmt).rowcount
