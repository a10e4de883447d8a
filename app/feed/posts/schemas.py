"""Request and response shapes of posts (merchant admin and readers) and feed rewards."""

from datetime import UTC

import marshmallow as ma
from marshmallow import validate

from app.feed.media.schemas import MediaSchema
from app.feed.posts.models import POST_KINDS
from app.fields import Bool, Int, Text
from app.idempotency import StoredDateTime
from app.pagination import PageArgsSchema, page_schema

ID = validate.Range(1, 2**62)
STATUSES = ("draft", "scheduled", "published", "hidden")
MAX_PRICE_CENTS = 10**12


def _when(**kwargs) -> ma.fields.AwareDateTime:
    """An RFC 3339 time; one without an offset is taken as UTC."""
    return ma.fields.AwareDateTime(
        default_timezone=UTC, metadata={"example": "2026-12-01T09:00:00Z"}, **kwargs
    )


# --- posts (admin) --------------------------------------------------------------------------


class PollInputSchema(ma.Schema):
    options = ma.fields.List(
        Text(validate=validate.Length(1, 80)),
        validate=validate.Length(2, 10),
        metadata={"example": ["Oolong", "Matcha"]},
    )
    max_choices = Int(validate=validate.Range(1, 10), metadata={"example": 1})
    closes_at = _when(allow_none=True)
    hide_results_until_close = Bool(metadata={"example": False})


class GuessInputSchema(ma.Schema):
    sku_id = Int(validate=ID, metadata={"example": 7})
    closes_at = _when()
    winners = Int(validate=validate.Range(1, 100), metadata={"example": 3})
    price_cents = Int(
        allow_none=True,
        validate=validate.Range(1, MAX_PRICE_CENTS),
        metadata={
            "example": 42000,
            "description": "The answer, hidden until close; left out: the SKU's price then",
        },
    )


class PostUpdateSchema(ma.Schema):
    title = Text(
        allow_none=True, validate=validate.Length(1, 200), metadata={"example": "New teas"}
    )
    body = Text(
        allow_none=True,
        validate=validate.Length(max=10_000),
        metadata={"example": "Three spring harvests arrived this week."},
    )
    image_ids = ma.fields.List(
        Int(validate=ID), validate=validate.Length(max=9), metadata={"example": [41]}
    )
    video_url = ma.fields.Url(
        allow_none=True,
        schemes={"https"},
        validate=validate.Length(max=2048),
        metadata={"example": "https://video.example.com/v/123.mp4"},
    )
    cover_id = Int(allow_none=True, validate=ID, metadata={"example": 42})
    sku_ids = ma.fields.List(
        Int(validate=ID), validate=validate.Length(max=20), metadata={"example": [7]}
    )
    store_id = Int(allow_none=True, validate=ID, metadata={"example": 12})
    cities = ma.fields.List(
        Text(validate=validate.Length(1, 80)),
        validate=validate.Length(max=20),
        metadata={"example": ["Taipei"]},
    )
    segment_ids = ma.fields.List(
        Int(validate=ID),
        validate=validate.Length(max=10),
        metadata={"example": [3], "description": "Only shoppers in one of these segments"},
    )
    poll = ma.fields.Nested(PollInputSchema)
    guess = ma.fields.Nested(GuessInputSchema)
    reward_campaign_id = Int(
        allow_none=True,
        validate=ID,
        metadata={
            "example": 9,
            "description": "A coupon campaign rewarding a poll's voters or a guess game's winners",
        },
    )


class PostCreateSchema(PostUpdateSchema):
    kind = Text(required=True, validate=validate.OneOf(POST_KINDS), metadata={"example": "article"})


class PublishSchema(ma.Schema):
    publish_at = _when(load_default=None)


class HideSchema(ma.Schema):
    reason = Text(
        load_default=None, validate=validate.Length(max=500), metadata={"example": "Outdated"}
    )


class AdminPostArgsSchema(PageArgsSchema):
    status = Text(
        load_default=None, validate=validate.OneOf(STATUSES), metadata={"example": "draft"}
    )


# --- posts (readers) ------------------------------------------------------------------------


class RewardSchema(ma.Schema):
    campaign_id = Int(metadata={"example": 9})
    granted = Bool(metadata={"example": False})
    coupon_id = Int(allow_none=True, metadata={"example": None})
    reason = Text(allow_none=True, metadata={"example": "coupons.sold_out"})


class PollOptionSchema(ma.Schema):
    id = Int(metadata={"example": 5})
    label = Text(metadata={"example": "Oolong"})
    votes = Int(allow_none=True, metadata={"example": 12})
    percent = ma.fields.Float(allow_none=True, metadata={"example": 60.0})


class PollSchema(ma.Schema):
    max_choices = Int(metadata={"example": 1})
    closes_at = StoredDateTime(allow_none=True, metadata={"example": "2026-11-25T09:00:00Z"})
    closed = Bool(metadata={"example": False})
    results_visible = Bool(metadata={"example": True})
    voter_count = Int(metadata={"example": 20})
    my_choices = ma.fields.List(Int(), allow_none=True, metadata={"example": [5]})
    options = ma.fields.List(ma.fields.Nested(PollOptionSchema))


class GuessLeaderSchema(ma.Schema):
    rank = Int(metadata={"example": 1})
    price_cents = Int(metadata={"example": 41900})
    off_by_cents = Int(metadata={"example": 100})
    mine = Bool(metadata={"example": False})


class MyGuessSchema(ma.Schema):
    price_cents = Int(metadata={"example": 41900})
    guessed_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})
    rank = Int(allow_none=True, metadata={"example": 4})
    won = Bool(allow_none=True, metadata={"example": False})
    coupon_id = Int(allow_none=True, metadata={"example": None})
    reward_reason = Text(allow_none=True, metadata={"example": "coupons.sold_out"})


class GuessGameSchema(ma.Schema):
    sku_id = Int(allow_none=True, metadata={"example": 7})
    closes_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})
    closed = Bool(metadata={"example": False})
    settled = Bool(metadata={"example": False})
    winners = Int(metadata={"example": 3})
    guess_count = Int(metadata={"example": 40})
    answer_cents = Int(
        allow_none=True, metadata={"example": None, "description": "Shown once settled"}
    )
    hidden_price_cents = Int(
        allow_none=True, metadata={"example": None, "description": "Merchant staff only"}
    )
    leaders = ma.fields.List(
        ma.fields.Nested(GuessLeaderSchema),
        metadata={"description": "The closest guesses once settled (ties: the earliest)"},
    )
    my_guess = ma.fields.Nested(MyGuessSchema, allow_none=True)


class PostMerchantSchema(ma.Schema):
    id = Int(metadata={"example": 3})
    name = Text(metadata={"example": "Leaf & Bean"})


class PostStoreSchema(ma.Schema):
    id = Int(metadata={"example": 12})
    name = Text(metadata={"example": "Leaf & Bean Xinyi"})
    city = Text(metadata={"example": "Taipei"})


class StockNearSchema(ma.Schema):
    store = ma.fields.Dict(metadata={"example": {"id": 12, "name": "Xinyi", "city": "Taipei"}})
    distance_m = Int(metadata={"example": 640})
    available = Int(metadata={"example": 4})
    reservable = Bool(metadata={"example": True})


class PostProductSchema(ma.Schema):
    sku_id = Int(metadata={"example": 7})
    title = Text(allow_none=True, metadata={"example": "250 g"})
    product_title = Text(metadata={"example": "Alishan oolong"})
    price_cents = Int(metadata={"example": 42000})
    currency = Text(metadata={"example": "TWD"})
    nearest_store = ma.fields.Nested(StockNearSchema, allow_none=True)


class PostSchema(ma.Schema):
    id = Int(metadata={"example": 101})
    merchant = ma.fields.Nested(PostMerchantSchema)
    kind = Text(metadata={"example": "article"})
    title = Text(allow_none=True, metadata={"example": "New teas"})
    body = Text(allow_none=True, metadata={"example": "Three spring harvests…"})
    images = ma.fields.List(ma.fields.Nested(MediaSchema))
    video_url = Text(allow_none=True, metadata={"example": "https://video.example.com/v/123.mp4"})
    cover = ma.fields.Nested(MediaSchema, allow_none=True)
    sku_ids = ma.fields.List(Int(), metadata={"example": [7]})
    products = ma.fields.List(ma.fields.Nested(PostProductSchema))
    store = ma.fields.Nested(PostStoreSchema, allow_none=True)
    cities = ma.fields.List(Text(), metadata={"example": ["taipei"]})
    published_at = StoredDateTime(allow_none=True, metadata={"example": "2026-11-25T09:00:00Z"})
    like_count = Int(metadata={"example": 12})
    liked_by_me = Bool(metadata={"example": False})
    distance_m = Int(allow_none=True, metadata={"example": 640})
    poll = ma.fields.Nested(PollSchema, allow_none=True)
    guess = ma.fields.Nested(GuessGameSchema, allow_none=True)
    reward = ma.fields.Nested(
        RewardSchema, allow_none=True, metadata={"description": "Only in a vote's answer"}
    )


class AdminPostSchema(PostSchema):
    state = Text(metadata={"example": "published"})
    status = Text(metadata={"example": "scheduled"})
    publish_at = StoredDateTime(allow_none=True, metadata={"example": "2026-11-25T09:00:00Z"})
    hidden_reason = Text(allow_none=True, metadata={"example": "Outdated"})
    reward_campaign_id = Int(allow_none=True, metadata={"example": 9})
    segment_ids = ma.fields.List(Int(), metadata={"example": [3]})
    created_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})
    updated_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})


PostPageSchema = page_schema(PostSchema, "PostPageSchema")
AdminPostPageSchema = page_schema(AdminPostSchema, "AdminPostPageSchema")


class FeedRewardSchema(ma.Schema):
    trigger = Text(metadata={"example": "follow"})
    campaign_id = Int(metadata={"example": 9})


class FeedRewardListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FeedRewardSchema))


class FeedRewardSetSchema(ma.Schema):
    campaign_id = Int(required=True, validate=ID, metadata={"example": 9})


class PostSegmentStatsSchema(ma.Schema):
    """The reactions of one segment's shoppers (membership as of now, no position)."""

    segment_id = Int(metadata={"example": 3})
    name = Text(metadata={"example": "Lapsed fans"})
    likes = Int(metadata={"example": 18})
    voters = Int(metadata={"example": 9})


class PostStatsSchema(ma.Schema):
    post_id = Int(metadata={"example": 5})
    likes = Int(metadata={"example": 120})
    voters = Int(metadata={"example": 40})
    by_segment = ma.fields.List(ma.fields.Nested(PostSegmentStatsSchema))
