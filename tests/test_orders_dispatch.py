"""Dispatching web orders (派單): the nearest store holding the whole cart is offered the order,
holds it alone, accepts or rejects (or lets it lapse: the next store's turn), ships it with a
tracking reference; no store → told before paying; two stores accepting at once → one wins."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.inventory.models import Stock
from app.orders import lifecycle, refunds
from app.payments import provider as payments
from app.pickup import expiry
from app.pickup.models import Reservation
from tests import factories_inventory as inv
from tests import factories_stores
from tests.factories_orders import event_types, order_row, pay
from tests.race import race

HOME = {
    "name": "Mei Lin",
    "address": "7 Songren Road",
    "city": "Taipei",
    "lat": 25.033,
    "lng": 121.565,
}


def _stores(session, merchant, stock: list[int]):
    """Stores 1, 2, 3... km east of HOME, each with `stock[i]` units of one shared SKU."""
    sku = inv.skus(session, merchant, price_cents=900)[0]
    stores = []
    for i, units in enumerate(stock):
        store = factories_stores.store(
            session, merchant=merchant, lat=HOME["lat"], lng=HOME["lng"] + 0.01 * (i + 1)
        )
        inv.stock(session, store, sku, on_hand=units)
        stores.append(store)
    session.commit()
    return stores, sku


def _ship(client, caller, sku, qty=2):
    body = {
        "fulfilment": "ship_from_store",
        "delivery": HOME,
        "items": [{"sku_id": sku.id, "qty": qty}],
        "payment_method": "online",
    }
    return client.post("/v1/orders", json=body, headers=caller.headers)


def _reserved(session, store, sku) -> int:
    return session.scalars(
        select(Stock.reserved)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()


def _act(client, staff, store, order_id, action, body=None):
    url = f"/v1/admin/stores/{store.id}/orders/{order_id}:{action}"
    return client.post(url, json=body or {}, headers=staff.headers)


def _sweep(app, session):
    with app.app_context():
        expiry.sweep_batch(session=session)
        lifecycle.settle_batch(session=session)
        session.commit()


def test_a_web_order_is_offered_rejected_accepted_and_shipped(
    app, client, shopper, owner, merchant, session, stripe
):
    (near, second, third), sku = _stores(session, merchant, [1, 5, 5])
    resp = _ship(client, shopper, sku)
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert (order["state"], order["store_id"]) == ("pending_payment", second.id)  # near lacks one
    assert pay(client, shopper, order["id"]).get_json()["state"] == "offered"
    offered = client.get(
        f"/v1/admin/stores/{second.id}/orders?state=offered", headers=owner.headers
    ).get_json()
    assert [o["id"] for o in offered["items"]] == [order["id"]]

    rejected = _act(client, owner, second, order["id"], "reject", {"reason": "Damaged box"})
    assert rejected.status_code == 200, rejected.get_json()
    assert (rejected.get_json()["state"], rejected.get_json()["store_id"]) == ("offered", third.id)
    assert (_reserved(session, second, sku), _reserved(session, third, sku)) == (0, 2)
    assert _act(client, owner, second, order["id"], "accept").status_code == 409  # moved on

    accepted = _act(client, owner, third, order["id"], "accept")
    assert accepted.get_json()["state"] == "accepted"
    shipped = _act(client, owner, third, order["id"], "ship", {"tracking_ref": "TW123456789"})
    assert shipped.status_code == 200, shipped.get_json()
    body = shipped.get_json()
    assert (body["state"], body["tracking_ref"]) == ("shipped", "TW123456789")
    assert [(o["store_id"], o["outcome"]) for o in body["offers"]] == [
        (second.id, "offered"),
        (second.id, "rejected"),
        (third.id, "offered"),
        (third.id, "accepted"),
    ]
    stock = session.scalars(
        select(Stock).where(Stock.store_id == third.id).execution_options(populate_existing=True)
    ).one()
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert event_types(session, order["id"]) == [
        "order.created",
        "order.paid",
        "order.offered",
        "order.accepted",
        "order.shipped",
    ]


def test_a_lapsed_offer_moves_to_the_next_store(app, client, shopper, merchant, session, stripe):
    (first, second), sku = _stores(session, merchant, [5, 5])
    order = _ship(client, shopper, sku).get_json()
    pay(client, shopper, order["id"])
    row = order_row(session, order["id"])
    left = row.reservation.expires_at - row.paid_at
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    session.execute(
        update(Reservation)
        .where(Reservation.id == row.reservation_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    _sweep(app, session)
    row = order_row(session, order["id"])
    assert (row.store_id, row.offers[1]["outcome"]) == (second.id, "timed_out")
    assert (_reserved(session, first, sku), _reserved(session, second, sku)) == (0, 2)


def test_when_no_store_can_fill_it_the_shopper_is_told_before_paying(
    client, shopper, merchant, session, stripe
):
    (first,), sku = _stores(session, merchant, [1])
    resp = _ship(client, shopper, sku)
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "orders.unfillable"
    assert stripe.intents == {}
    assert _reserved(session, first, sku) == 0


def test_when_the_last_store_rejects_the_order_is_refunded(
    app, client, shopper, owner, merchant, session, stripe
):
    (only,), sku = _stores(session, merchant, [5])
    order = _ship(client, shopper, sku).get_json()
    pay(client, shopper, order["id"])
    resp = _act(client, owner, only, order["id"], "reject", {"reason": "Closing early"})
    assert resp.get_json()["state"] == "cancelled"
    with app.app_context():
        refunds.send_batch(session=session, provider=payments.from_config())
        session.commit()
    assert order_row(session, order["id"]).payment_state == "refunded"
    assert len(stripe.refunds) == 1
    assert _reserved(session, only, sku) == 0


def test_a_pickup_order_is_not_dispatched_and_needs_its_store(
    client, shopper, owner, merchant, session, stripe
):
    (only,), sku = _stores(session, merchant, [5])
    no_store = client.post(
        "/v1/orders",
        json={"items": [{"sku_id": sku.id, "qty": 1}], "payment_method": "online"},
        headers=shopper.headers,
    )
    assert no_store.status_code == 422
    assert "store_id" in no_store.get_json()["errors"]
    at_till = {"fulfilment": "ship_from_store", "delivery": HOME, "payment_method": "at_store"}
    resp = client.post(
        "/v1/orders",
        json={**at_till, "items": [{"sku_id": sku.id, "qty": 1}]},
        headers=shopper.headers,
    )
    assert resp.status_code == 422
    assert "payment_method" in resp.get_json()["errors"]


def test_two_stores_accepting_the_same_order_one_wins(
    committed, make_shopper, make_staff, merchant, session, stripe
):
    (first, second), sku = _stores(session, merchant, [5, 5])
    shopper = make_shopper()
    client = committed.test_client()
    order = _ship(client, shopper, sku).get_json()
    pay(client, shopper, order["id"])
    staff = [make_staff("store_manager", store_ids=[s.id]) for s in (first, first, second)]
    stores = (first, first, second)

    def accept(caller, store):
        return lambda client: _act(client, caller, store, order["id"], "accept").status_code

    statuses = race(committed, [accept(c, s) for c, s in zip(staff, stores, strict=True)])
    assert sorted(statuses[:2]) == [200, 409]  # one of the offered store's staff wins
    assert statuses[2] == 404  # the second store was never offered it
    with committed.app_context():
        assert db.session.get(Reservation, order_row(session, order["id"]).reservation_id)
    assert _reserved(session, first, sku) == 2 and _reserved(session, second, sku) == 0
