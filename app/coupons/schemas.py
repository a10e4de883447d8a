"""Request and response shapes of coupon campaigns, claims, the wallet and redemption."""

from datetime import UTC

import marshmallow as ma
from marshmallow import validate

from app.coupons.models import ACCURACY_CAP_M, CAMPAIGN_STATES, COUPON_STATES, KINDS
from app.fields import Int, Text
from app.geo import MAX_RADIUS_M, lat_field, lng_field, radius_field
from app.pagination import PageArgsSchema, page_schema

MAX_CENTS = 100_000_000  # one million in major units: far above any single coupon or basket
ID = validate.Range(1, 2**62)


def cents(example: int, **kwargs) -> ma.fields.Integer:
    """An amount in minor units, 0..MAX_CENTS: a whole number (a plain Integer took 7.5 as 7)."""
    return Int(validate=validate.Range(0, MAX_CENTS), metadata={"example": example}, **kwargs)


def when(example: str, **kwargs) -> ma.fields.AwareDateTime:
    """An RFC 3339 instant; one without an offset is taken as UTC."""
    return ma.fields.AwareDateTime(default_timezone=UTC, metadata={"example": example}, **kwargs)


def id_list(example: list[int], **kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Integer(validate=ID),
        validate=validate.Length(1, 1000),
        metadata={"example": example},
        **kwargs,
    )


class CampaignCreateSchema(ma.Schema):
    title = Text(required=True, validate=validate.Length(1, 120), metadata={"example": "NT$50 off"})
    description = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"example": "On any drink over NT$200"},
    )
    kind = Text(required=True, validate=validate.OneOf(KINDS), metadata={"example": "amount_off"})
    value_cents = cents(5000, load_default=None, allow_none=True)
    percent_off = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 100),
        metadata={"example": 15},
    )
    max_discount_cents = cents(10000, load_default=None, allow_none=True)
    red_packet_min_cents = cents(100, load_default=None, allow_none=True)
    red_packet_max_cents = cents(8800, load_default=None, allow_none=True)
    budget_cents = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 10**12),
        metadata={"example": 1_000_000},
    )
    min_spend_cents = cents(20000, load_default=0)
    currency = Text(
        required=True, validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "TWD"}
    )
    total_qty = Int(
        required=True, validate=validate.Range(1, 10_000_000), metadata={"example": 500}
    )
    per_user_limit = Int(load_default=1, validate=validate.Range(1, 100), metadata={"example": 1})
    claim_starts_at = when("2026-12-01T00:00:00Z", required=True)
    claim_ends_at = when("2026-12-31T16:00:00Z", required=True)
    valid_from = when("2026-12-01T00:00:00Z", load_default=None, allow_none=True)
    valid_to = when("2027-01-31T16:00:00Z", load_default=None, allow_none=True)
    valid_days_after_claim = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 3650),
        metadata={"example": None},
    )
    store_ids = id_list([12, 13], load_default=None, allow_none=True)
    sku_ids = id_list([301], load_default=None, allow_none=True)
    geofence_radius_m = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, MAX_RADIUS_M),
        metadata={"example": 300},
    )
    daily_quota_per_store = Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 1_000_000),
        metadata={"example": 50},
    )
    segment_ids = ma.fields.List(
        Int(validate=ID),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"example": [3], "description": "Only shoppers in one of these segments"},
    )
    shake_weight = Int(
        load_default=1,
        validate=validate.Range(0, 1000),
        metadata={"example": 1, "description": "Odds in a shake against others there; 0: never"},
    )


class CampaignUpdateSchema(CampaignCreateSchema):
    """Any create field; once coupons are claimed only safe changes pass (see the service)."""


class CampaignSummarySchema(ma.Schema):
    """What a shopper sees of a campaign."""

    id = Int(metadata={"example": 41})
    merchant_id = Int(metadata={"example": 3})
    title = Text(metadata={"example": "NT$50 off"})
    description = Text(allow_none=True, metadata={"example": "On any drink"})
    kind = Text(metadata={"example": "amount_off"})
    state = Text(metadata={"example": "active"})
    value_cents = Int(allow_none=True, metadata={"example": 5000})
    percent_off = Int(allow_none=True, metadata={"example": None})
    max_discount_cents = Int(allow_none=True, metadata={"example": None})
    red_packet_min_cents = Int(allow_none=True, metadata={"example": None})
    red_packet_max_cents = Int(allow_none=True, metadata={"example": None})
    min_spend_cents = Int(metadata={"example": 20000})
    currency = Text(metadata={"example": "TWD"})
    total_qty = Int(metadata={"example": 500})
    remaining_qty = ma.fields.Function(
        lambda c: c.total_qty - c.claimed_qty, metadata={"example": 120}
    )
    per_user_limit = Int(metadata={"example": 1})
    claim_starts_at = ma.fields.DateTime()
    claim_ends_at = ma.fields.DateTime()
    valid_from = ma.fields.DateTime(allow_none=True)
    valid_to = ma.fields.DateTime(allow_none=True)
    valid_days_after_claim = Int(allow_none=True, metadata={"example": None})
    store_ids = ma.fields.List(Int(), allow_none=True, metadata={"example": None})
    sku_ids = ma.fields.List(Int(), allow_none=True, metadata={"example": None})
    geofence_radius_m = Int(allow_none=True, metadata={"example": 300})


class CampaignPublicSchema(CampaignSummarySchema):
    """A campaign as a shopper sees it, with how many of it they hold when signed in."""

    my_claims = Int(
        allow_none=True,
        metadata={"example": 0, "description": "Coupons you hold of it (signed in only)"},
    )


class CampaignSchema(CampaignSummarySchema):
    """The merchant's full view of a campaign."""

    budget_cents = Int(allow_none=True, metadata={"example": None})
    spent_cents = Int(metadata={"example": 0})
    claimed_qty = Int(metadata={"example": 380})
    daily_quota_per_store = Int(allow_none=True, metadata={"example": None})
    segment_ids = ma.fields.List(Int(), metadata={"example": [3]})
    shake_weight = Int(metadata={"example": 1})
    ended_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CampaignListArgsSchema(PageArgsSchema):
    state = Text(
        load_default=None, validate=validate.OneOf(CAMPAIGN_STATES), metadata={"example": "active"}
    )


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPage")


class StoreStatsSchema(ma.Schema):
    store_id = Int(metadata={"example": 12})
    claimed = Int(metadata={"example": 40})
    redeemed = Int(metadata={"example": 22})


class SegmentStatsSchema(ma.Schema):
    """The claims of one segment's shoppers (membership as of now, no position)."""

    segment_id = Int(metadata={"example": 3})
    name = Text(metadata={"example": "Lapsed fans"})
    claimed = Int(metadata={"example": 40})
    redeemed = Int(metadata={"example": 12})
    redemption_rate = ma.fields.Float(metadata={"example": 0.3})


class CampaignStatsSchema(ma.Schema):
    campaign_id = Int(metadata={"example": 41})
    claimed = Int(metadata={"example": 380})
    redeemed = Int(metadata={"example": 150})
    held = Int(metadata={"example": 3})
    expired = Int(metadata={"example": 12})
    unused = Int(metadata={"example": 215})
    remaining = Int(metadata={"example": 120})
    redemption_rate = ma.fields.Float(metadata={"example": 0.3947})
    discount_cents = Int(metadata={"example": 750000})
    budget_cents = Int(allow_none=True, metadata={"example": None})
    spent_cents = Int(metadata={"example": 0})
    per_store = ma.fields.List(ma.fields.Nested(StoreStatsSchema))
    by_segment = ma.fields.List(ma.fields.Nested(SegmentStatsSchema))


class NearbyArgsSchema(PageArgsSchema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    radius = radius_field(2000)
    accuracy_m = ma.fields.Integer(
        load_default=0, validate=validate.Range(0, 10_000), metadata={"example": 25}
    )


class NearStoreSchema(ma.Schema):
    id = Int(metadata={"example": 12})
    name = Text(metadata={"example": "Leaf & Bean Xinyi"})


class NearbyCampaignSchema(ma.Schema):
    campaign = ma.fields.Nested(CampaignSummarySchema)
    store = ma.fields.Nested(NearStoreSchema, metadata={"description": "The nearest store"})
    distance_m = Int(metadata={"example": 180})


NearbyPageSchema = page_schema(NearbyCampaignSchema, "NearbyCampaignPage")


class ClaimSchema(ma.Schema):
    lat = lat_field(load_default=None, allow_none=True)
    lng = lng_field(load_default=None, allow_none=True)
    accuracy_m = Int(  # 2.5 (or 1e-42) metres is refused, not truncated
        load_default=0,
        validate=validate.Range(0, 10_000),
        metadata={
            "example": 25,
            "description": f"The fix's accuracy; widens a geofence by at most {ACCURACY_CAP_M} m",
        },
    )

    @ma.validates_schema
    def _both_or_neither(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("Give lat and lng together.", "lat")


class CouponSchema(ma.Schema):
    """A coupon in the wallet; `state` is exact at read time (expired once past `expires_at`)."""

    id = Int(metadata={"example": 9001})
    campaign = ma.fields.Nested(CampaignSummarySchema)
    state = Text(attribute="current_state", metadata={"example": "unused"})
    amount_cents = Int(allow_none=True, metadata={"example": 5000})
    claimed_at = ma.fields.DateTime()
    valid_from = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime()
    claim_store_id = Int(allow_none=True, metadata={"example": 12})
    reservation_id = Int(allow_none=True, metadata={"example": None})
    redeemed_at = ma.fields.DateTime(allow_none=True)
    redeemed_store_id = Int(allow_none=True, metadata={"example": None})
    discount_cents = Int(allow_none=True, metadata={"example": None})


class CouponDetailSchema(CouponSchema):
    code = Text(
        metadata={"example": "7KQM-4XRT-9PLC-2HWN", "description": "Shown (or as a QR) at the till"}
    )


class WalletArgsSchema(PageArgsSchema):
    state = Text(
        load_default=None,
        validate=validate.OneOf(COUPON_STATES),
        metadata={"example": "unused"},
    )


WalletPageSchema = page_schema(CouponSchema, "WalletPage")


class BasketItemSchema(ma.Schema):
    sku_id = Int(required=True, validate=ID, metadata={"example": 301})
    amount_cents = cents(12000, required=True)


class RedeemSchema(ma.Schema):
    code = Text(
        required=True,
        validate=validate.Regexp(r"^[0-9A-Za-z-]{4,24}$"),
        metadata={"example": "7KQM-4XRT-9PLC-2HWN"},
    )
    basket_cents = cents(32000, required=True)
    currency = Text(
        load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"), metadata={"example": "TWD"}
    )
    items = ma.fields.List(
        ma.fields.Nested(BasketItemSchema),
        load_default=None,
        validate=validate.Length(1, 200),
        metadata={"description": "Needed when the campaign is limited to some SKUs"},
    )

    @ma.validates_schema
    def _items_within_basket(self, data, **kwargs):
        items = data.get("items") or ()
        if sum(item["amount_cents"] for item in items) > data.get("basket_cents", 0):
            raise ma.ValidationError("Items add up to more than basket_cents.", "items")


class RedemptionSchema(ma.Schema):
    coupon_id = Int(attribute="id", metadata={"example": 9001})
    campaign_id = Int(metadata={"example": 41})
    state = Text(attribute="current_state", metadata={"example": "used"})
    basket_cents = Int(allow_none=True, metadata={"example": 32000})
    discount_cents = Int(allow_none=True, metadata={"example": 5000})
    total_cents = ma.fields.Function(
        lambda c: None if c.basket_cents is None else c.basket_cents - c.discount_cents,
        metadata={"example": 27000},
    )
    redeemed_at = ma.fields.DateTime(allow_none=True)
    redeemed_store_id = Int(allow_none=True, metadata={"example": 12})
    voided_at = ma.fields.DateTime(allow_none=True)
    void_reason = Text(allow_none=True, metadata={"example": None})


class VoidSchema(ma.Schema):
    reason = Text(
        required=True, validate=validate.Length(1, 200), metadata={"example": "Till error"}
    )


COUPON_ID = ma.fields.Integer(
    load_default=None,
    validate=ID,
    metadata={"example": 9001, "description": "One of your coupons (signed in)"},
)


class CouponPriceSchema(ma.Schema):
    """What a coupon takes off a pickup cart at list prices."""

    coupon_id = Int(metadata={"example": 9001})
    subtotal_cents = Int(metadata={"example": 32000})
    discount_cents = Int(metadata={"example": 5000})
    total_cents = Int(metadata={"example": 27000})


class CouponQuoteSchema(CouponPriceSchema):
    store_ids = ma.fields.List(
        Int(),
        metadata={"example": [12], "description": "The quoted stores where the coupon applies"},
    )
    reason = Text(
        allow_none=True,
        metadata={"example": None, "description": "Why it applies nowhere, e.g. coupons.expired"},
    )


class ShakeSchema(ma.Schema):
    lat = lat_field(required=True)
    lng = lng_field(required=True)
    accuracy_m = Int(  # 2.5 (or 1e-42) metres is refused, not truncated
        load_default=0,
        validate=validate.Range(0, 10_000),
        metadata={"example": 25, "description": "The fix's accuracy in metres"},
    )


class ShakeResultSchema(ma.Schema):
    result = Text(metadata={"example": "coupon", "description": "coupon, or nothing this time"})
    coupon = ma.fields.Nested(CouponDetailSchema, allow_none=True)
