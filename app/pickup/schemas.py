"""Request and response shapes of reservations."""

import marshmallow as ma
from marshmallow import validate

from app.catalog.schemas import ID
from app.coupons.schemas import COUPON_ID, CouponPriceSchema
from app.fields import Bool, Int, Text
from app.idempotency import StoredDateTime
from app.inventory.schemas import CART
from app.pagination import PageArgsSchema, page_schema
from app.pickup.models import STATES


class ReservationCreateSchema(ma.Schema):
    store_id = Int(required=True, validate=ID, metadata={"example": 12})
    items = CART
    coupon_id = COUPON_ID


class ReservationItemSchema(ma.Schema):
    sku_id = Int(metadata={"example": 501})
    qty = Int(metadata={"example": 2})
    short_qty = Int(
        metadata={"example": 0, "description": "Units the store could not find (released)"}
    )


class ReservationSchema(ma.Schema):
    id = Text(metadata={"example": "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d"})
    store_id = Int(metadata={"example": 12})
    state = Text(metadata={"example": "reserved"})
    items = ma.fields.List(ma.fields.Nested(ReservationItemSchema))
    expires_at = StoredDateTime(metadata={"example": "2026-11-25T16:00:00+00:00"})
    extended = Bool(metadata={"example": False})
    created_at = StoredDateTime(metadata={"example": "2026-11-25T16:00:00+00:00"})
    ready_at = StoredDateTime(allow_none=True, metadata={"example": None})
    picked_up_at = StoredDateTime(allow_none=True, metadata={"example": None})
    closed_at = StoredDateTime(allow_none=True, metadata={"example": None})
    close_reason = Text(allow_none=True, metadata={"example": None})


class ReservationCreatedSchema(ReservationSchema):
    pickup_code = Text(
        allow_none=True,
        metadata={
            "example": "042917",
            "description": "Shown only in this answer; a retry with the same key gets a new one.",
        },
    )
    coupon = ma.fields.Nested(
        CouponPriceSchema,
        metadata={"description": "The coupon now held for this pickup (with coupon_id only)"},
    )


class StaffReservationSchema(ReservationSchema):
    user_id = Int(metadata={"example": 7})
    failed_code_attempts = Int(metadata={"example": 0})
    no_shows = Int(
        metadata={
            "example": 0,
            "description": "The shopper's holds that ran out uncollected "
            "in the no-show window (PICKUP_NO_SHOW_DAYS); on reads only",
        }
    )


ReservationPageSchema = page_schema(ReservationSchema, "ReservationPageSchema")
StaffReservationPageSchema = page_schema(StaffReservationSchema, "StaffReservationPageSchema")


class StoreReservationArgsSchema(PageArgsSchema):
    state = Text(load_default=None, validate=validate.OneOf(STATES), metadata={"example": "ready"})


class PickupSchema(ma.Schema):
    code = Text(
        load_default=None, validate=validate.Regexp(r"^[0-9]{6}$"), metadata={"example": "042917"}
    )
    override_reason = Text(
        load_default=None,
        validate=validate.Length(3, 200),
        metadata={"example": "ID card checked: Mei Lin"},
    )

    @ma.validates_schema
    def _code_or_override(self, data, **kwargs):
        if (data.get("code") is None) == (data.get("override_reason") is None):
            raise ma.ValidationError("Give either the code or an override_reason.", "code")


class StaffCancelSchema(ma.Schema):
    reason = Text(
        required=True, validate=validate.Length(3, 200), metadata={"example": "Item damaged"}
    )


class PassSchema(ma.Schema):
    token = Text(metadata={"example": "WyIwYjdkNGY1ZS…"})
    expires_at = StoredDateTime(metadata={"example": "2026-12-02T08:01:00+00:00"})
    qr_svg = Text(
        metadata={"example": "<svg xmlns=…>…</svg>", "description": "The token as a QR code"}
    )


class CollectSchema(ma.Schema):
    pass_ = Text(
        data_key="pass",
        required=True,
        validate=validate.Length(1, 512),
        metadata={"example": "WyIwYjdkNGY1ZS…"},
    )


class ShortSchema(ma.Schema):
    missing = Int(required=True, validate=validate.Range(1, 999), metadata={"example": 1})


class PickReservationSchema(ma.Schema):
    id = Text(metadata={"example": "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d"})
    qty = Int(metadata={"example": 2})
    state = Text(metadata={"example": "reserved"})
    created_at = StoredDateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})


class PickLineSchema(ma.Schema):
    sku_id = Int(metadata={"example": 501})
    title = Text(metadata={"example": "Oat latte 350 ml"})
    units = Int(metadata={"example": 3})
    reservations = ma.fields.List(ma.fields.Nested(PickReservationSchema))


PickListSchema = page_schema(PickLineSchema, "PickListSchema")
