"""The sweeper: expire overdue holds and give their units back, in batches.

Each batch takes overdue rows `FOR UPDATE SKIP LOCKED`, so several sweepers (and shoppers or staff
acting on one of those reservations right then) never wait on each other: a locked row is someone
else's and is skipped. Reads already show overdue holds as expired; this makes the stock true.
"""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.coupons import pickup as coupon_holds
from app.inventory import service as inventory_service
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
    for reservation in session.scalars(
        select(Reservation)
        .where(Reservation.id.in_(overdue))
        .execution_options(populate_existing=True)
    ):
        emit_change(session, reservation, "reservation.expired")
    return len(overdue)
