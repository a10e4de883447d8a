"""The coupon domain's outbox events: `coupon.claimed|redeemed|voided` (key `coupon:<id>`) and
`campaign.created|updated|ended` (key `campaign:<id>`), written in the caller's transaction.
A coupon's `code` never goes out: it is what the shopper shows at the till."""

from sqlalchemy.orm import Session

from app.coupons.models import Coupon, CouponCampaign
from app.events import service as events_service


def coupon_changed(session: Session, event_type: str, coupon: Coupon) -> None:
    """`coupon.<what>` with the coupon as it is now (its state as of now)."""
    data = events_service.row_data(coupon, exclude=("code", "expiry_warned_at"))
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=coupon.merchant_id,
        ordering_key=f"coupon:{coupon.id}",
        data={**data, "state": coupon.current_state},
    )


def campaign_changed(session: Session, event_type: str, campaign: CouponCampaign) -> None:
    """`campaign.<what>` with the whole campaign as it is now."""
    session.flush()  # updated_at and server defaults are read back for the event's data
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=campaign.merchant_id,
        ordering_key=f"campaign:{campaign.id}",
        data=events_service.row_data(campaign),
    )
