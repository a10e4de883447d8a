"""Store staff's side of orders: list, prepare, mark ready, hand over, cancel.

Each step locks the order, then lets the reservation engine (app/pickup/handover.py) move the
hold with its own rules — a hold awaiting payment cannot be prepared or handed over — and emits
the order's event beside the reservation's."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.orders import lifecycle
from app.orders import service as orders_service
from app.orders.models import Order
from app.pagination import page_by_id
from app.pickup import handover
from app.pickup.models import ACTIVE_STATES, Reservation
from app.stores import lookups as stores_lookups

STAFF_CANCELLABLE = (
    "pending_payment",
    "placed",
    "paid",
    "preparing",
    "ready",
    "transfer_requested",
)


def _store(session: Session, merchant_id: int, store_scope, store_id: int) -> None:
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )


def _locked(session, merchant_id, store_scope, store_id, public_id) -> Order:
    _store(session, merchant_id, store_scope, store_id)
    return orders_service.find(
        session, Order.public_id == public_id, Order.store_id == store_id, lock=True
    )


def _seen_at(store_id: int):
    """A store sees the orders it serves and the endless-aisle transfers it sends."""
    return (Order.store_id == store_id) | (Order.transfer_from_store_id == store_id)


def _state_filter(state: str, at):
    """Orders whose derived state (Order.state) is `state`, in SQL."""
    r, shipping = Reservation, Order.fulfilment == "ship_from_store"
    live = r.state.in_(ACTIVE_STATES) & (r.expires_at > at)
    waiting = live & (r.state == "reserved") & ~r.awaiting_payment
    held_as = {"preparing": "preparing", "ready": "ready", "picked_up": "picked_up"}
    transfer = func.coalesce(Order.transfer_state, "")
    moving = transfer.in_(("requested", "in_transit"))
    shipped_as = {"accepted": "preparing", "shipped": "picked_up"}
    if state == "pending_payment":
        return live & r.awaiting_payment & (r.state == "reserved")
    if state == "offered":
        return waiting & shipping & (Order.payment_state == "paid")
    if state == "transfer_requested":
        return waiting & (transfer == "requested")
    if state == "in_transit":
        return transfer == "in_transit"
    if state in ("paid", "placed"):
        method = "online" if state == "paid" else "at_store"
        return waiting & ~shipping & ~moving & (Order.payment_method == method)
    if state in shipped_as:
        hold = r.state == shipped_as[state]
        return shipping & (live & hold if state == "accepted" else hold)
    if state in held_as:
        hold = r.state == held_as[state]
        return ~shipping & ~moving & (live & hold if state != "picked_up" else hold)
    if state == "expired":
        return (r.state == "expired") | (r.state.in_(ACTIVE_STATES) & (r.expires_at <= at))
    return r.state == state


def list_at_store(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    state: str | None,
    limit: int,
    cursor: str | None,
):
    """A store's orders, newest first, optionally in one state."""
    _store(session, merchant_id, store_scope, store_id)
    at = clock.now()
    query = select(Order).where(_seen_at(store_id))
    if state:
        query = query.join(Reservation, Reservation.id == Order.reservation_id).where(
            _state_filter(state, at)
        )
    rows, next_cursor = page_by_id(
        session, query, id_column=Order.id, kind="store_orders", limit=limit, cursor=cursor
    )
    return [orders_service.staff_view(o, at) for o in rows], next_cursor


def get_at_store(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """One order of the store."""
    _store(session, merchant_id, store_scope, store_id)
    order = orders_service.find(session, Order.public_id == public_id, _seen_at(store_id))
    return orders_service.staff_view(order, clock.now())


def advance(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str, step: str
) -> dict:
    """`preparing` or `ready`: the hold moves (paid or pay-at-store orders only)."""
    order = _locked(session, merchant_id, store_scope, store_id, public_id)
    move = handover.mark_preparing if step == "preparing" else handover.mark_ready
    move(
        session=session,
        merchant_id=merchant_id,
        store_scope=store_scope,
        store_id=store_id,
        public_id=order.reservation.public_id,
    )
    orders_service.emit(session, order, f"order.{step}")
    return orders_service.staff_view(order, clock.now())


def hand_over(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    code: str | None,
    override_reason: str | None,
) -> dict:
    """Picked up with the shopper's code (the reservation's rules: 5 tries, then an override)."""
    order = _locked(session, merchant_id, store_scope, store_id, public_id)
    handover.hand_over(
        session=session,
        merchant_id=merchant_id,
        store_scope=store_scope,
        store_id=store_id,
        public_id=order.reservation.public_id,
        staff_user_id=staff_user_id,
        code=code,
        override_reason=override_reason,
    )
    lifecycle.end(session, order, "picked_up", clock.now())
    return orders_service.staff_view(order, clock.now())


def cancel_at_store(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    reason: str,
) -> dict:
    """Staff cancel an order with a reason; its units go back on sale, a paid one is refunded."""
    order = _locked(session, merchant_id, store_scope, store_id, public_id)
    lifecycle.cancel(session, order, by=staff_user_id, reason=reason, allowed=STAFF_CANCELLABLE)
    return orders_service.staff_view(order, clock.now())
