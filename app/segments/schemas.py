"""Request and response shapes of segments."""

import marshmallow as ma
from marshmallow import validate

from app.fields import Int, Text
from app.geo import lat_field, lng_field
from app.pagination import page_schema

RULE_EXAMPLE = {
    "type": "and",
    "rules": [
        {"type": "follows"},
        {"type": "not", "rule": {"type": "pickups", "at_least": 1, "days": 30}},
    ],
}
RULE_HELP = (
    "and/or (rules), not (rule) over: follows, city (cities), pickups (at_least, days, sku_ids),"
    " coupon (campaign_id, redeemed), buyer_show, near_store (radius_m),"
    " member_tier (at_least_cents: the lowest tier threshold); at most 5 deep and"
    " 32 parts."
)


class SegmentUpdateSchema(ma.Schema):
    name = Text(validate=validate.Length(1, 120), metadata={"example": "Lapsed fans"})
    description = Text(
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"example": "Followers who have not picked up for a month"},
    )
    rule = ma.fields.Dict(metadata={"example": RULE_EXAMPLE, "description": RULE_HELP})


class SegmentCreateSchema(SegmentUpdateSchema):
    name = Text(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Lapsed fans"}
    )
    rule = ma.fields.Dict(
        required=True, metadata={"example": RULE_EXAMPLE, "description": RULE_HELP}
    )


class SegmentSchema(SegmentCreateSchema):
    id = Int(dump_only=True, metadata={"example": 3})
    created_at = ma.fields.DateTime(dump_only=True, metadata={"example": "2026-12-02T08:00:00Z"})
    updated_at = ma.fields.DateTime(dump_only=True, metadata={"example": "2026-12-02T08:00:00Z"})


SegmentPageSchema = page_schema(SegmentSchema, "SegmentPage")


class SizeArgsSchema(ma.Schema):
    lat = lat_field(load_default=None)
    lng = lng_field(load_default=None)

    @ma.validates_schema
    def _both(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("Give lat and lng together.", "lat")


class SizeSchema(ma.Schema):
    segment_id = Int(metadata={"example": 3})
    size = Int(metadata={"example": 1204})
    at_point = ma.fields.Boolean(
        metadata={"example": False, "description": "Position rules evaluated at lat/lng"}
    )
