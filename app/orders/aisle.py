"""The endless aisle: what the merchant's other stores, and the online-only pool, hold of a SKU,
seen from one store, and the orders its staff place for the shopper in front of them from
another store's shared stock (collected here after a transfer, app/orders/transfers.py, or
shipped to the shopper through the dispatch, app/orders/dispatch.py)."""

import uuid

from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import clock, idempotency
from app.accounts import service as accounts_service
from app.catalog import lookups as catalog_lookups
from app.errors import Conflict, NotFound
from app.orders import dispatch, transfers
from app.orders import service as orders_service
from app.orders.models import Order
from app.pickup import reserving
from app.pickup import service as pickup_service
from app.stores import lookups as stores_lookups

NEAREST = 20
SCOPE = "orders.aisle"
# KNN from this store's own location over the merchant's active stores holding shared units.
_STORES = text(
    "SELECT s.id, s.name, s.address, s.city, k.on_hand - k.reserved AS available,"
    " ST_Distance(s.location, here.location) AS distance"
    " FROM stock k JOIN stores s ON s.id = k.store_id,"
    " (SELECT location FROM stores WHERE id = :store) here"
    " WHERE k.sku_id = :sku AND k.channel = 'shared' AND k.on_hand - k.reserved > 0"
    " AND s.merchant_id = :merchant AND s.is_active AND s.id <> :store"
    f" ORDER BY s.location <-> here.location LIMIT {NEAREST}"
)
_ONLINE = text(
    "SELECT coalesce(sum(on_hand - reserved), 0) FROM stock"
    " WHERE sku_id = :sku AND merchant_id = :merchant AND channel = 'online_only'"
)


def look(*, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int) -> dict:
    """The nearest other stores with shared units of the SKU, and the online-only pool."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    catalog_lookups.merchant_sku(session=session, merchant_id=merchant_id, sku_id=sku_id)
    params = {"store": store_id, "sku": sku_id, "merchant": merchant_id}
    rows = session.execute(_STORES, params)
    return {
        "sku_id": sku_id,
        "stores": [
            {
                "store": {"id": r.id, "name": r.name, "address": r.address, "city": r.city},
                "distance_m": round(r.distance),
                "available": r.available,
            }
            for r in rows
        ],
        "online_only": int(session.scalar(_ONLINE, params)),
    }


class SameStore(Conflict):
    type = "orders.same_store"


class ShopperNotFound(NotFound):
    type = "accounts.shopper_not_found"


def _source(session: Session, merchant_id: int, store_id: int, source_store_id: int) -> None:
    if source_store_id == store_id:
        raise SameStore("The units must come from another store than this one.")
    stores_lookups.merchant_store(  # any store of the merchant: it is not staff's own
        session=session, merchant_id=merchant_id, store_id=source_store_id
    )


def _shopper(session: Session, email: str) -> int:
    user = accounts_service.get_user_by_email(session=session, email=email)
    if user is None:
        raise ShopperNotFound("No shopper has this email.")
    return user.id


def place(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    staff_user_id: int,
    idempotency_key: str | None,
    shopper_email: str,
    source_store_id: int,
    items: list[dict],
    delivery: dict | None,
) -> dict:
    """Staff order for the shopper in front of them from another store's shared stock: collected
    here after a transfer (paid at the till on collection), or shipped to the shopper (paid at
    the till now, and offered to the source store as a dispatched web order)."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    _source(session, merchant_id, store_id, source_store_id)
    lines = {i["sku_id"]: i["qty"] for i in items}
    payload = {"store": store_id, "source": source_store_id, "items": sorted(lines.items())}
    payload |= {"shopper": shopper_email.lower(), "to": delivery}
    digest = idempotency.request_hash(payload) if idempotency_key is not None else None
    key_id = reserving.claim(
        session, user_id=staff_user_id, key=idempotency_key, digest=digest, scope=SCOPE
    )
    if idempotency_key is not None and key_id is None:
        outcome = idempotency.replay(session, staff_user_id, SCOPE, idempotency_key, digest)
        order = orders_service.find(session, Order.public_id == outcome.body["id"], lock=True)
        code = transfers.issue_code(order) if order.transfer_state == "requested" else None
        return {**outcome.body, "pickup_code": code}
    user_id = _shopper(session, shopper_email)
    reserving.claim(session, user_id=user_id, key=None, digest=None)  # the shopper's caps
    order = _hold(session, merchant_id, store_id, source_store_id, user_id, lines, delivery)
    order.placed_by_user_id = staff_user_id
    session.flush()  # the order's id, for the answer and the event
    code = transfers.issue_code(order) if order.transfer_state else None
    body = orders_service.staff_view(order, clock.now())
    if key_id is not None:
        idempotency.remember(session=session, key_id=key_id, status=201, body=body)
    orders_service.emit(session, order, "order.created")
    return {**body, "pickup_code": code}


def _hold(session, merchant_id, store_id, source_store_id, user_id, lines, delivery) -> Order:
    """Hold the cart at the source store; the order that points at the hold (shipped when it
    has a delivery address, else collected here)."""
    collect, at = delivery is None, clock.now()
    cfg = current_app.config
    minutes = cfg["TRANSFER_SEND_HOURS"] * 60 if collect else cfg["DISPATCH_ACCEPT_MINUTES"]
    prices, currency = orders_service.priced(session, merchant_id, lines)
    reservation_id, _, _, _ = pickup_service.hold_items(
        session=session,
        user_id=user_id,
        store_id=source_store_id,
        lines=lines,
        hold_minutes=minutes,
    )
    order = Order(
        public_id=str(uuid.uuid4()),
        user_id=user_id,
        merchant_id=merchant_id,
        store_id=store_id if collect else source_store_id,
        reservation_id=reservation_id,
        fulfilment="pickup" if collect else "ship_from_store",
        delivery=delivery,
        payment_method="at_store",
        payment_state="unpaid" if collect else "paid",
        paid_at=None if collect else at,
        amount_cents=sum(prices[s] * q for s, q in lines.items()),
        currency=currency,
        unit_prices={str(s): p for s, p in prices.items()},
        transfer_from_store_id=source_store_id if collect else None,
        transfer_state="requested" if collect else None,
        created_at=at,
    )
    session.add(order)
    session.flush()  # the hold, loaded for the dispatch's offer
    if not collect:
        dispatch.offer(session, order, at)
    return order
