"""Request and response shapes of the feed, likes, poll votes and follows."""

import marshmallow as ma
from marshmallow import validate

from app.feed.posts.schemas import ID, MAX_PRICE_CENTS, PostSchema, RewardSchema
from app.feed.shows.schemas import ShowSchema
from app.fields import Bool, Int, Text
from app.geo import lat_field, lng_field, radius_field
from app.idempotency import StoredDateTime
from app.pagination import PageArgsSchema, page_schema


class FeedItemSchema(PostSchema):
    type = Text(metadata={"example": "post", "description": "post or buyer_show"})
    buyer_show = ma.fields.Nested(ShowSchema, metadata={"description": "On buyer_show items"})


FeedPageSchema = page_schema(FeedItemSchema, "FeedPageSchema")


class FeedArgsSchema(PageArgsSchema):
    lat = lat_field(load_default=None)
    lng = lng_field(load_default=None)
    radius = radius_field(5000)
    sort = Text(
        load_default="latest",
        validate=validate.OneOf(("latest", "hot")),
        metadata={"example": "hot"},
    )

    @ma.validates_schema
    def _both_or_neither(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("Give lat and lng together.", "lat")


# --- reactions ------------------------------------------------------------------------------


class LikeSchema(ma.Schema):
    post_id = Int(metadata={"example": 101})
    liked = Bool(metadata={"example": True})
    like_count = Int(metadata={"example": 13})


class VoteSchema(ma.Schema):
    option_ids = ma.fields.List(
        Int(validate=ID),
        required=True,
        validate=validate.Length(1, 10),
        metadata={"example": [5]},
    )


class GuessSchema(ma.Schema):
    price_cents = Int(
        required=True,
        validate=validate.Range(1, MAX_PRICE_CENTS),
        metadata={"example": 41900},
    )


class GuessResultSchema(ma.Schema):
    post_id = Int(metadata={"example": 101})
    price_cents = Int(metadata={"example": 41900})
    guessed_at = StoredDateTime(metadata={"example": "2026-11-25T09:00:00Z"})
    closes_at = StoredDateTime(metadata={"example": "2026-11-26T09:00:00Z"})


class FollowSchema(ma.Schema):
    merchant_id = Int(metadata={"example": 3})
    following = Bool(metadata={"example": True})
    follower_count = Int(metadata={"example": 1200})
    reward = ma.fields.Nested(
        RewardSchema, allow_none=True, metadata={"description": "Only when this call followed"}
    )


class FollowedMerchantSchema(ma.Schema):
    merchant_id = Int(metadata={"example": 3})
    name = Text(metadata={"example": "Leaf & Bean"})
    follower_count = Int(metadata={"example": 1200})
    followed_at = ma.fields.DateTime(metadata={"example": "2026-11-25T09:00:00Z"})


FollowPageSchema = page_schema(FollowedMerchantSchema, "FollowPageSchema")
