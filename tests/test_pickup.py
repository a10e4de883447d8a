"""Reservations for store pickup: holds all or nothing, limits, codes, states, tenancy."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.inventory.models import Stock
from app.pickup.models import Reservation
from tests import factories, factories_stores
from tests import factories_inventory as inv


@pytest.fixture
def shop(session, merchant):
    """A pickup store with three shared SKUs (10 each) and one sold in store only."""
    store = factories_stores.store(session, merchant=merchant)
    skus = inv.skus(session, merchant, count=4)
    for sku in skus[:3]:
        inv.stock(session, store, sku, on_hand=10)
    inv.stock(session, store, skus[3], on_hand=10, channel="offline_only")
    session.commit()
    return store, skus


def _reserve(client, caller, store, lines, key=None):
    headers = dict(caller.headers)
    if key:
        headers["Idempotency-Key"] = key
    body = {"store_id": store.id, "items": [{"sku_id": s.id, "qty": q} for s, q in lines]}
    return client.post("/v1/reservations", json=body, headers=headers)


def _stock(session, store, sku) -> Stock:
    return session.scalars(
        select(Stock)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()


def test_a_reservation_holds_every_item_and_shows_the_code_once(client, shopper, shop, session):
    store, skus = shop
    resp = _reserve(client, shopper, store, [(skus[0], 2), (skus[1], 1)])
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "reserved"
    assert re.fullmatch(r"[0-9]{6}", body["pickup_code"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=119) < expires - datetime.now(UTC) <= timedelta(minutes=120)
    assert _stock(session, store, skus[0]).reserved == 2
    assert _stock(session, store, skus[1]).reserved == 1
    again = client.get(f"/v1/reservations/{body['id']}", headers=shopper.headers).get_json()
    assert "pickup_code" not in again
    stored = session.scalars(select(Reservation.pickup_code_hash)).one()
    assert body["pickup_code"] not in stored


def test_short_items_are_all_listed_and_nothing_is_held(client, shopper, shop, session):
    store, skus = shop
    session.execute(update(Stock).where(Stock.sku_id == skus[1].id).values(on_hand=5))
    session.commit()
    resp = _reserve(client, shopper, store, [(skus[0], 2), (skus[1], 6), (skus[3], 1)])
    assert resp.status_code == 409
    problem = resp.get_json()
    assert problem["type"] == "inventory.out_of_stock"
    assert problem["short"] == [
        {"sku_id": skus[1].id, "requested": 6, "available": 5},
        {"sku_id": skus[3].id, "requested": 1, "available": 0},  # offline-only: not reservable
    ]
    assert _stock(session, store, skus[0]).reserved == 0


def test_foreign_unknown_and_closed_targets(client, shopper, shop, session, merchant, unchanged):
    store, skus = shop
    other = factories.merchant(session)
    foreign_sku = inv.skus(session, other)[0]
    closed = factories_stores.store(session, merchant=merchant, pickup_enabled=False)
    session.commit()
    with unchanged():
        resp = _reserve(client, shopper, store, [(skus[0], 1), (foreign_sku, 1)])
        assert resp.status_code == 404
        assert resp.get_json()["type"] == "catalog.sku_not_found"
        body = {"store_id": 99999999, "items": [{"sku_id": skus[0].id, "qty": 1}]}
        assert (
            client.post("/v1/reservations", json=body, headers=shopper.headers).status_code == 404
        )
        body = {"store_id": store.id, "items": [{"sku_id": 99999999, "qty": 1}]}
        assert (
            client.post("/v1/reservations", json=body, headers=shopper.headers).status_code == 404
        )
        resp = _reserve(client, shopper, closed, [(skus[0], 1)])
        assert resp.status_code == 409
        assert resp.get_json()["type"] == "pickup.store_unavailable"


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"sku_id": 1, "qty": 0}], "items.0.qty"),
        ([{"sku_id": 1, "qty": 100}], "items.0.qty"),
        ([{"sku_id": i, "qty": 1} for i in range(1, 52)], "items"),
        ([{"sku_id": -1, "qty": 1}], "items.0.sku_id"),
    ],
)
def test_bad_carts_are_422(client, shopper, items, field):
    resp = client.post(
        "/v1/reservations", json={"store_id": 1, "items": items}, headers=shopper.headers
    )
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]


def test_an_idempotency_key_replays_the_first_answer(client, shopper, shop, session):
    store, skus = shop
    first = _reserve(client, shopper, store, [(skus[0], 3)], key="k-1")
    replay = _reserve(client, shopper, store, [(skus[0], 3)], key="k-1")
    assert first.status_code == replay.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    a, b = first.get_json(), replay.get_json()
    assert a["id"] == b["id"] and a["expires_at"] == b["expires_at"]
    assert re.fullmatch(r"[0-9]{6}", b["pickup_code"])  # a fresh code: the first was lost
    assert _stock(session, store, skus[0]).reserved == 3
    other_body = _reserve(client, shopper, store, [(skus[0], 4)], key="k-1")
    assert other_body.status_code == 422
    assert other_body.get_json()["type"] == "idempotency.key_reused"
    assert len(session.scalars(select(Reservation.id)).all()) == 1


def test_keys_are_per_user(client, make_shopper, shop):
    store, skus = shop
    a, b = make_shopper(), make_shopper()
    first = _reserve(client, a, store, [(skus[0], 1)], key="same").get_json()
    second = _reserve(client, b, store, [(skus[0], 1)], key="same").get_json()
    assert first["id"] != second["id"]


def test_a_shopper_holds_at_most_five_reservations_and_ten_units_per_sku(client, shopper, shop):
    store, skus = shop
    over = _reserve(client, shopper, store, [(skus[0], 11)])
    assert over.status_code == 409  # also more than on hand; the cap answers first
    assert over.get_json()["type"] == "pickup.limit_reached"
    assert _reserve(client, shopper, store, [(skus[0], 6)]).status_code == 201
    units = _reserve(client, shopper, store, [(skus[0], 5)])
    assert units.get_json()["type"] == "pickup.limit_reached"
    for _ in range(4):
        assert _reserve(client, shopper, store, [(skus[1], 1)]).status_code == 201
    sixth = _reserve(client, shopper, store, [(skus[2], 1)])
    assert sixth.status_code == 409
    assert sixth.get_json()["type"] == "pickup.limit_reached"


def test_creating_reservations_is_rate_limited_per_user(client, make_shopper, shop, app):
    store, skus = shop
    a, b = make_shopper(), make_shopper()
    app.config["RESERVATION_RATE_LIMIT"] = "2/minute"
    try:
        codes = [_reserve(client, a, store, [(skus[0], 1)]).status_code for _ in range(3)]
        other = _reserve(client, b, store, [(skus[0], 1)]).status_code
    finally:
        app.config["RESERVATION_RATE_LIMIT"] = "20/minute"
    assert codes == [201, 201, 429]
    assert other == 201


def test_shoppers_list_read_cancel_and_extend_their_own_only(client, make_shopper, shop, session):
    store, skus = shop
    mine, theirs = make_shopper(), make_shopper()
    ids = [_reserve(client, mine, store, [(skus[i], 1)]).get_json()["id"] for i in range(3)]
    page = client.get("/v1/reservations?limit=2", headers=mine.headers).get_json()
    assert [r["id"] for r in page["items"]] == ids[::-1][:2]
    rest = client.get(
        f"/v1/reservations?limit=2&cursor={page['next_cursor']}", headers=mine.headers
    ).get_json()
    assert [r["id"] for r in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    for path in ("", "/cancel", "/extend"):
        method = client.get if not path else client.post
        resp = method(f"/v1/reservations/{ids[0]}{path}", headers=theirs.headers)
        assert resp.status_code == 404, path
    assert client.get("/v1/reservations/not-a-uuid", headers=mine.headers).status_code == 404

    extended = client.post(f"/v1/reservations/{ids[0]}/extend", headers=mine.headers)
    assert extended.status_code == 200 and extended.get_json()["extended"] is True
    twice = client.post(f"/v1/reservations/{ids[0]}/extend", headers=mine.headers)
    assert twice.status_code == 409

    cancelled = client.post(f"/v1/reservations/{ids[0]}/cancel", headers=mine.headers)
    assert cancelled.get_json()["state"] == "cancelled"
    assert _stock(session, store, skus[0]).reserved == 0
    again = client.post(f"/v1/reservations/{ids[0]}/cancel", headers=mine.headers)
    assert again.status_code == 409
    assert again.get_json()["type"] == "pickup.invalid_transition"


def test_the_one_clock_moves_a_hold_past_its_expiry(client, shopper, shop, monkeypatch, app):
    # app/clock.py is pickup's clock too: a test (or a replay tool) that sets it sees holds lapse.
    store, skus = shop
    held = _reserve(client, shopper, store, [(skus[0], 1)]).get_json()
    expires = datetime.fromisoformat(held["expires_at"])
    monkeypatch.setitem(app.config, "CLOCK", lambda: expires + timedelta(seconds=1))
    later = client.get(f"/v1/reservations/{held['id']}", headers=shopper.headers).get_json()
    assert later["state"] == "expired"


def test_an_overdue_hold_reads_as_expired_before_the_sweeper_and_is_released_by_it(
    client, shopper, shop, session, app, owner
):
    store, skus = shop
    rid = _reserve(client, shopper, store, [(skus[0], 4)]).get_json()["id"]
    session.execute(update(Reservation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    session.commit()
    listing = f"/v1/admin/stores/{store.id}/reservations?state="
    assert client.get(listing + "reserved", headers=owner.headers).get_json()["items"] == []
    expired = client.get(listing + "expired", headers=owner.headers).get_json()["items"]
    assert [r["id"] for r in expired] == [rid]
    assert client.get(f"/v1/reservations/{rid}", headers=shopper.headers).get_json()["state"] == (
        "expired"
    )
    assert client.post(f"/v1/reservations/{rid}/cancel", headers=shopper.headers).status_code == 409
    assert _stock(session, store, skus[0]).reserved == 4  # the hold is still counted
    result = app.test_cli_runner().invoke(args=["sweep-expired"])
    assert result.exit_code == 0, result.output
    assert "expired 1 reservations" in result.output
    assert _stock(session, store, skus[0]).reserved == 0
    assert session.scalars(select(Reservation.state)).one() == "expired"


def _staff_path(store, rid, action=""):
    return f"/v1/admin/stores/{store.id}/reservations/{rid}{action}"


def test_staff_prepare_and_hand_over_with_the_code(client, shopper, shop, make_staff, session):
    store, skus = shop
    manager = make_staff("store_manager", store_ids=[store.id])
    created = _reserve(client, shopper, store, [(skus[0], 2)]).get_json()
    rid, code = created["id"], created["pickup_code"]
    early = client.post(
        _staff_path(store, rid, "/pickup"), json={"code": code}, headers=manager.headers
    )
    assert early.status_code == 409  # not ready yet
    ready = client.post(_staff_path(store, rid, "/ready"), headers=manager.headers)
    assert ready.status_code == 200 and ready.get_json()["state"] == "ready"
    listed = client.get(
        f"/v1/admin/stores/{store.id}/reservations?state=ready", headers=manager.headers
    ).get_json()
    assert [r["id"] for r in listed["items"]] == [rid]
    done = client.post(
        _staff_path(store, rid, "/pickup"), json={"code": code}, headers=manager.headers
    )
    assert done.status_code == 200 and done.get_json()["state"] == "picked_up"
    row = _stock(session, store, skus[0])
    assert (row.on_hand, row.reserved) == (8, 0)
    twice = client.post(
        _staff_path(store, rid, "/pickup"), json={"code": code}, headers=manager.headers
    )
    assert twice.status_code == 409


def test_five_wrong_codes_lock_the_hand_over_until_a_manager_overrides(
    client, shopper, shop, owner
):
    store, skus = shop
    created = _reserve(client, shopper, store, [(skus[0], 1)]).get_json()
    rid, code = created["id"], created["pickup_code"]
    client.post(_staff_path(store, rid, "/ready"), headers=owner.headers)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    too_soon = client.post(
        _staff_path(store, rid, "/pickup"),
        json={"override_reason": "ID seen"},
        headers=owner.headers,
    )
    assert too_soon.status_code == 409
    for left in (4, 3, 2, 1, 0):
        resp = client.post(
            _staff_path(store, rid, "/pickup"), json={"code": wrong}, headers=owner.headers
        )
        assert resp.status_code == 422
        assert resp.get_json()["attempts_left"] == left
    locked = client.post(
        _staff_path(store, rid, "/pickup"), json={"code": code}, headers=owner.headers
    )
    assert locked.status_code == 409
    assert locked.get_json()["type"] == "pickup.code_locked"
    override = client.post(
        _staff_path(store, rid, "/pickup"),
        json={"override_reason": "ID card checked"},
        headers=owner.headers,
    )
    assert override.status_code == 200
    assert override.get_json()["close_reason"] == "Manager override: ID card checked"


def test_staff_cancel_with_a_reason_and_tenancy_holds(
    client, shopper, shop, make_staff, session, merchant
):
    store, skus = shop
    other_store = factories_stores.store(session, merchant=merchant)
    session.commit()
    rid = _reserve(client, shopper, store, [(skus[0], 3)]).get_json()["id"]
    stranger = make_staff("owner", of=factories.merchant(session))
    elsewhere = make_staff("store_manager", store_ids=[other_store.id])
    service = make_staff("service")
    for caller in (stranger, elsewhere):
        resp = client.get(_staff_path(store, rid), headers=caller.headers)
        assert resp.status_code == 404
    wrong_store = client.get(_staff_path(other_store, rid), headers=service.headers)
    assert wrong_store.status_code == 404
    no_reason = client.post(_staff_path(store, rid, "/cancel"), json={}, headers=service.headers)
    assert no_reason.status_code == 422
    cancelled = client.post(
        _staff_path(store, rid, "/cancel"), json={"reason": "Item damaged"}, headers=service.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.get_json()["close_reason"] == "Item damaged"
    assert _stock(session, store, skus[0]).reserved == 0
    cannot = client.post(_staff_path(store, rid, "/ready"), headers=service.headers)
    assert cannot.status_code == 403
