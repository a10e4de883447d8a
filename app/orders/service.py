"""Placing orders and the shopper's side of them.

An order holds its stock through a reservation made by the very path reservations use
(`pickup_service.hold_items`: one HOLD statement, all lines or none, the shopper's caps), so
rule 1 and every race guarantee of the reservation engine hold for orders unchanged. What the
order adds is the money: an online order's hold is short (ORDER_PAYMENT_MINUTES) and awaits
payment; once paid it is held as long as the store holds pickups, and the provider is asked for
a refund when it ends uncollected (app/orders/refunds.py).

The payment intent is created before the stock is held, so no stock row stays locked while the
provider answers; if the hold then fails, the unconfirmed intent is never used (nothing is
charged). A retry with the same Idempotency-Key reaches the provider with the same key and gets
the same intent.
"""

import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock, idempotency
from app.catalog import lookups as catalog_lookups
from app.catalog.models import Sku
from app.errors import Conflict, NotFound
from app.events import service as events_service
from app.orders import wallet
from app.orders.models import Order
from app.pagination import page_by_id
from app.payments.provider import Provider
from app.pickup import reserving
from app.pickup import service as pickup_service
from app.pickup.models import Reservation
from app.stores import lookups as stores_lookups
from app.stores.models import Store

SCOPE = "orders.place"


class OrderNotFound(NotFound):
    type = "orders.not_found"


class PaymentUnavailable(Conflict):
    type = "orders.payment_unavailable"


class InvalidTransition(Conflict):
    type = "orders.invalid_transition"


def view(order: Order, at: datetime) -> dict:
    """What a shopper sees of an order (a plain dict: it is also stored for replays)."""
    r = order.reservation
    return {
        "id": order.public_id,
        "store_id": order.store_id,
        "state": order.state(at),
        "fulfilment": order.fulfilment,
        "payment_method": order.payment_method,
        "payment_state": order.payment_state,
        "amount_cents": order.amount_cents,
        "discount_cents": order.discount_cents,
        "points_spent": order.points_spent,
        "currency": order.currency,
        "items": [{"sku_id": i.sku_id, "qty": i.qty, "short_qty": i.short_qty} for i in r.items],
        "expires_at": r.expires_at,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "ready_at": r.ready_at,
        "picked_up_at": r.picked_up_at,
        "closed_at": r.closed_at,
        "close_reason": r.close_reason,
        "delivery": order.delivery,
        "tracking_ref": order.tracking_ref,
        "shipped_at": order.shipped_at,
        "client_secret": order.client_secret,
        "refunds": [
            {"amount_cents": f.amount_cents, "state": f.state, "reason": f.reason}
            for f in order.refunds
        ],
    }


def staff_view(order: Order, at: datetime) -> dict:
    """What store staff see: the shopper, the hold's id; not the payment's client secret."""
    body = view(order, at)
    del body["client_secret"]
    return {
        **body,
        "user_id": order.user_id,
        "reservation_id": order.reservation.public_id,
        "offers": order.offers,
        "placed_by_user_id": order.placed_by_user_id,
        "transfer_from_store_id": order.transfer_from_store_id,
        "transfer_state": order.transfer_state,
    }


def emit(session: Session, order: Order, event_type: str) -> None:
    """The order's event (the staff view, as it is now) in this transaction's outbox."""
    session.flush()  # the order's and its hold's rows, for the event's data
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=order.merchant_id,
        ordering_key=f"order:{order.public_id}",
        data=staff_view(order, clock.now()),
    )


def priced(session: Session, merchant_id: int, lines: dict[int, int]) -> tuple[dict, str]:
    """The cart's unit prices ({sku_id: cents}) and currency, as the merchant sells now."""
    rows = session.execute(
        select(Sku.id, Sku.price_cents, Sku.currency).where(
            Sku.id.in_(lines), Sku.merchant_id == merchant_id, Sku.is_active.is_(True)
        )
    ).all()
    missing = sorted(set(lines) - {r.id for r in rows})
    if missing:
        raise catalog_lookups.SkuNotFound(
            f"SKUs not sold at this store: {missing}.", sku_ids=missing
        )
    currencies = {r.currency for r in rows}
    if len(currencies) > 1:
        raise Conflict("The cart mixes currencies.", type="orders.mixed_currencies")
    return {r.id: r.price_cents for r in rows}, currencies.pop()


def _store(session: Session, store_id: int, payment_method: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise stores_lookups.StoreNotFound("Store not found.")
    allowed = store.pay_online if payment_method == "online" else store.pay_at_store
    if not allowed:
        raise PaymentUnavailable(
            f"This store does not take {payment_method.replace('_', ' ')} payment for orders.",
            payment_method=payment_method,
        )
    return store


def place_order(
    *,
    session: Session,
    user_id: int,
    items: list[dict],
    payment_method: str,
    idempotency_key: str | None,
    provider: Provider | None,
    store_id: int | None = None,
    fulfilment: str = "pickup",
    delivery: dict | None = None,
    coupon_id: int | None = None,
    points: int = 0,
) -> dict:
    """Hold every item at the store or none; an online order also gets its payment intent.
    A web order (ship_from_store) is held at the nearest store that can fill it. A pickup
    order may take one of the shopper's coupons and spend points (app/orders/wallet.py)."""
    lines = {i["sku_id"]: i["qty"] for i in items}
    payload = {
        "store_id": store_id,
        "items": sorted(lines.items()),
        "payment": payment_method,
        "fulfilment": fulfilment,
        "delivery": delivery,
        "coupon_id": coupon_id,
        "points": points,
    }
    digest = idempotency.request_hash(payload) if idempotency_key is not None else None
    key_id = reserving.claim(
        session, user_id=user_id, key=idempotency_key, digest=digest, scope=SCOPE
    )
    if idempotency_key is not None and key_id is None:
        outcome = idempotency.replay(session, user_id, SCOPE, idempotency_key, digest)
        order = _own(session, user_id, outcome.body["id"])
        return {**outcome.body, "pickup_code": pickup_service.reissue_code(order.reservation)}
    shipping = fulfilment == "ship_from_store"
    if shipping:
        stores = _dispatch_candidates(session, delivery, lines)
        merchant_id = session.get(Store, stores[0]).merchant_id
    else:
        stores, merchant_id = [store_id], _store(session, store_id, payment_method).merchant_id
    prices, currency = priced(session, merchant_id, lines)
    subtotal = sum(prices[s] * q for s, q in lines.items())
    public_id, online = str(uuid.uuid4()), payment_method == "online"
    discount = 0
    if coupon_id is not None or points:
        discount = wallet.price(
            session,
            user_id=user_id,
            merchant_id=merchant_id,
            store_id=stores[0],
            lines=lines,
            subtotal=subtotal,
            coupon_id=coupon_id,
            points=points,
            online=online,
        )
    amount = subtotal - discount
    intent = None
    if online:
        intent = provider.create_intent(
            amount_cents=amount,
            currency=currency,
            order_id=public_id,
            idempotency_key=f"order:{user_id}:{idempotency_key or public_id}",
        )
    store_id, (reservation_id, _, verdict, code) = _hold(session, user_id, stores, lines, online)
    order = Order(
        fulfilment=fulfilment,
        delivery=delivery,
        public_id=public_id,
        user_id=user_id,
        merchant_id=verdict.merchant_id,
        store_id=store_id,
        reservation_id=reservation_id,
        payment_method=payment_method,
        payment_state="unpaid",
        amount_cents=amount,
        discount_cents=discount,
        points_spent=points,
        currency=currency,
        unit_prices={str(s): p for s, p in prices.items()},
        intent_id=intent.id if intent else None,
        client_secret=intent.client_secret if intent else None,
        created_at=clock.now(),
    )
    session.add(order)
    session.flush()  # the order's id and the hold it points at, for the answer
    wallet.hold(session, order=order, coupon_id=coupon_id, lines=lines, at=clock.now())
    body = view(order, clock.now())
    if key_id is not None:
        idempotency.remember(session=session, key_id=key_id, status=201, body=body)
    emit(session, order, "order.created")
    return {**body, "pickup_code": code}


def _dispatch_candidates(session: Session, delivery: dict, lines: dict[int, int]) -> list[int]:
    from app.orders import dispatch  # dispatch builds on this module

    stores = dispatch.candidates(session, delivery=delivery, lines=lines)
    if not stores:  # told before anything is held or paid
        raise dispatch.Unfillable("No store near the delivery address can fill this order.")
    return stores


def _hold(session: Session, user_id: int, stores: list[int], lines: dict[int, int], online: bool):
    """Hold at the first store that can: (store id, the hold); a pickup order has one store."""
    from app.orders import dispatch

    minutes = current_app.config["ORDER_PAYMENT_MINUTES"] if online else None
    if len(stores) == 1:
        held = pickup_service.hold_items(
            session=session,
            user_id=user_id,
            store_id=stores[0],
            lines=lines,
            hold_minutes=minutes,
            awaiting_payment=online,
        )
        return stores[0], held
    found = dispatch.hold_first(
        session,
        user_id=user_id,
        stores=stores,
        lines=lines,
        minutes=minutes,
        awaiting_payment=online,
    )
    if found is None:
        raise dispatch.Unfillable("The stores that could fill this order sold out meanwhile.")
    return found


def find(session: Session, *conditions, lock: bool = False) -> Order:
    """The one order matching `conditions` (row-locked and fresh with `lock`); else 404."""
    query = select(Order).where(*conditions)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    order = session.scalar(query)
    if order is None:
        raise OrderNotFound("Order not found.")
    return order


def lock_hold(session: Session, order: Order) -> Reservation:
    """The order's reservation, row-locked and fresh (lock order: the order, then its hold)."""
    return session.scalar(
        select(Reservation)
        .where(Reservation.id == order.reservation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _own(session: Session, user_id: int, public_id: str, lock: bool = False) -> Order:
    return find(session, Order.public_id == public_id, Order.user_id == user_id, lock=lock)


def get_own(*, session: Session, user_id: int, public_id: str) -> dict:
    """One of the shopper's orders; others' are 404."""
    return view(_own(session, user_id, public_id), clock.now())


def list_own(*, session: Session, user_id: int, limit: int, cursor: str | None):
    """The shopper's orders, newest first."""
    query = select(Order).where(Order.user_id == user_id)
    rows, next_cursor = page_by_id(
        session, query, id_column=Order.id, kind="orders", limit=limit, cursor=cursor
    )
    at = clock.now()
    return [view(o, at) for o in rows], next_cursor
