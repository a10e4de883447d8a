"""Request and response shapes of orders."""

import marshmallow as ma
from marshmallow import validate

from app.catalog.schemas import ID
from app.fields import PHONE, Int, Text
from app.geo import lat_field, lng_field
from app.idempotency import StoredDateTime
from app.inventory.schemas import CART
from app.orders.models import (
    FULFILMENTS,
    PAYMENT_METHODS,
    PAYMENT_STATES,
    STATES,
    TRANSFER_STATES,
)
from app.pagination import PageArgsSchema, page_schema
from app.pickup.schemas import ReservationItemSchema

UUID_EXAMPLE = "0b7d4f5e-9a51-4c3b-8a6e-7f6f1c2a8e2d"
DATE = "2026-12-02T12:00:00+00:00"


class OrderDeliverySchema(ma.Schema):
    name = Text(required=True, validate=validate.Length(1, 120), metadata={"example": "Mei Lin"})
    phone = Text(
        load_default=None, validate=validate.Regexp(PHONE), metadata={"example": "+886 912 345 678"}
    )
    address = Text(
        required=True, validate=validate.Length(1, 255), metadata={"example": "7 Songren Road"}
    )
    city = Text(required=True, validate=validate.Length(1, 80), metadata={"example": "Taipei"})
    lat = lat_field(required=True)
    lng = lng_field(required=True)


class OrderCreateSchema(ma.Schema):
    fulfilment = Text(
        load_default="pickup",
        validate=validate.OneOf(FULFILMENTS),
        metadata={
            "example": "pickup",
            "description": "pickup (at store_id), or ship_from_store (to delivery, from the "
            "nearest store holding the whole cart; paid online)",
        },
    )
    store_id = Int(
        load_default=None, validate=ID, metadata={"example": 12, "description": "For pickup"}
    )
    delivery = ma.fields.Nested(
        OrderDeliverySchema, load_default=None, metadata={"description": "For ship_from_store"}
    )
    items = CART
    payment_method = Text(
        required=True,
        validate=validate.OneOf(PAYMENT_METHODS),
        metadata={
            "example": "online",
            "description": "online (pay now), or at_store (at the till)",
        },
    )
    coupon_id = Int(
        load_default=None,
        validate=ID,
        metadata={"example": 9001, "description": "One of your wallet coupons (pickup orders)"},
    )
    points = Int(
        load_default=0,
        validate=validate.Range(0, 10_000_000),
        metadata={
            "example": 0,
            "description": "Membership points to pay with (pickup orders; one point is "
            "ORDER_POINT_VALUE_CENTS minor units)",
        },
    )

    @ma.validates_schema
    def _where_it_goes(self, data, **kwargs):
        if data["fulfilment"] != "pickup":
            for field in ("coupon_id", "points"):
                if data.get(field):
                    raise ma.ValidationError("Only pickup orders take these.", field)
        if data["fulfilment"] == "pickup":
            if data.get("store_id") is None:
                raise ma.ValidationError("A pickup order names its store.", "store_id")
            if data.get("delivery") is not None:
                raise ma.ValidationError("A pickup order has no delivery address.", "delivery")
            return
        if data.get("delivery") is None:
            raise ma.ValidationError("A shipped order needs a delivery address.", "delivery")
        if data.get("store_id") is not None:
            raise ma.ValidationError("The dispatch chooses the store.", "store_id")
        if data.get("payment_method") != "online":
            raise ma.ValidationError("A shipped order is paid online.", "payment_method")


class OrderPaySchema(ma.Schema):
    payment_method = Text(
        required=True,
        validate=validate.Regexp(r"^pm_[A-Za-z0-9_]{1,100}$"),
        metadata={"example": "pm_card_visa", "description": "The provider's payment method id"},
    )


class RefundSchema(ma.Schema):
    amount_cents = Int(metadata={"example": 2400})
    state = Text(metadata={"example": "pending"})
    reason = Text(metadata={"example": "The order was not collected in time."})


class OrderSchema(ma.Schema):
    id = Text(metadata={"example": UUID_EXAMPLE})
    store_id = Int(metadata={"example": 12})
    state = Text(validate=validate.OneOf(STATES), metadata={"example": "pending_payment"})
    fulfilment = Text(metadata={"example": "pickup"})
    payment_method = Text(metadata={"example": "online"})
    payment_state = Text(validate=validate.OneOf(PAYMENT_STATES), metadata={"example": "unpaid"})
    amount_cents = Int(metadata={"example": 2400, "description": "What is left to pay in money"})
    discount_cents = Int(
        metadata={"example": 0, "description": "Taken off by the coupon and the points"}
    )
    points_spent = Int(metadata={"example": 0})
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
    delivery = ma.fields.Nested(OrderDeliverySchema, allow_none=True)
    tracking_ref = Text(allow_none=True, metadata={"example": None})
    shipped_at = StoredDateTime(allow_none=True, metadata={"example": None})
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema))


class OrderCreatedSchema(OrderSchema):
    pickup_code = Text(
        allow_none=True,
        metadata={
            "example": "042917",
            "description": "Shown only in this answer; a retry with the same key gets a new one.",
        },
    )


class OfferSchema(ma.Schema):
    store_id = Int(metadata={"example": 12})
    outcome = Text(
        metadata={"example": "offered", "description": "offered, accepted, rejected, timed_out"}
    )
    at = Text(metadata={"example": DATE})
    reason = Text(allow_none=True, metadata={"example": None})


class StaffOrderSchema(OrderSchema):
    class Meta:
        exclude = ("client_secret",)

    user_id = Int(metadata={"example": 7})
    reservation_id = Text(metadata={"example": UUID_EXAMPLE, "description": "The hold's id"})
    offers = ma.fields.List(
        ma.fields.Nested(OfferSchema), metadata={"description": "Dispatch: each store's turn"}
    )
    placed_by_user_id = Int(
        allow_none=True, metadata={"example": None, "description": "Staff (endless aisle)"}
    )
    transfer_from_store_id = Int(
        allow_none=True,
        metadata={"example": None, "description": "Endless aisle: the store the units come from"},
    )
    transfer_state = Text(
        allow_none=True,
        validate=validate.OneOf(TRANSFER_STATES),
        metadata={"example": None, "description": "requested, in_transit, received"},
    )


OrderPageSchema = page_schema(OrderSchema, "OrderPageSchema")
StaffOrderPageSchema = page_schema(StaffOrderSchema, "StaffOrderPageSchema")


class StoreOrderArgsSchema(PageArgsSchema):
    state = Text(load_default=None, validate=validate.OneOf(STATES), metadata={"example": "paid"})


class WebhookReceivedSchema(ma.Schema):
    received = ma.fields.Boolean(metadata={"example": True})
    duplicate = ma.fields.Boolean(metadata={"example": False})


class StripeSignatureSchema(ma.Schema):
    """The webhook's `Stripe-Signature` header: a timestamp and one or more HMACs."""

    class Meta:
        unknown = ma.EXCLUDE

    signature = Text(
        data_key="Stripe-Signature",
        required=True,
        validate=validate.Regexp(r"^t=[0-9]{1,12}(,v[0-9]=[0-9a-f]{1,128})+$"),
        metadata={"example": "t=1764676800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff5"},
    )


class OrderRejectSchema(ma.Schema):
    reason = Text(
        required=True, validate=validate.Length(3, 200), metadata={"example": "Out of stock here"}
    )


class ShipSchema(ma.Schema):
    tracking_ref = Text(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{4,100}$"),
        metadata={"example": "TW123456789"},
    )


class ReturnLineSchema(ma.Schema):
    sku_id = Int(required=True, validate=ID, metadata={"example": 501})
    qty = Int(required=True, validate=validate.Range(1, 999), metadata={"example": 1})


class ReturnCreateSchema(ma.Schema):
    order_id = Text(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
        metadata={"example": UUID_EXAMPLE},
    )
    lines = ma.fields.List(
        ma.fields.Nested(ReturnLineSchema), required=True, validate=validate.Length(1, 50)
    )
    reason = Text(
        required=True, validate=validate.Length(3, 200), metadata={"example": "Wrong size"}
    )


class ReturnSchema(ma.Schema):
    id = Int(metadata={"example": 31})
    order_id = Text(metadata={"example": UUID_EXAMPLE})
    store_id = Int(metadata={"example": 12})
    lines = ma.fields.List(ma.fields.Nested(ReturnLineSchema))
    amount_cents = Int(metadata={"example": 1200})
    currency = Text(metadata={"example": "TWD"})
    refund_method = Text(
        metadata={"example": "provider", "description": "provider (online), or till (cash back)"}
    )
    points_taken_back = Int(
        metadata={"example": 0, "description": "Of the points the order earned"}
    )
    reason = Text(metadata={"example": "Wrong size"})
    created_at = StoredDateTime(metadata={"example": DATE})


class AisleArgsSchema(ma.Schema):
    sku_id = ma.fields.Integer(required=True, validate=ID, metadata={"example": 501})


class AisleStoreRefSchema(ma.Schema):
    id = Int(metadata={"example": 14})
    name = Text(metadata={"example": "Leaf & Bean Daan"})
    address = Text(metadata={"example": "No. 1, Daan Rd"})
    city = Text(metadata={"example": "Taipei"})


class AisleStoreSchema(ma.Schema):
    store = ma.fields.Nested(AisleStoreRefSchema)
    distance_m = Int(metadata={"example": 1200})
    available = Int(metadata={"example": 4})


class AisleSchema(ma.Schema):
    sku_id = Int(metadata={"example": 501})
    stores = ma.fields.List(
        ma.fields.Nested(AisleStoreSchema),
        metadata={"description": "The nearest other stores with shared units, nearest first"},
    )
    online_only = Int(
        metadata={"example": 30, "description": "Units in the merchant's online-only pool"}
    )


class AisleOrderCreateSchema(ma.Schema):
    shopper_email = ma.fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata={"example": "mei@example.com", "description": "The shopper's account"},
    )
    source_store_id = Int(
        required=True,
        validate=ID,
        metadata={"example": 14, "description": "Another store, whose shared stock it comes from"},
    )
    items = CART
    delivery = ma.fields.Nested(
        OrderDeliverySchema,
        load_default=None,
        metadata={
            "description": "Shipped to the shopper (paid at the till now); without it, "
            "collected at this store after a transfer (paid at the till on collection)"
        },
    )


class AisleOrderCreatedSchema(StaffOrderSchema):
    pickup_code = Text(
        allow_none=True,
        metadata={
            "example": "042917",
            "description": "collect_here: the shopper's code at this store (shown only here)",
        },
    )
