"""Request and response shapes of stock, sync, stock near me and the quote."""

import marshmallow as ma
from marshmallow import validate

from app.catalog.schemas import ID
from app.coupons.schemas import COUPON_ID, CouponQuoteSchema
from app.fields import Bool, Int, Text
from app.geo import lat_field, lng_field, radius_field
from app.inventory.models import CHANNELS
from app.pagination import FeedArgsSchema, PageArgsSchema, feed_schema, page_schema

MAX_UNITS = 1_000_000
MAX_SYNC_ROWS = 5000


class StockSetSchema(ma.Schema):
    channel = Text(required=True, validate=validate.OneOf(CHANNELS), metadata={"example": "shared"})
    on_hand = Int(required=True, validate=validate.Range(0, MAX_UNITS), metadata={"example": 12})


class StockSchema(ma.Schema):
    store_id = Int(metadata={"example": 12})
    sku_id = Int(metadata={"example": 501})
    channel = Text(metadata={"example": "shared"})
    on_hand = Int(metadata={"example": 12})
    reserved = Int(metadata={"example": 2})
    available = Int(metadata={"example": 10})
    updated_at = ma.fields.DateTime(metadata={"example": "2026-11-25T16:00:00+00:00"})


class SyncRowSchema(ma.Schema):
    store_id = Int(required=True, validate=ID, metadata={"example": 12})
    sku_id = Int(required=True, validate=ID, metadata={"example": 501})
    on_hand = Int(validate=validate.Range(0, MAX_UNITS), metadata={"example": 12})
    delta = Int(validate=validate.Range(-MAX_UNITS, MAX_UNITS), metadata={"example": -3})
    channel = Text(
        load_default=None, validate=validate.OneOf(CHANNELS), metadata={"example": "shared"}
    )
    source_doc = Text(
        validate=validate.Length(1, 100),
        metadata={"example": "POS-0042-20261202-118", "description": "Counts once per merchant"},
    )
    expect_on_hand = Int(
        validate=validate.Range(0, MAX_UNITS),
        metadata={"example": 12, "description": "Compare-and-set: the on_hand you expect now"},
    )
    occurred_at = ma.fields.AwareDateTime(
        metadata={
            "example": "2026-12-02T08:00:00+00:00",
            "description": "When counted or moved: an older one never overwrites a newer count",
        }
    )


class StockSyncSchema(ma.Schema):
    mode = Text(
        required=True, validate=validate.OneOf(("set", "delta")), metadata={"example": "set"}
    )
    rows = ma.fields.List(
        ma.fields.Nested(SyncRowSchema),
        required=True,
        validate=validate.Length(1, MAX_SYNC_ROWS),
        metadata={"example": [{"store_id": 12, "sku_id": 501, "on_hand": 12}]},
    )
    error_policy = Text(
        load_default="reject_all",
        validate=validate.OneOf(("reject_all", "reject_failed_rows")),
        metadata={"example": "reject_all"},
    )

    @ma.validates_schema
    def _count_per_mode(self, data, **kwargs):
        needed = "delta" if data.get("mode") == "delta" else "on_hand"
        errors = {
            i: {needed: [f"Required in {data.get('mode')} mode."]}
            for i, row in enumerate(data.get("rows") or [])
            if needed not in row
        }
        if errors:
            raise ma.ValidationError({"rows": errors})


class StockSyncResultSchema(ma.Schema):
    applied = Int(metadata={"example": 2})
    created = Int(metadata={"example": 1})
    updated = Int(metadata={"example": 1})
    duplicates = Int(metadata={"example": 0, "description": "Lines of documents applied before"})
    stale = Int(metadata={"example": 0, "description": "Lines older than the row's last count"})
    failed = Int(metadata={"example": 0})
    errors = ma.fields.Dict(
        keys=Text(),
        values=ma.fields.List(Text()),
        metadata={"example": {}, "description": "With reject_failed_rows: the rows not applied"},
    )
    results = ma.fields.List(
        Text(),
        metadata={"example": ["applied", "duplicate"], "description": "Per row, in order"},
    )


class StockChangeArgsSchema(FeedArgsSchema):
    store_id = ma.fields.Integer(load_default=None, validate=ID, metadata={"example": 12})
    sku_id = ma.fields.Integer(load_default=None, validate=ID, metadata={"example": 501})


class StockChangeSchema(ma.Schema):
    id = Int(metadata={"example": 90211})
    store_id = Int(metadata={"example": 12})
    sku_id = Int(metadata={"example": 501})
    on_hand_delta = Int(metadata={"example": 0})
    reserved_delta = Int(metadata={"example": 1})
    on_hand = Int(metadata={"example": 12})
    reserved = Int(metadata={"example": 3})
    available = Int(metadata={"example": 9})
    reason = Text(metadata={"example": "reservation.created"})
    ref = Text(allow_none=True, metadata={"example": "3f0c2a8e-reservation-id"})
    created_at = ma.fields.DateTime(metadata={"example": "2026-12-02T08:00:00+00:00"})


StockChangePageSchema = feed_schema(StockChangeSchema, "StockChangePageSchema")


class SkuNearbyArgsSchema(PageArgsSchema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    qty = ma.fields.Integer(load_default=1, validate=validate.Range(1, 99), metadata={"example": 1})
    radius_m = radius_field(10_000)


class StoreRefSchema(ma.Schema):
    id = Int(metadata={"example": 12})
    name = Text(metadata={"example": "Leaf & Bean Da'an"})
    address = Text(metadata={"example": "1 Roosevelt Rd"})
    city = Text(metadata={"example": "Taipei"})


class SkuNearbySchema(ma.Schema):
    store = ma.fields.Nested(StoreRefSchema)
    distance_m = Int(metadata={"example": 420})
    channel = Text(metadata={"example": "shared"})
    available = Int(metadata={"example": 7})
    reservable = Bool(metadata={"example": True})


SkuNearbyPageSchema = page_schema(SkuNearbySchema, "SkuNearbyPageSchema")


class CartLineSchema(ma.Schema):
    sku_id = Int(required=True, validate=ID, metadata={"example": 501})
    qty = Int(required=True, validate=validate.Range(1, 99), metadata={"example": 2})


class CartField(ma.fields.List):
    """Cart lines; a SKU listed twice is one line of the summed quantity, as a shop's cart
    adds up the same item put in twice."""

    def _deserialize(self, value, attr, data, **kwargs):
        merged: dict[int, int] = {}
        for line in super()._deserialize(value, attr, data, **kwargs):
            merged[line["sku_id"]] = merged.get(line["sku_id"], 0) + line["qty"]
        return [{"sku_id": sku_id, "qty": qty} for sku_id, qty in merged.items()]


CART = CartField(
    ma.fields.Nested(CartLineSchema),
    required=True,
    validate=validate.Length(1, 50),
    metadata={"example": [{"sku_id": 501, "qty": 2}]},
)


class QuoteSchema(ma.Schema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    radius_m = radius_field(10_000)
    items = CART
    coupon_id = COUPON_ID


class MissingLineSchema(ma.Schema):
    sku_id = Int(metadata={"example": 501})
    requested = Int(metadata={"example": 2})
    available = Int(metadata={"example": 1})


class QuoteStoreSchema(ma.Schema):
    store = ma.fields.Nested(StoreRefSchema)
    distance_m = Int(metadata={"example": 420})


class PartialStoreSchema(QuoteStoreSchema):
    missing = ma.fields.List(ma.fields.Nested(MissingLineSchema))


class QuoteResultSchema(ma.Schema):
    stores = ma.fields.List(ma.fields.Nested(QuoteStoreSchema))
    partial = ma.fields.List(ma.fields.Nested(PartialStoreSchema))
    coupon = ma.fields.Nested(CouponQuoteSchema, metadata={"description": "With coupon_id only"})


class ShelfItemSchema(ma.Schema):
    sku_id = Int(metadata={"example": 501})
    product_id = Int(metadata={"example": 77})
    product_title = Text(metadata={"example": "Oolong tea"})
    code = Text(metadata={"example": "TEA-OOLONG-100G"})
    title = Text(allow_none=True, metadata={"example": "100 g tin"})
    price_cents = Int(metadata={"example": 34900})
    currency = Text(metadata={"example": "TWD"})
    available = Int(metadata={"example": 4})
    reservable = Bool(metadata={"example": True})


ShelfPageSchema = page_schema(ShelfItemSchema, "ShelfPage")
