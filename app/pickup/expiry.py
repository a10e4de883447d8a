"""The sweeper: expire overdue holds and give their units back, in batches.

Each batch takes overdue rows `FOR UPDATE SKIP LOCKED`, so several sweepers (and shoppers or staff
acting on one of those reservations right then) never wait on each other: a locked row is someone
else's and is skipped. Reads already show overdue holds as expired; this makes the stock true.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.coupons import pickup as coupon_holds
from app.inventory import service as inventory_service
from app.notifications import service as notifications_service
from app.pickup.models import ACTIVE_STATES, Reservation, ReservationItem
from app.pickup.service import emit_change, now


def sweep_batch(*, session: Session, batch_size: int = 500, at: datetime | None = None) -> int:
    """Expire up to `batch_size` overdue holds; returns how many (0: nothing left)."""
    at = at or now()
    overdue = list(
        session.execute(
            select(Reservation.id)
            .where(Reservation.state.in_(ACTIVE_STATES), Reservation.expires_at <= at)
            .order_by(Reservation.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not overdue:
        return 0
    lines = session.execute(
        select(Reservation.store_id, ReservationItem.sku_id, ReservationItem.qty)
        .join(ReservationItem)
        .where(Reservation.id.in_(overdue))
    )
    inventory_service.release_stock(
        session=session, lines=list(lines), reason="reservation.expired"
    )
    coupon_holds.release_held_coupons(session=session, reservation_ids=overdue)
    session.execute(
        update(Reservation)
        .where(Reservation.id.in_(overdue))
        .values(state="expired", closed_at=at, close_reason="Hold expired.")
    )
    _tell(session, "reservation_expired", overdue)
    for reservation in session.scalars(
        select(Reservation)
        .where(Reservation.id.in_(overdue))
        .execution_options(populate_existing=True)
    ):
        emit_change(session, reservation, "reservation.expired")
    return len(overdue)


_SHOPPERS = text(
    "SELECT r.user_id, r.public_id, r.expires_at, s.id AS store_id, s.name, s.address, s.timezone"
    " FROM reservations r JOIN stores s ON s.id = r.store_id WHERE r.id = ANY(:ids)"
)


def _tell(session: Session, kind: str, reservation_ids: list[int]) -> None:
    rows = session.execute(_SHOPPERS, {"ids": reservation_ids})
    notifications_service.notify_many(
        session=session,
        rows=[
            {
                "user_id": r.user_id,
                "kind": kind,
                "params": {
                    "reservation_id": str(r.public_id),
                    "store_id": r.store_id,
                    "store_name": r.name,
                    "store_address": r.address,
                    "timezone": r.timezone,
                    "expires_at": r.expires_at.isoformat(),
                },
            }
            for r in rows
        ],
    )


_CLAIM_WARNINGS = text(
    "UPDATE reservations SET expiry_warned_at = :at WHERE id IN ("
    " SELECT id FROM reservations WHERE state IN ('reserved', 'preparing', 'ready')"
    " AND expires_at > :at AND expires_at <= :until AND expiry_warned_at IS NULL"
    " ORDER BY expires_at LIMIT :batch FOR UPDATE SKIP LOCKED) RETURNING id"
)


def warn_batch(
    *, session: Session, lead_minutes: int, batch_size: int = 500, at: datetime | None = None
) -> int:
    """Tell shoppers whose hold ends within `lead_minutes`, once each (racing sweepers skip
    each other's locked rows, and a warned row no longer matches); returns how many."""
    at = at or now()
    params = {"at": at, "until": at + timedelta(minutes=lead_minutes), "batch": batch_size}
    warned = list(session.execute(_CLAIM_WARNINGS, params).scalars())
    if warned:
        _tell(session, "reservation_expiring", warned)
    return len(warned)
