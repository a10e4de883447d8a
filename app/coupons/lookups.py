"""Which campaigns a merchant's request may name and which coupons a shopper's may: their own
(DESIGN rule 4), else the typed 404. Every domain that takes such an id asks here."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.coupons.models import Coupon, CouponCampaign
from app.errors import NotFound


class CampaignNotFound(NotFound):
    type = "coupons.campaign_not_found"


class CouponNotFound(NotFound):
    type = "coupons.not_found"


def merchant_campaign(
    *, session: Session, merchant_id: int, campaign_id: int, lock: bool = False
) -> CouponCampaign:
    """One of the merchant's campaigns (`lock`: FOR UPDATE); other merchants' are 404."""
    query = select(CouponCampaign).where(
        CouponCampaign.id == campaign_id, CouponCampaign.merchant_id == merchant_id
    )
    campaign = session.scalar(query.with_for_update() if lock else query)
    if campaign is None:
        raise CampaignNotFound("Campaign not found.")
    return campaign


def wallet_coupon(*, session: Session, user_id: int, coupon_id: int) -> Coupon:
    """One of the shopper's coupons; anyone else's is 404."""
    coupon = session.scalar(select(Coupon).where(Coupon.id == coupon_id, Coupon.user_id == user_id))
    if coupon is None:
        raise CouponNotFound("Coupon not found.")
    return coupon
