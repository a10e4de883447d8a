"""Opaque, signed cursors shared by every list endpoint."""

from typing import Any

import marshmallow as ma
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

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


def page_by_id(session, query, *, id_column, kind: str, limit: int, cursor: str | None):
    """Newest first by a bigint id (keyset): `(rows, next_cursor)` for any ORM select."""
    after = decode_cursor(kind, cursor)
    if after is not None:
        query = query.where(id_column < after)
    rows = list(session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(kind, getattr(rows[-1], id_column.key)) if more else None
