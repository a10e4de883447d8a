"""How orders end: the shopper cancels, staff hand over or cancel, the hold runs out.

The hold (a reservation) may end by any path the reservation engine has — the sweeper, staff on
the reservation endpoints, a pick that found nothing — so the order notices its end in one place,
`end`, called inline by the order's own paths and by `settle_batch` for every other: it records
the end once, emits the order's event, and owes a refund when a paid order was not collected."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.orders import refunds, wallet
from app.orders import service as orders_service
from app.orders.models import Order
from app.pickup import service as pickup_service
from app.pickup.models import Reservation

ENDED = ("picked_up", "cancelled", "expired")
CANCELLABLE = ("pending_payment", "placed", "paid")
REASONS = {
    "cancelled": "The order was cancelled.",
    "expired": "The order was not collected in time.",
}


def end(session: Session, order: Order, state: str, at: datetime) -> None:
    """Record (once) that the order ended in `state`; refund a paid order not collected."""
    if order.ended_at is not None or state not in ENDED:
        return
    order.ended_state, order.ended_at = state, at
    if state == "picked_up" and order.payment_method == "at_store":
        order.payment_state, order.paid_at = "paid", at  # paid at the till on hand-over
    if state != "picked_up":
        refunds.request_whole(session=session, order=order, reason=REASONS[state])
        wallet.release(session, order, at)
    shipped = state == "picked_up" and order.fulfilment == "ship_from_store"
    orders_service.emit(session, order, "order.shipped" if shipped else f"order.{state}")


def cancel(session: Session, order: Order, *, by: int, reason: str, allowed) -> None:
    """Cancel the locked order's hold (its units go back on sale), refund it if paid."""
    at = clock.now()
    state = order.state(at)
    if state not in allowed:
        raise orders_service.InvalidTransition(f"A {state} order cannot be cancelled.", state=state)
    reservation = orders_service.lock_hold(session, order)
    pickup_service.require_transition(reservation, "cancelled", pickup_service.now())
    pickup_service.close(session, reservation, state="cancelled", by=by, reason=reason, at=at)
    end(session, order, "cancelled", at)


def settle_batch(*, session: Session, batch_size: int = 500) -> int:
    """Notice up to `batch_size` orders whose hold ended by another path; returns how many."""
    at = clock.now()
    rows = list(
        session.scalars(
            select(Order)
            .join(Reservation, Reservation.id == Order.reservation_id)
            .where(Order.ended_at.is_(None), Reservation.state.in_(ENDED))
            # A sent transfer's source hold ended as it should: the order lives on.
            .where(func.coalesce(Order.transfer_state, "") != "in_transit")
            .order_by(Order.id)
            .limit(batch_size)
            .with_for_update(of=Order, skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
    from app.orders import dispatch  # dispatch builds on this module

    for order in rows:
        if order.fulfilment == "ship_from_store" and _offer_lapsed(order):
            outcome = "timed_out" if order.reservation.state == "expired" else "rejected"
            dispatch.move_on(session, order, outcome=outcome, reason=None, at=at)
            continue
        end(session, order, order.reservation.state, at)
    return len(rows)


def cancel_own(*, session: Session, user_id: int, public_id: str) -> dict:
    """The shopper lets go of an order not yet being prepared; a paid one is refunded."""
    order = orders_service.find(
        session, Order.public_id == public_id, Order.user_id == user_id, lock=True
    )
    cancel(session, order, by=user_id, reason="Cancelled by shopper.", allowed=CANCELLABLE)
    return orders_service.view(order, clock.now())


def _offer_lapsed(order: Order) -> bool:
    """A paid web order's offer ended without an answer: the next store's turn."""
    return (
        order.payment_state == "paid"
        and order.accepted_at is None
        and order.reservation.state in ("expired", "cancelled")
    )
