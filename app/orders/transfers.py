"""Endless-aisle transfers: an order collected at one store from another store's shared stock.

Placed (app/orders/aisle.py), the units are held at the source store by an ordinary hold for
TRANSFER_SEND_HOURS (`transfer_requested`); the source's staff send them (`in_transit`: the hold
ends and the units leave the source's on_hand, a ledger row each); the collecting store's staff
receive them (the units enter its shared stock and are held for the shopper at once, in one
transaction: `placed`), and the normal pickup follows. Rule 1 holds at every step: units are
counted reserved exactly while a hold is active on them, and in no store while on the road.
Each step locks the order's row first, so two staff receiving (or sending) the same transfer
queue there and the second gets a 409."""

import uuid

from sqlalchemy.orm import Session

from app import clock
from app.inventory import service as inventory_service
from app.orders import returns
from app.orders import service as orders_service
from app.orders.models import Order
from app.pickup import reserving
from app.pickup import service as pickup_service
from app.pickup.models import Reservation
from app.stores import lookups as stores_lookups

_HOLD_IDS = uuid.UUID("6f1d7c1e-3b59-4f7a-9c0e-2f0b8e7d5a10")


def hold_id(order_public_id: str) -> str:
    """The id of the hold the collecting store makes on receipt, fixed when the order is placed
    (so the shopper's pickup code, given then, is valid for it)."""
    return str(uuid.uuid5(_HOLD_IDS, order_public_id))


def issue_code(order: Order) -> str:
    """A fresh pickup code for the hold the transfer will end in (the last one given counts)."""
    code = pickup_service._new_code()  # the reservation engine's codes
    order.transfer_code_hash = pickup_service.code_hash(hold_id(order.public_id), code)
    return code


def _locked(session, merchant_id, store_scope, store_id, public_id, *, source: bool) -> Order:
    """The order (locked) this store sends (`source`) or collects; 409 when it is not a
    transfer of that side."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    order = orders_service.find(
        session,
        Order.public_id == public_id,
        Order.merchant_id == merchant_id,
        (Order.store_id == store_id) | (Order.transfer_from_store_id == store_id),
        lock=True,
    )
    side = order.transfer_from_store_id if source else order.store_id
    if order.transfer_state is None or side != store_id:
        where = "from" if source else "to"
        raise orders_service.InvalidTransition(f"This order is no transfer {where} this store.")
    return order


def send(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
) -> dict:
    """The source store sends the held units: its hold ends, they leave its stock."""
    order = _locked(session, merchant_id, store_scope, store_id, public_id, source=True)
    at = clock.now()
    state = order.state(at)
    if state != "transfer_requested":
        raise orders_service.InvalidTransition(f"A {state} order cannot be sent.", state=state)
    reservation = orders_service.lock_hold(session, order)
    inventory_service.release_stock(
        session=session,
        lines=[(reservation.store_id, i.sku_id, i.qty) for i in reservation.items],
        consume=True,
        reason="transfer.sent",
        ref=order.public_id,
    )
    # The hold ends as handed over (to the courier): no coupon, points or pickup events.
    reservation.state, reservation.closed_at, reservation.picked_up_at = "picked_up", at, at
    reservation.closed_by_user_id = staff_user_id
    reservation.close_reason = f"Sent to store {order.store_id} (endless aisle)."
    order.transfer_state, order.transfer_sent_at = "in_transit", at
    orders_service.emit(session, order, "order.transfer_sent")
    return orders_service.staff_view(order, at)


def receive(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """The collecting store receives the units: into its stock, and held for the shopper."""
    order = _locked(session, merchant_id, store_scope, store_id, public_id, source=False)
    at = clock.now()
    if order.transfer_state != "in_transit":
        state = order.state(at)
        raise orders_service.InvalidTransition(f"A {state} order cannot be received.", state=state)
    lines = {i.sku_id: i.qty for i in order.reservation.items if i.qty}
    returns.restock(
        session, store_id, merchant_id, lines, reason="transfer.received", ref=order.public_id
    )
    reserving.claim(session, user_id=order.user_id, key=None, digest=None)  # the shopper's caps
    reservation_id, _, _, _ = pickup_service.hold_items(
        session=session,
        user_id=order.user_id,
        store_id=store_id,
        lines=lines,
        public_id=hold_id(order.public_id),
    )
    held = session.get(Reservation, reservation_id)
    held.pickup_code_hash = order.transfer_code_hash
    order.reservation_id, order.transfer_state, order.transfer_received_at = (
        reservation_id,
        "received",
        at,
    )
    session.flush()  # the order now points at the hold here
    session.expire(order, ["reservation"])
    orders_service.emit(session, order, "order.transfer_received")
    return orders_service.staff_view(order, at)
