"""Returns at any store of the merchant: restocked where they are brought (a ledger row), the
money back through the provider or at the till, never more units than were bought — also when
two returns of the same line race."""

import uuid

from sqlalchemy import select, text

from app.inventory.models import Stock
from app.orders.models import OrderRefund
from tests import factories_stores
from tests.factories_orders import event_types, pay, place, shop
from tests.race import race


def _collected(client, shopper, owner, store, skus, payment="online", qty=2):
    order = place(client, shopper, store, [(skus[0], qty)], payment=payment).get_json()
    if payment == "online":
        pay(client, shopper, order["id"])
    base = f"/v1/admin/stores/{store.id}/orders/{order['id']}"
    client.post(f"{base}/ready", headers=owner.headers)
    done = client.post(f"{base}/pickup", json={"code": order["pickup_code"]}, headers=owner.headers)
    assert done.status_code == 200, done.get_json()
    return order


def _return(client, staff, store, order_id, sku, qty, key=None):
    headers = dict(staff.headers)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    body = {"order_id": order_id, "lines": [{"sku_id": sku.id, "qty": qty}], "reason": "Wrong size"}
    return client.post(f"/v1/admin/stores/{store.id}/returns", json=body, headers=headers)


def _on_hand(session, store, sku):
    return session.scalars(
        select(Stock.on_hand)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def test_a_return_at_another_store_restocks_there_and_refunds_online(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    other = factories_stores.store(session, merchant=merchant)
    session.commit()
    order = _collected(client, shopper, owner, store, skus)
    resp = _return(client, owner, other, order["id"], skus[0], 1)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["amount_cents"], body["refund_method"], body["store_id"]) == (
        1200,
        "provider",
        other.id,
    )
    assert _on_hand(session, other, skus[0]) == 1  # a new stock row at the receiving store
    assert _on_hand(session, store, skus[0]) == 8
    refund = session.scalars(select(OrderRefund).where(OrderRefund.kind == "return")).one()
    assert (refund.amount_cents, refund.state) == (1200, "pending")
    ledger = session.execute(
        text("SELECT on_hand_delta, reason FROM stock_changes WHERE store_id = :s"), {"s": other.id}
    ).all()
    assert [tuple(r) for r in ledger] == [(1, "order.returned")]
    assert event_types(session, order["id"])[-1] == "order.returned"


def test_a_till_order_is_refunded_at_the_till_and_never_over_returned(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    order = _collected(client, shopper, owner, store, skus, payment="at_store")
    first = _return(client, owner, store, order["id"], skus[0], 2)
    assert first.get_json()["refund_method"] == "till"
    again = _return(client, owner, store, order["id"], skus[0], 1)
    assert again.status_code == 409
    assert again.get_json()["type"] == "orders.already_returned"
    assert stripe.refunds == [] and _on_hand(session, store, skus[0]) == 10


def test_what_was_not_collected_or_not_bought_cannot_be_returned(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    pending = place(client, shopper, store, [(skus[0], 1)]).get_json()
    assert _return(client, owner, store, pending["id"], skus[0], 1).status_code == 409
    order = _collected(client, shopper, owner, store, skus)
    assert _return(client, owner, store, order["id"], skus[1], 1).status_code == 422


def test_two_returns_of_the_same_line_race(
    committed, make_shopper, make_staff, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    shopper, owner = make_shopper(), make_staff("owner")
    client = committed.test_client()
    order = _collected(client, shopper, owner, store, skus, qty=3)

    def ret(client):
        return _return(client, owner, store, order["id"], skus[0], 2).status_code

    statuses = sorted(race(committed, [ret] * 4))
    assert statuses == [201, 409, 409, 409]
    assert _on_hand(session, store, skus[0]) == 7 + 2
