"""Endless-aisle orders: staff at one store order for the shopper in front of them from another
store's shared stock, collected here after a transfer (held there, in transit, received and held
here, picked up) or shipped to the shopper; rule 1 and the stock ledger after every step; two
staff receiving the same transfer at once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from app import invariants
from app.inventory.models import Stock
from app.orders import lifecycle
from app.pickup import expiry
from app.pickup.models import Reservation
from tests import factories_inventory as inv
from tests import factories_stores
from tests.factories_orders import event_types, order_row
from tests.race import race

DELIVERY = {"name": "Mei", "address": "7 Songren Rd", "city": "Taipei", "lat": 25.04, "lng": 121.57}


def _two_stores(session, merchant, on_hand=5):
    """This store (none of the SKU) and another 1 km away holding `on_hand` shared units."""
    here = factories_stores.store(session, merchant=merchant)
    there = factories_stores.store(
        session, merchant=merchant, lng=factories_stores.TAIPEI[1] + 0.01
    )
    sku = inv.skus(session, merchant, price_cents=1200)[0]
    inv.stock(session, there, sku, on_hand=on_hand)
    session.commit()
    return here, there, sku


def _place(client, staff, here, there, sku, shopper, qty=2, key=None, **extra):
    body = {
        "shopper_email": shopper.email,
        "source_store_id": there.id,
        "items": [{"sku_id": sku.id, "qty": qty}],
        **extra,
    }
    headers = {**staff.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/v1/admin/stores/{here.id}/aisle/orders", json=body, headers=headers)


def _level(session, store, sku) -> tuple[int, int] | None:
    row = session.execute(
        select(Stock.on_hand, Stock.reserved)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).first()
    return tuple(row) if row else None


def _ledger(session, store) -> list[tuple]:
    rows = session.execute(
        text(
            "SELECT on_hand_delta, reserved_delta, reason FROM stock_changes"
            " WHERE store_id = :s ORDER BY id"
        ),
        {"s": store.id},
    )
    return [tuple(r) for r in rows]


def _step(client, staff, store, order_id, step):
    return client.post(
        f"/v1/admin/stores/{store.id}/orders/{order_id}{step}", headers=staff.headers
    )


def test_collect_here_moves_the_units_by_a_transfer_and_the_shopper_picks_up(
    client, shopper, make_staff, merchant, session
):
    here, there, sku = _two_stores(session, merchant)
    clerk = make_staff("store_manager", store_ids=[here.id])
    sender = make_staff("store_manager", store_ids=[there.id])
    placed = _place(client, clerk, here, there, sku, shopper)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert (order["state"], order["store_id"], order["transfer_from_store_id"]) == (
        "transfer_requested",
        here.id,
        there.id,
    )
    assert (order["user_id"], order["placed_by_user_id"]) == (shopper.id, clerk.id)
    assert order["pickup_code"] and order["amount_cents"] == 2400
    assert _level(session, there, sku) == (5, 2)
    assert invariants.violations(session.connection()) == {}

    waiting = client.get(
        f"/v1/admin/stores/{there.id}/orders?state=transfer_requested", headers=sender.headers
    ).get_json()
    assert [o["id"] for o in waiting["items"]] == [order["id"]]
    # This store's manager cannot send from the other store; that store's can.
    assert _step(client, clerk, there, order["id"], ":send").status_code == 404
    early = _step(client, clerk, here, order["id"], ":receive")
    assert early.status_code == 409
    sent = _step(client, sender, there, order["id"], ":send")
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["state"] == "in_transit"
    assert _level(session, there, sku) == (3, 0)
    assert invariants.violations(session.connection()) == {}
    assert _step(client, sender, there, order["id"], ":send").status_code == 409

    got = _step(client, clerk, here, order["id"], ":receive")
    assert got.status_code == 200, got.get_json()
    assert (got.get_json()["state"], got.get_json()["transfer_state"]) == ("placed", "received")
    assert _level(session, here, sku) == (2, 2)
    assert invariants.violations(session.connection()) == {}

    assert _step(client, clerk, here, order["id"], "/ready").status_code == 200
    done = client.post(
        f"/v1/admin/stores/{here.id}/orders/{order['id']}/pickup",
        json={"code": order["pickup_code"]},
        headers=clerk.headers,
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "picked_up"
    assert _level(session, here, sku) == (0, 0)
    assert _ledger(session, there)[-2:] == [
        (0, 2, "reservation.created"),
        (-2, -2, "transfer.sent"),
    ]
    assert _ledger(session, here) == [
        (2, 0, "transfer.received"),
        (0, 2, "reservation.created"),
        (-2, -2, "reservation.picked_up"),
    ]
    assert event_types(session, order["id"]) == [
        "order.created",
        "order.transfer_sent",
        "order.transfer_received",
        "order.ready",
        "order.picked_up",
    ]
    mine = client.get(f"/v1/orders/{order['id']}", headers=shopper.headers)
    assert mine.status_code == 200 and mine.get_json()["state"] == "picked_up"


def test_ship_to_the_shopper_is_paid_here_and_offered_to_the_source_store(
    client, shopper, make_staff, merchant, session
):
    here, there, sku = _two_stores(session, merchant)
    clerk = make_staff("operator")
    placed = _place(client, clerk, here, there, sku, shopper, delivery=DELIVERY)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert (order["state"], order["store_id"], order["payment_state"]) == (
        "offered",
        there.id,
        "paid",
    )
    assert order["pickup_code"] is None
    assert _level(session, there, sku) == (5, 2)
    sender = make_staff("store_manager", store_ids=[there.id])
    assert _step(client, sender, there, order["id"], ":accept").status_code == 200
    shipped = client.post(
        f"/v1/admin/stores/{there.id}/orders/{order['id']}:ship",
        json={"tracking_ref": "TW12345"},
        headers=sender.headers,
    )
    assert shipped.status_code == 200 and shipped.get_json()["state"] == "shipped"
    assert _level(session, there, sku) == (3, 0)


def test_bad_aisle_orders_are_refused_and_hold_nothing(client, shopper, owner, merchant, session):
    here, there, sku = _two_stores(session, merchant, on_hand=1)
    same = _place(client, owner, here, here, sku, shopper)
    assert same.status_code == 409 and same.get_json()["type"] == "orders.same_store"
    nobody = _place(client, owner, here, there, sku, type("S", (), {"email": "no@example.com"}))
    assert nobody.status_code == 404
    assert nobody.get_json()["type"] == "accounts.shopper_not_found"
    short = _place(client, owner, here, there, sku, shopper, qty=2)
    assert short.status_code == 409, short.get_json()
    bad_address = _place(client, owner, here, there, sku, shopper, delivery={"name": "Mei"})
    assert bad_address.status_code == 422 and "delivery.city" in bad_address.get_json()["errors"]
    assert _level(session, there, sku) == (1, 0)


def test_a_retried_aisle_order_is_the_same_order_with_a_fresh_code(
    client, shopper, owner, merchant, session
):
    here, there, sku = _two_stores(session, merchant)
    first = _place(client, owner, here, there, sku, shopper, key="k-1").get_json()
    again = _place(client, owner, here, there, sku, shopper, key="k-1")
    assert again.status_code == 201 and again.get_json()["id"] == first["id"]
    assert again.get_json()["pickup_code"] is not None
    assert _level(session, there, sku) == (5, 2)


def test_a_transfer_never_sent_expires_and_the_units_go_back_on_sale(
    app, client, shopper, owner, merchant, session
):
    here, there, sku = _two_stores(session, merchant)
    order = _place(client, owner, here, there, sku, shopper).get_json()
    session.execute(
        update(Reservation)
        .where(Reservation.id == order_row(session, order["id"]).reservation_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    with app.app_context():
        expiry.sweep_batch(session=session)
        lifecycle.settle_batch(session=session)
        session.commit()
    assert order_row(session, order["id"]).ended_state == "expired"
    assert _level(session, there, sku) == (5, 0)
    late = _step(client, owner, there, order["id"], ":send")
    assert late.status_code == 409


def test_two_staff_receiving_the_same_transfer_one_wins(
    committed, make_shopper, make_staff, merchant, session
):
    here, there, sku = _two_stores(session, merchant)
    shopper, owner = make_shopper(), make_staff("owner")
    clerk = make_staff("store_manager", store_ids=[here.id])
    client = committed.test_client()
    order = _place(client, owner, here, there, sku, shopper).get_json()
    assert _step(client, owner, there, order["id"], ":send").status_code == 200
    results = race(
        committed,
        [lambda c, who=who: _step(c, who, here, order["id"], ":receive") for who in (owner, clerk)],
    )
    assert sorted(s for s, _ in results) == [200, 409]
    assert _level(session, here, sku) == (2, 2)
    assert _level(session, there, sku) == (3, 0)
    assert event_types(session, order["id"]).count("order.transfer_received") == 1
