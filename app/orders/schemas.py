"""Request and response shapes of orders."""

import marshmallow as ma
from marshmallow import validate

from app.catalog.schemas import ID
from app.fields import Text
from app.idempotency import StoredDateTime
from app.inventory.schemas import CART
from app.orders.models import PAYMENT_METHODS, PAYMENT_STATES, STATES
from app.pagination import PageArgsSchema, page_schema
from app.pickup.schemas import ReservationItemSchema

UUID_EXAMPLE = "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d"
DATE = "2026-12-02T12:00:00+00:00"


class OrderCreateSchema(ma.Schema):
    store_id = ma.fields.Integer(required=True, validate=ID, metadata={"example": 12})
    items = CART
    payment_method = Text(
        required=True,
        validate=validate.OneOf(PAYMENT_METHODS),
        metadata={
            "example": "online",
            "description": "online (pay now), or at_store (at the till)",
        },
    )


class OrderPaySchema(ma.Schema):
    payment_method = Text(
        required=True,
        validate=validate.Regexp(r"^pm_[A-Za-z0-9_]{1,100}$"),
        metadata={"example": "pm_card_visa", "description": "The provider's payment method id"},
    )


class RefundSchema(ma.Schema):
    amount_cents = ma.fields.Integer(metadata={"example": 2400})
    state = Text(metadata={"example": "pending"})
    reason = Text(metadata={"example": "The order was not collected in time."})


class OrderSchema(ma.Schema):
    id = Text(metadata={"example": UUID_EXAMPLE})
    store_id = ma.fields.Integer(metadata={"example": 12})
    state = Text(validate=validate.OneOf(STATES), metadata={"example": "pending_payment"})
    fulfilment = Text(metadata={"example": "pickup"})
    payment_method = Text(metadata={"example": "online"})
    payment_state = Text(validate=validate.OneOf(PAYMENT_STATES), metadata={"example": "unpaid"})
    amount_cents = ma.fields.Integer(metadata={"example": 2400})
    currency = Text(metadata={"example": "TWD"})
    items = ma.fields.List(ma.fields.Nested(ReservationItemSchema))
    expires_at = StoredDateTime(metadata={"example": DATE})
    created_at = StoredDateTime(metadata={"example": DATE})
    paid_at = StoredDateTime(allow_none=True, metadata={"example": None})
    ready_at = StoredDateTime(allow_none=True, metadata={"example": None})
    picked_up_at = StoredDateTime(allow_none=True, metadata={"example": None})
    closed_at = StoredDateTime(allow_none=True, metadata={"example": None})
    close_reason = Text(allow_none=True, metadata={"example": None})
    client_secret = Text(
        allow_none=True,
        metadata={
            "example": "pi_123_secret_456",
            "description": "The payment intent's client secret (online orders), for the app's "
            "payment sheet",
        },
    )
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema))


class OrderCreatedSchema(OrderSchema):
    pickup_code = Text(
        allow_none=True,
        metadata={
            "example": "042917",
            "description": "Shown only in this answer; a retry with the same key gets a new one.",
        },
    )


class StaffOrderSchema(OrderSchema):
    class Meta:
        exclude = ("client_secret",)

    user_id = ma.fields.Integer(metadata={"example": 7})
    reservation_id = Text(metadata={"example": UUID_EXAMPLE, "description": "The hold's id"})


OrderPageSchema = page_schema(OrderSchema, "OrderPageSchema")
StaffOrderPageSchema = page_schema(StaffOrderSchema, "StaffOrderPageSchema")


class StoreOrderArgsSchema(PageArgsSchema):
    state = Text(load_default=None, validate=validate.OneOf(STATES), metadata={"example": "paid"})


class WebhookReceivedSchema(ma.Schema):
    received = ma.fields.Boolean(metadata={"example": True})
    duplicate = ma.fields.Boolean(metadata={"example": False})
