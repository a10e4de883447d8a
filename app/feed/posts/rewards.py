"""Coupons as rewards for following a merchant, voting in its poll, or an approved buyer show.

The coupon is claimed in the same transaction as the action, inside a savepoint, through the
coupons domain's own claim (its limits, in the database): when the campaign is sold out, over
the user's limit, paused or ended, the action still succeeds, no coupon is issued and the answer
says why. Only campaigns claimable without a position (no geofence, no per-store daily quota)
can be rewards, since these actions carry no position.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Merchant
from app.coupons import claims
from app.coupons import lookups as coupons_lookups
from app.coupons.models import CouponCampaign
from app.errors import ApiError, Invalid, NotFound
from app.feed.posts.models import REWARD_TRIGGERS, FeedReward
from app.notifications import service as notifications_service


def _check_trigger(trigger: str) -> None:
    if trigger not in REWARD_TRIGGERS:
        raise NotFound(
            f"Rewards exist for: {', '.join(REWARD_TRIGGERS)}.", type="feed.no_such_reward"
        )


def check_campaign(*, session: Session, merchant_id: int, campaign_id: int, field: str) -> None:
    """A reward must be one of the merchant's campaigns, claimable without a position."""
    campaign = coupons_lookups.merchant_campaign(
        session=session, merchant_id=merchant_id, campaign_id=campaign_id
    )
    if claims.needs_position(campaign):
        raise Invalid(field, "A reward cannot be geo-fenced or limited per store and day.")


def grant(*, session: Session, user_id: int, campaign_id: int | None) -> dict | None:
    """Claim the reward coupon for `user_id`; None without a reward, else what happened."""
    if campaign_id is None:
        return None
    outcome = {"campaign_id": campaign_id, "granted": False, "coupon_id": None, "reason": None}
    campaign = session.get(CouponCampaign, campaign_id)
    if campaign is None or claims.needs_position(campaign):
        return {**outcome, "reason": "feed.reward_unavailable"}
    try:
        with session.begin_nested():  # a refused claim leaves nothing behind, the action stays
            coupon = claims.claim_coupon(
                session=session, user_id=user_id, campaign_id=campaign_id, lat=None, lng=None
            )
    except ApiError as refused:
        return {**outcome, "reason": refused.type}
    merchant = session.get(Merchant, campaign.merchant_id)
    notifications_service.notify(
        session=session,
        user_id=user_id,
        kind="reward_granted",
        params={"coupon_id": coupon.id, "merchant_name": merchant.name, "title": campaign.title},
    )
    return {**outcome, "granted": True, "coupon_id": coupon.id}


def reward_campaign(*, session: Session, merchant_id: int, trigger: str) -> int | None:
    """The campaign rewarding `trigger` at the merchant, if any."""
    return session.scalar(
        select(FeedReward.campaign_id).where(
            FeedReward.merchant_id == merchant_id, FeedReward.trigger == trigger
        )
    )


def list_rewards(*, session: Session, merchant_id: int) -> list[FeedReward]:
    """The merchant's follow and buyer-show rewards."""
    return list(session.scalars(select(FeedReward).where(FeedReward.merchant_id == merchant_id)))


def set_reward(*, session: Session, merchant_id: int, trigger: str, campaign_id: int) -> FeedReward:
    """Reward `trigger` with a coupon of the campaign (replacing any earlier one)."""
    _check_trigger(trigger)
    check_campaign(
        session=session, merchant_id=merchant_id, campaign_id=campaign_id, field="campaign_id"
    )
    reward = session.merge(
        FeedReward(merchant_id=merchant_id, trigger=trigger, campaign_id=campaign_id)
    )
    session.flush()  # the row goes back to the caller as written
    return reward


def clear_reward(*, session: Session, merchant_id: int, trigger: str) -> None:
    """Stop rewarding `trigger`."""
    _check_trigger(trigger)
    reward = session.get(FeedReward, {"merchant_id": merchant_id, "trigger": trigger})
    if reward is not None:
        session.delete(reward)
