"""Reservations under real concurrency: threads, each with its own client and connection."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.inventory.models import Stock
from app.pickup import expiry
from app.pickup.models import Reservation
from tests import factories_inventory as inv
from tests import factories_stores
from tests.race import in_app_context, race, signed_in

WORKERS = 16


def _reserver(caller, store_id, lines):
    def call(client):
        body = {"store_id": store_id, "items": [{"sku_id": s, "qty": q} for s, q in lines]}
        return client.post("/v1/reservations", json=body, headers=caller.headers)

    return call


def test_sixteen_shoppers_race_for_the_last_ten_units(committed, make_shopper, session, merchant):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=10)
    session.commit()
    shoppers = signed_in(make_shopper, WORKERS)
    calls = [_reserver(s, store.id, [(sku.id, 1)]) for s in shoppers for _ in range(2)]
    results = race(committed, calls)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 10 + [409] * 22
    assert all(b["type"] == "inventory.out_of_stock" for s, b in results if s == 409)
    row = session.scalars(select(Stock).execution_options(populate_existing=True)).one()
    assert (row.on_hand, row.reserved) == (10, 10)


def test_overlapping_carts_in_random_order_never_deadlock(
    committed, make_shopper, session, merchant
):
    store = factories_stores.store(session, merchant=merchant)
    skus = inv.skus(session, merchant, count=6)
    for sku in skus:
        inv.stock(session, store, sku, on_hand=12)
    session.commit()
    rng = random.Random(5)
    shoppers = signed_in(make_shopper, WORKERS)

    def worker(caller, seed):
        def call(client):
            r, seen = random.Random(seed), []
            for _ in range(4):
                lines = r.sample(skus, r.randint(2, 5))  # a random subset in a random order
                body = {
                    "store_id": store.id,
                    "items": [{"sku_id": s.id, "qty": r.randint(1, 2)} for s in lines],
                }
                resp = client.post("/v1/reservations", json=body, headers=caller.headers)
                seen.append(resp.status_code)
                if resp.status_code == 201 and r.random() < 0.3:
                    rid = resp.get_json()["id"]
                    cancel = client.post(f"/v1/reservations/{rid}/cancel", headers=caller.headers)
                    seen.append(cancel.status_code)
            return seen

        return call

    results = race(committed, [worker(s, rng.random()) for s in shoppers])
    codes = [c for seen in results for c in seen]
    assert set(codes) <= {200, 201, 409}, codes
    assert 201 in codes and 409 in codes
    held = session.scalar(select(func.sum(Stock.reserved)))
    assert 0 < held <= 6 * 12


def test_pickup_cancel_and_sweeper_racing_on_one_reservation_one_wins(
    committed, make_shopper, make_staff, session, merchant
):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=50)
    session.commit()
    manager = make_staff("store_manager", store_ids=[store.id])
    later = datetime.now(UTC) + timedelta(days=1)  # the sweeper's clock: every hold overdue

    def sweep():
        swept = expiry.sweep_batch(session=db.session, at=later)
        db.session.commit()
        return "expired" if swept else None

    def post(path, caller, json=None, winner=None):
        def call(client):
            resp = client.post(path, json=json, headers=caller.headers)
            assert resp.status_code in (200, 409), resp.get_json()
            return winner if resp.status_code == 200 else None

        return call

    winners = []
    for shopper in signed_in(make_shopper, 8):
        created = _reserver(shopper, store.id, [(sku.id, 2)])(committed.test_client()).get_json()
        rid, code = created["id"], created["pickup_code"]
        staff_path = f"/v1/admin/stores/{store.id}/reservations/{rid}"
        assert (
            committed.test_client().post(f"{staff_path}/ready", headers=manager.headers).status_code
            == 200
        )
        results = race(
            committed,
            [
                post(f"{staff_path}/pickup", manager, {"code": code}, "picked_up"),
                post(f"/v1/reservations/{rid}/cancel", shopper, None, "cancelled"),
                in_app_context(committed, sweep),
            ],
        )
        won = [r for r in results if r]
        assert len(won) == 1, results
        state = session.scalar(
            select(Reservation.state)
            .where(Reservation.public_id == rid)
            .execution_options(populate_existing=True)
        )
        assert state == won[0]
        winners.append(won[0])
        session.commit()
    picked = winners.count("picked_up")
    row = session.scalars(select(Stock).execution_options(populate_existing=True)).one()
    assert (row.on_hand, row.reserved) == (50 - 2 * picked, 0)


def test_several_sweepers_at_once_expire_each_hold_exactly_once(
    committed, make_shopper, session, merchant
):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=100)
    session.commit()
    for shopper in signed_in(make_shopper, 8):
        for _ in range(5):
            reserve = _reserver(shopper, store.id, [(sku.id, 2)])
            assert reserve(committed.test_client()).status_code == 201
    later = datetime.now(UTC) + timedelta(days=1)

    def sweep():
        swept = 0
        while count := expiry.sweep_batch(session=db.session, batch_size=3, at=later):
            db.session.commit()
            swept += count
        return swept

    assert sum(race(committed, [in_app_context(committed, sweep)] * 4)) == 40
    row = session.scalars(select(Stock).execution_options(populate_existing=True)).one()
    assert (row.on_hand, row.reserved) == (100, 0)
