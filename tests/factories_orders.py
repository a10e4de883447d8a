"""Builders for orders: a store that takes online payment, and small helpers that drive the API
as the app would (the `stripe` fixture is in tests/conftest.py)."""

from sqlalchemy import select, text

from app.orders.models import Order
from tests import factories_inventory as inv
from tests import factories_stores
from tests.stripe_standin import StripeStandIn

WEBHOOK = "/v1/payments/stripe/webhook"


def shop(session, merchant, *, on_hand: int = 10, count: int = 2, **store_fields):
    """A store taking online and till payment with `count` shared SKUs (price 1200 TWD)."""
    store = factories_stores.store(session, merchant=merchant)
    store.pay_online = store_fields.get("pay_online", True)
    store.pay_at_store = store_fields.get("pay_at_store", True)
    skus = inv.skus(session, merchant, count=count, price_cents=1200)
    for sku in skus:
        inv.stock(session, store, sku, on_hand=on_hand)
    session.commit()
    return store, skus


def place(client, caller, store, lines, *, payment="online", key=None):
    headers = dict(caller.headers)
    if key:
        headers["Idempotency-Key"] = key
    body = {
        "store_id": store.id,
        "items": [{"sku_id": s.id, "qty": q} for s, q in lines],
        "payment_method": payment,
    }
    return client.post("/v1/orders", json=body, headers=headers)


def pay(client, caller, order_id, method="pm_card_visa"):
    return client.post(
        f"/v1/orders/{order_id}/pay", json={"payment_method": method}, headers=caller.headers
    )


def deliver(client, event):
    """POST a signed webhook of `event` as the provider would."""
    body, headers = StripeStandIn.signed(event)
    return client.post(WEBHOOK, data=body, headers=headers)


def order_row(session, public_id) -> Order:
    return session.scalars(
        select(Order).where(Order.public_id == public_id).execution_options(populate_existing=True)
    ).one()


def event_types(session, public_id) -> list[str]:
    """The order's outbox events, in order."""
    rows = session.execute(
        text("SELECT type FROM events WHERE ordering_key = :k ORDER BY sequence"),
        {"k": f"order:{public_id}"},
    )
    return list(rows.scalars())
