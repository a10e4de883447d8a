"""Dispatching web orders (派單): the nearest store that holds the whole cart gets the order.

The candidates are the cart quote's (app/inventory/availability.py: the merchant's active pickup
stores within DISPATCH_RADIUS_M of the delivery address, nearest first, each holding every line
from shared stock), minus the stores the order was offered to already. Stock is held only at the
store the order is offered to: a reject or a lapsed offer (its hold expires after
DISPATCH_ACCEPT_MINUTES, the sweeper gives the units back) releases it there, and the next
candidate is held and offered. When none is left the order is cancelled and refunded."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict
from app.inventory import availability
from app.inventory import service as inventory_service
from app.orders import lifecycle
from app.orders import service as orders_service
from app.orders.models import Order
from app.pickup import handover, reserving
from app.pickup import service as pickup_service
from app.stores import lookups as stores_lookups


class Unfillable(Conflict):
    type = "orders.unfillable"


class OfferGone(Conflict):
    type = "orders.offer_gone"


def candidates(session: Session, *, delivery: dict, lines: dict[int, int], exclude=()) -> list:
    """Ids of the stores that could fill the cart now, nearest to the delivery address first."""
    quote = availability.quote_cart(
        session=session,
        lat=delivery["lat"],
        lng=delivery["lng"],
        items=[{"sku_id": s, "qty": q} for s, q in sorted(lines.items())],
        radius_m=current_app.config["DISPATCH_RADIUS_M"],
        exclude_store_ids=tuple(exclude),
    )
    return [entry["store"]["id"] for entry in quote["stores"]]


def hold_first(
    session: Session,
    *,
    user_id: int,
    stores: list[int],
    lines: dict[int, int],
    minutes: int,
    awaiting_payment: bool,
):
    """Hold the cart at the first of `stores` that still can (another shopper may have taken
    the units since the quote); (store id, hold) or None when none could."""
    for store_id in stores:
        try:
            held = pickup_service.hold_items(
                session=session,
                user_id=user_id,
                store_id=store_id,
                lines=lines,
                hold_minutes=minutes,
                awaiting_payment=awaiting_payment,
            )
        except inventory_service.OutOfStock:
            continue
        return store_id, held
    return None


def _log(order: Order, store_id: int, outcome: str, at: datetime, reason: str | None = None):
    order.offers = [
        *order.offers,
        {"store_id": store_id, "outcome": outcome, "at": at.isoformat(), "reason": reason},
    ]


def offer(session: Session, order: Order, at: datetime) -> None:
    """The paid order is offered to the store holding it, for DISPATCH_ACCEPT_MINUTES."""
    minutes = current_app.config["DISPATCH_ACCEPT_MINUTES"]
    order.reservation.expires_at = at + timedelta(minutes=minutes)
    _log(order, order.store_id, "offered", at)


def move_on(session: Session, order: Order, *, outcome: str, reason: str | None, at) -> None:
    """The offered store rejected the order or let it lapse: offer it to the next store."""
    lines = {i.sku_id: i.qty for i in order.reservation.items if i.qty}
    _log(order, order.store_id, outcome, at, reason)
    tried = {o["store_id"] for o in order.offers}
    reserving.claim(session, user_id=order.user_id, key=None, digest=None)  # the shopper's caps
    stores = candidates(session, delivery=order.delivery, lines=lines, exclude=tried)
    found = hold_first(
        session,
        user_id=order.user_id,
        stores=stores,
        lines=lines,
        minutes=current_app.config["DISPATCH_ACCEPT_MINUTES"],
        awaiting_payment=False,
    )
    if found is None:
        lifecycle.end(session, order, "cancelled", at)  # no store can: the money goes back
        return
    store_id, (reservation_id, _, _, _) = found
    order.store_id, order.reservation_id = store_id, reservation_id
    session.flush()  # the order now points at its new hold
    session.expire(order, ["reservation"])
    _log(order, store_id, "offered", at)
    orders_service.emit(session, order, "order.offered")


def _offered_here(session, merchant_id, store_scope, store_id, public_id) -> Order:
    """The order this store was offered, locked; 409 when it has moved on to another store."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    order = orders_service.find(
        session, Order.public_id == public_id, Order.merchant_id == merchant_id, lock=True
    )
    if order.fulfilment != "ship_from_store":
        raise orders_service.InvalidTransition("A pickup order is not dispatched.")
    if store_id not in {o["store_id"] for o in order.offers}:
        raise orders_service.OrderNotFound("Order not found.")
    state = order.state(clock.now())
    if order.store_id != store_id or state != "offered":
        raise OfferGone("This order is no longer offered to this store.", state=state)
    return order


def accept(*, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str):
    """The store takes the order: its hold is kept for DISPATCH_SHIP_HOURS to pack and ship."""
    order = _offered_here(session, merchant_id, store_scope, store_id, public_id)
    at = clock.now()
    handover.mark_preparing(
        session=session,
        merchant_id=merchant_id,
        store_scope=store_scope,
        store_id=store_id,
        public_id=order.reservation.public_id,
    )
    hours = current_app.config["DISPATCH_SHIP_HOURS"]
    order.reservation.expires_at, order.accepted_at = at + timedelta(hours=hours), at
    _log(order, store_id, "accepted", at)
    orders_service.emit(session, order, "order.accepted")
    return orders_service.staff_view(order, at)


def reject(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    reason: str,
):
    """The store cannot fill the order: its hold goes, the next store is offered it."""
    order = _offered_here(session, merchant_id, store_scope, store_id, public_id)
    at = clock.now()
    reservation = orders_service.lock_hold(session, order)
    pickup_service.close(
        session, reservation, state="cancelled", by=staff_user_id, reason=reason, at=at
    )
    move_on(session, order, outcome="rejected", reason=reason, at=at)
    return orders_service.staff_view(order, at)


def ship(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    tracking_ref: str,
):
    """Shipped with a tracking reference: the units leave the store's stock."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    order = orders_service.find(
        session, Order.public_id == public_id, Order.store_id == store_id, lock=True
    )
    at = clock.now()
    state = order.state(at)
    if state != "accepted":
        raise orders_service.InvalidTransition(f"A {state} order cannot be shipped.", state=state)
    reservation = orders_service.lock_hold(session, order)
    reason = f"Shipped: {tracking_ref}"
    pickup_service.close(
        session, reservation, state="picked_up", by=staff_user_id, reason=reason, at=at
    )
    order.tracking_ref, order.shipped_at = tracking_ref, at
    lifecycle.end(session, order, "picked_up", at)
    return orders_service.staff_view(order, at)
