"""Coupon test data: campaigns straight as rows, and a valid create request."""

from datetime import UTC, datetime, timedelta

from app.coupons.models import CouponCampaign


def now() -> datetime:
    return datetime.now(UTC)


def campaign(session, *, merchant, **fields) -> CouponCampaign:
    """An open amount_off campaign (NT$50 off, 100 of them, one per user, valid 30 days)."""
    values = {
        "title": "NT$50 off",
        "kind": "amount_off",
        "value_cents": 5000,
        "currency": "TWD",
        "total_qty": 100,
        "per_user_limit": 1,
        "claim_starts_at": now() - timedelta(hours=1),
        "claim_ends_at": now() + timedelta(days=7),
        "valid_days_after_claim": 30,
        "claimed_qty": 0,
        "spent_cents": 0,
    } | fields
    c = CouponCampaign(merchant_id=merchant.id, **values)
    session.add(c)
    session.flush()  # id for the caller
    return c


def campaign_body(**fields) -> dict:
    """A valid create request."""
    return {
        "title": "NT$50 off",
        "kind": "amount_off",
        "value_cents": 5000,
        "currency": "TWD",
        "total_qty": 100,
        "claim_starts_at": (now() - timedelta(hours=1)).isoformat(),
        "claim_ends_at": (now() + timedelta(days=7)).isoformat(),
        "valid_days_after_claim": 30,
    } | fields
