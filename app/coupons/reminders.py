"""Reminders for the wallet: tell a shopper once when an unused coupon runs out within a day."""

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.notifications import service as notifications_service

# Claimed like the sweeper's holds: SKIP LOCKED, and a warned coupon no longer matches, so racing
# sweepers write each reminder once. The time is shown in the claim store's zone when known.
_CLAIM = text(
    "WITH due AS (SELECT id FROM coupons WHERE state = 'unused' AND expiry_warned_at IS NULL"
    " AND expires_at > :at AND expires_at <= :until ORDER BY expires_at LIMIT :batch"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE coupons c SET expiry_warned_at = :at FROM due, coupon_campaigns k"
    " WHERE c.id = due.id AND k.id = c.campaign_id"
    " RETURNING c.id, c.user_id, c.expires_at, k.title,"
    " (SELECT timezone FROM stores WHERE id = c.claim_store_id) AS timezone"
)


def warn_batch(*, session: Session, within_hours: int, at: datetime, batch_size: int = 500) -> int:
    """Write the "expires soon" notification for up to `batch_size` coupons; how many."""
    params = {"at": at, "until": at + timedelta(hours=within_hours), "batch": batch_size}
    rows = session.execute(_CLAIM, params).all()
    return notifications_service.notify_many(
        session=session,
        rows=[
            {
                "user_id": r.user_id,
                "kind": "coupon_expiring",
                "params": {
                    "coupon_id": r.id,
                    "title": r.title,
                    "expires_at": r.expires_at.isoformat(),
                    "timezone": r.timezone,
                },
            }
            for r in rows
        ],
    )
