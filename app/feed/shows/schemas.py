"""Request and response shapes of buyer shows and their moderation."""

import marshmallow as ma
from marshmallow import validate

from app.feed.media.schemas import MediaSchema
from app.feed.posts.schemas import ID, RewardSchema
from app.feed.shows.models import SHOW_STATES
from app.fields import Bool, Int, Text
from app.idempotency import StoredDateTime
from app.pagination import PageArgsSchema, page_schema


class ShowAuthorSchema(ma.Schema):
    id = Int(metadata={"example": 7})
    display_name = Text(metadata={"example": "Mei"})


class ShowSchema(ma.Schema):
    id = Int(metadata={"example": 55})
    author = ma.fields.Nested(ShowAuthorSchema)
    merchant_id = Int(metadata={"example": 3})
    sku_ids = ma.fields.List(Int(), metadata={"example": [7]})
    body = Text(metadata={"example": "Smells like spring."})
    images = ma.fields.List(ma.fields.Nested(MediaSchema))
    rating = Int(allow_none=True, metadata={"example": 5})
    verified = Bool(metadata={"example": True})
    state = Text(metadata={"example": "approved"})
    reject_reason = Text(allow_none=True, metadata={"example": None})
    created_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})


class ShowCreateSchema(ma.Schema):
    body = Text(
        required=True,
        validate=validate.Length(1, 2000),
        metadata={"example": "Smells like spring; brewed it three times."},
    )
    image_ids = ma.fields.List(
        Int(validate=ID),
        load_default=list,
        validate=validate.Length(max=9),
        metadata={"example": [41, 42]},
    )
    rating = Int(load_default=None, validate=validate.Range(1, 5), metadata={"example": 5})
    reservation_id = ma.fields.UUID(
        load_default=None,
        metadata={"example": "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d"},
    )
    merchant_id = Int(load_default=None, validate=ID, metadata={"example": 3})
    sku_ids = ma.fields.List(
        Int(validate=ID), validate=validate.Length(max=20), metadata={"example": [7]}
    )


class AdminShowSchema(ShowSchema):
    report_count = Int(metadata={"example": 0})
    reward = ma.fields.Nested(
        RewardSchema, allow_none=True, metadata={"description": "Only in an approval's answer"}
    )


ShowPageSchema = page_schema(ShowSchema, "ShowPageSchema")
AdminShowPageSchema = page_schema(AdminShowSchema, "AdminShowPageSchema")


class AdminShowArgsSchema(PageArgsSchema):
    state = Text(
        load_default=None, validate=validate.OneOf(SHOW_STATES), metadata={"example": "pending"}
    )


class RejectSchema(ma.Schema):
    reason = Text(
        required=True, validate=validate.Length(1, 500), metadata={"example": "Not our product"}
    )


class ReportSchema(ma.Schema):
    reason = Text(
        load_default=None, validate=validate.Length(max=500), metadata={"example": "Spam"}
    )


class ReportedSchema(ma.Schema):
    show_id = Int(metadata={"example": 55})
    reported = Bool(metadata={"example": True})
