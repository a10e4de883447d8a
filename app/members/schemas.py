"""Request and response shapes of membership programs, members, points and service cards."""

import marshmallow as ma
from marshmallow import validate

from app.coupons.schemas import ID, cents
from app.fields import Bool, Int, Text
from app.pagination import PageArgsSchema, page_schema

REF = validate.Length(1, 64)
STAMP = {"example": "2026-12-02T09:00:00Z"}


class TierSchema(ma.Schema):
    id = Int(dump_only=True, metadata={"example": 3})
    name = Text(required=True, validate=validate.Length(1, 40), metadata={"example": "Gold"})
    threshold_cents = Int(
        required=True,
        validate=validate.Range(0, 10**12),
        metadata={"example": 1000000},
    )
    benefit = Text(
        load_default=None, validate=validate.Length(max=500), metadata={"example": "Free delivery"}
    )
    campaign_id = Int(load_default=None, allow_none=True, validate=ID, metadata={"example": None})


class ProgramSchema(ma.Schema):
    merchant_id = Int(dump_only=True, metadata={"example": 1})
    enabled = Bool(load_default=True, metadata={"example": True})
    currency = Text(
        required=True, validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "TWD"}
    )
    points_per_unit = Int(required=True, validate=validate.Range(0, 1000), metadata={"example": 1})
    pending_days = Int(load_default=0, validate=validate.Range(0, 365), metadata={"example": 14})
    expiry_days = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 3650),
        metadata={"example": 365},
    )
    tiers = ma.fields.List(
        ma.fields.Nested(TierSchema), load_default=list, validate=validate.Length(max=10)
    )
    updated_at = ma.fields.DateTime(dump_only=True, metadata=STAMP)


class JoinSchema(ma.Schema):
    consent = Bool(required=True, metadata={"example": True})


class PointsSchema(ma.Schema):
    available = Int(metadata={"example": 120})
    pending = Int(metadata={"example": 30})


class MembershipSchema(ma.Schema):
    id = Int(metadata={"example": 7})
    merchant_id = Int(metadata={"example": 1})
    member_number = Text(metadata={"example": "004211938277"})
    state = Text(metadata={"example": "active"})
    joined_at = ma.fields.DateTime(metadata=STAMP)
    left_at = ma.fields.DateTime(allow_none=True, metadata=STAMP)
    points = ma.fields.Nested(PointsSchema)
    tier = ma.fields.Nested(TierSchema, allow_none=True)
    spend_12m_cents = Int(metadata={"example": 250000})
    next_tier = ma.fields.Nested(TierSchema, allow_none=True)
    cents_to_next_tier = Int(allow_none=True, metadata={"example": 750000})


MembershipPageSchema = page_schema(MembershipSchema, "MembershipPageSchema")


class LedgerRowSchema(ma.Schema):
    id = Int(metadata={"example": 91})
    kind = Text(metadata={"example": "earn"})
    points = Int(metadata={"example": 120})
    lot_id = Int(allow_none=True, metadata={"example": None})
    receipt_ref = Text(allow_none=True, metadata={"example": "T1-000482"})
    store_id = Int(allow_none=True, metadata={"example": 12})
    available_at = ma.fields.DateTime(allow_none=True, metadata=STAMP)
    expires_at = ma.fields.DateTime(allow_none=True, metadata=STAMP)
    created_at = ma.fields.DateTime(metadata=STAMP)


LedgerPageSchema = page_schema(LedgerRowSchema, "LedgerPageSchema")


class CodeSchema(ma.Schema):
    code = Text(metadata={"example": "SNM1GQ3TAMBQGEZDGNBV..."})
    expires_at = ma.fields.DateTime(metadata=STAMP)
    qr_svg = Text(metadata={"example": "<svg ...></svg>"})


class ResolveSchema(ma.Schema):
    code = Text(
        required=True, validate=validate.Length(1, 128), metadata={"example": "SNM1GQ3T..."}
    )


class ResolvedSchema(ma.Schema):
    id = Int(metadata={"example": 7})
    member_number = Text(metadata={"example": "004211938277"})
    name = Text(metadata={"example": "Mei"})
    tier = ma.fields.Nested(TierSchema, allow_none=True)
    points = ma.fields.Nested(PointsSchema)
    coupons = ma.fields.List(
        ma.fields.Dict(), metadata={"example": [{"id": 5, "code": "ABCD-EFGH-JKLM-NPQR"}]}
    )
    reservations = ma.fields.List(ma.fields.Dict(), metadata={"example": []})


class ReceiptSchema(ma.Schema):
    receipt_ref = Text(required=True, validate=REF, metadata={"example": "T1-000482"})
    total_cents = cents(45000, required=True)
    currency = Text(
        required=True, validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "TWD"}
    )
    sku_ids = ma.fields.List(
        Int(validate=ID),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"example": [31]},
    )


class ReceiptOutSchema(ma.Schema):
    receipt_ref = Text(metadata={"example": "T1-000482"})
    member_id = Int(metadata={"example": 7})
    store_id = Int(allow_none=True, metadata={"example": 12})
    total_cents = Int(metadata={"example": 45000})
    currency = Text(metadata={"example": "TWD"})
    points = Int(metadata={"example": 450})
    created_at = ma.fields.DateTime(metadata=STAMP)
    refunded_at = ma.fields.DateTime(allow_none=True, metadata=STAMP)
    refunded_points = Int(allow_none=True, metadata={"example": None})
    tier_coupon = ma.fields.Dict(allow_none=True, metadata={"example": None})
    service_card_ids = ma.fields.List(Int(), metadata={"example": []})


class PointsRedeemSchema(ma.Schema):
    points = Int(required=True, validate=validate.Range(1, 10**8), metadata={"example": 100})
    receipt_ref = Text(required=True, validate=REF, metadata={"example": "T1-000483"})


class PointsRedeemedSchema(ma.Schema):
    receipt_ref = Text(metadata={"example": "T1-000483"})
    points = Int(metadata={"example": 100})
    balance = ma.fields.Nested(PointsSchema)


class ServiceCountSchema(ma.Schema):
    name = Text(required=True, validate=validate.Length(1, 60), metadata={"example": "cleaning"})
    count = Int(required=True, validate=validate.Range(1, 100), metadata={"example": 2})


class TemplateSchema(ma.Schema):
    id = Int(dump_only=True, metadata={"example": 4})
    title = Text(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Air-con care"}
    )
    services = ma.fields.List(
        ma.fields.Nested(ServiceCountSchema), required=True, validate=validate.Length(1, 20)
    )
    validity_days = Int(required=True, validate=validate.Range(1, 3650), metadata={"example": 730})
    sku_ids = ma.fields.List(
        Int(validate=ID),
        required=True,
        validate=validate.Length(1, 1000),
        metadata={"example": [31]},
    )
    is_active = Bool(load_default=True, metadata={"example": True})
    created_at = ma.fields.DateTime(dump_only=True, metadata=STAMP)


class TemplateUpdateSchema(TemplateSchema):
    """A template's changes: any of its fields (loaded by app.fields.changes in the route)."""


TemplatePageSchema = page_schema(TemplateSchema, "TemplatePageSchema")


class CardSchema(ma.Schema):
    id = Int(metadata={"example": 9})
    merchant_id = Int(metadata={"example": 1})
    code = Text(metadata={"example": "ABCD-EFGH-JKLM-NPQR"})
    title = Text(metadata={"example": "Air-con care"})
    sku_id = Int(metadata={"example": 31})
    state = Text(metadata={"example": "active"})
    issued_at = ma.fields.DateTime(metadata=STAMP)
    expires_at = ma.fields.DateTime(metadata=STAMP)
    services = ma.fields.List(
        ma.fields.Dict(), metadata={"example": [{"name": "cleaning", "total": 2, "remaining": 1}]}
    )
    usable_at = ma.fields.Dict(metadata={"example": {"merchant_id": 1}})
    uses = ma.fields.List(ma.fields.Dict(), metadata={"example": []})


CardPageSchema = page_schema(CardSchema, "CardPageSchema")


class CardListArgsSchema(PageArgsSchema):
    state = Text(
        load_default=None,
        validate=validate.OneOf(("active", "used_up", "expired")),
        metadata={"example": "active"},
    )


class UseSchema(ma.Schema):
    code = Text(
        required=True, validate=validate.Length(1, 20), metadata={"example": "ABCD-EFGH-JKLM-NPQR"}
    )
    service = Text(required=True, validate=validate.Length(1, 60), metadata={"example": "cleaning"})
