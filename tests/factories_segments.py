"""Segment test data: segments straight as rows, and the facts their rules test."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert

from app.coupons.models import Coupon
from app.feed.reading.models import Follow, MerchantFollowerCount
from app.segments import rules
from app.segments.models import Segment
from tests import factories_feed as feed_factory


def segment(session, *, merchant, rule: dict, name: str = "Fans") -> Segment:
    s = Segment(merchant_id=merchant.id, name=name, rule=rules.parse_rule(rule)[0])
    session.add(s)
    session.flush()  # id for the caller
    return s


def follow(session, *, user_id: int, merchant) -> None:
    """The user follows the merchant, counted as the feed counts follows."""
    session.add(Follow(user_id=user_id, merchant_id=merchant.id))
    counted = insert(MerchantFollowerCount).values(merchant_id=merchant.id, followers=1)
    session.execute(
        counted.on_conflict_do_update(
            index_elements=[MerchantFollowerCount.merchant_id],
            set_={"followers": MerchantFollowerCount.followers + 1},
        )
    )  # flushes the follow first: visible to the next statement


def pickup(session, *, user_id: int, store, skus, days_ago: float = 1):
    """A reservation picked up `days_ago` days ago."""
    r = feed_factory.reservation(session, user_id=user_id, store=store, skus=skus)
    r.picked_up_at = datetime.now(UTC) - timedelta(days=days_ago)
    session.flush()  # visible to the next statement
    return r


def coupon(session, *, user_id: int, campaign, used: bool = False) -> Coupon:
    """A coupon of `campaign` in the user's wallet (used: redeemed)."""
    now = datetime.now(UTC)
    c = Coupon(
        campaign_id=campaign.id,
        merchant_id=campaign.merchant_id,
        user_id=user_id,
        code=f"T{user_id:04d}-{campaign.id:04d}-{int(used)}",
        state="used" if used else "unused",
        redeemed_at=now if used else None,
        expires_at=now + timedelta(days=30),
    )
    session.add(c)
    session.flush()  # id for the caller
    return c
