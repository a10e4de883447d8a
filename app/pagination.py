"""Opaque, signed cursors shared by every list endpoint."""

from typing import Any

import marshmallow as ma
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import text

from app.errors import Invalid
from app.fields import Text


def _serializer(kind: str) -> URLSafeSerializer:
    # The salt binds a cursor to one kind of list: a nearby cursor is no use on the map.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"cursor:{kind}")


def encode_cursor(kind: str, position: Any) -> str:
    """Sign where the next page starts."""
    return _serializer(kind).dumps(position)


def decode_cursor(kind: str, cursor: str | None) -> Any:
    """The position a cursor names, or None for the first page; tampered cursors → 422."""
    if not cursor:
        return None
    try:
        return _serializer(kind).loads(cursor)
    except BadSignature:
        raise Invalid("cursor", "Invalid or foreign cursor.") from None


class PageArgsSchema(ma.Schema):
    """`limit` and `cursor` of every list endpoint."""

    limit = ma.fields.Integer(
        load_default=20, validate=ma.validate.Range(1, 100), metadata={"example": 20}
    )
    cursor = Text(
        load_default=None, validate=ma.validate.Length(max=512), metadata={"example": None}
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """`{items, next_cursor}` envelope around an item schema (one class per item schema)."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": Text(allow_none=True),
        },
    )


class FeedArgsSchema(ma.Schema):
    """A resumable feed: `after` is a `next_cursor` or `resume_cursor` of an earlier page."""

    after = Text(
        load_default=None, validate=ma.validate.Length(max=512), metadata={"example": None}
    )
    limit = ma.fields.Integer(
        load_default=100, validate=ma.validate.Range(1, 100), metadata={"example": 100}
    )


def feed_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """`{items, next_cursor, resume_cursor}`: next_cursor is null when nothing more is there now."""
    return type(
        name,
        (page_schema(item_schema, name + "Base"),),
        {
            "resume_cursor": Text(
                allow_none=True, metadata={"description": "Ask with this next time"}
            )
        },
    )


def page_by_id(session, query, *, id_column, kind: str, limit: int, cursor: str | None):
    """Newest first by a bigint id (keyset): `(rows, next_cursor)` for any ORM select."""
    after = decode_cursor(kind, cursor)
    if after is not None:
        query = query.where(id_column < after)
    rows = list(session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(kind, getattr(rows[-1], id_column.key)) if more else None


# Only rows of finished transactions (below the snapshot's xmin) and the reader's own: a row whose
# transaction is still running can commit later with a smaller id than rows already read.
_FINISHED = (
    "(xact_id < pg_snapshot_xmin(pg_current_snapshot())"
    " OR xact_id = pg_current_xact_id_if_assigned())"
)


def commit_order_page(
    session, *, table: str, columns: str, where: str, params: dict, kind: str, limit: int, after
):
    """A feed in commit order (rows with `xact_id xid8` and a bigint `id`), oldest first, that a
    poller can resume without ever skipping a row: `(rows, next_cursor, resume_cursor)`.
    `next_cursor` is None when nothing more is there now; `resume_cursor` is where to ask next
    time (the last row's position, or `after` itself for an empty page)."""
    position = decode_cursor(kind, after)
    conditions = [where, _FINISHED]
    if position is not None:
        conditions.append("(xact_id, id) > (CAST(:after_xact AS xid8), :after_id)")
        params = {**params, "after_xact": position[0], "after_id": position[1]}
    sql = (
        f"SELECT {columns}, xact_id::text AS position_xact FROM {table}"
        f" WHERE {' AND '.join(conditions)} ORDER BY xact_id, id LIMIT :limit"
    )
    rows = [dict(r) for r in session.execute(text(sql), {**params, "limit": limit + 1}).mappings()]
    more, rows = len(rows) > limit, rows[:limit]
    last = (
        encode_cursor(kind, [rows[-1]["position_xact"], rows[-1]["id"]]) if rows else after or None
    )
    for row in rows:
        del row["position_xact"]
    return rows, (last if more else None), last
