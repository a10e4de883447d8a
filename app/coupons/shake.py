"""Shake for coupons: one campaign claimable here and now, drawn by the merchants' weights,
claimed in the same request through the one claim path (app/coupons/claims.py).

The candidates are exactly what coupons nearby lists for this shopper within SHAKE_RADIUS_M
(window, stock, scope, fence, quota, their limit, segments). The draw is weighted random
sampling in SQL: ordering by -ln(u)/weight (u uniform in (0, 1]) puts a campaign first with
probability weight / sum of weights. The first candidate is claimed; if a race took its last
coupon (or any limit refuses), the next one is tried, each claim in a savepoint so a refusal
leaves nothing behind, at most MAX_DRAWS times; then the answer is "nothing this time".
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.coupons import claims
from app.coupons import service as coupons_service
from app.coupons.models import CouponCampaign, accuracy_allowance
from app.errors import ApiError
from app.geo import sql_point

SHAKE_RADIUS_M = 1000  # a shake reaches stores this near (a fence may ask for nearer)
MAX_DRAWS = 3


def _draw(session: Session, here, accuracy_m: int, user_id: int) -> list[int]:
    best = coupons_service.claimable_near(
        here=here,
        radius_m=SHAKE_RADIUS_M,
        allowance=accuracy_allowance(accuracy_m),
        user_id=user_id,
    )
    c = CouponCampaign
    weighted = -func.ln(1 - func.random()) / c.shake_weight
    return list(
        session.scalars(
            select(best.c.campaign_id)
            .join(c, c.id == best.c.campaign_id)
            .where(c.shake_weight > 0)
            .order_by(weighted)
            .limit(MAX_DRAWS)
        )
    )


def shake(*, session: Session, user_id: int, lat: float, lng: float, accuracy_m: int) -> dict:
    """A coupon of one campaign claimable here, drawn by weight, or nothing this time."""
    for campaign_id in _draw(session, sql_point(lat, lng), accuracy_m, user_id):
        try:
            with session.begin_nested():  # a refused claim leaves nothing behind
                coupon = claims.claim_coupon(
                    session=session,
                    user_id=user_id,
                    campaign_id=campaign_id,
                    lat=lat,
                    lng=lng,
                    accuracy_m=accuracy_m,
                )
        except ApiError:
            continue
        return {"result": "coupon", "coupon": coupon}
    return {"result": "nothing", "coupon": None}
