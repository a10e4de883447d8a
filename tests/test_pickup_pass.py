"""Pickup that talks back: preparing, the ready and cancel notifications, the pickup pass."""

import pytest
from sqlalchemy import select

from app.notifications.models import Notification
from app.pickup.models import Reservation
from tests import factories, factories_stores
from tests import factories_inventory as inv


@pytest.fixture
def shop(session, merchant):
    store = factories_stores.store(session, merchant=merchant)
    skus = inv.skus(session, merchant, count=2)
    for sku in skus:
        inv.stock(session, store, sku, on_hand=10)
    session.commit()
    return store, skus


def _reserve(client, shopper, store, skus) -> str:
    body = {"store_id": store.id, "items": [{"sku_id": skus[0].id, "qty": 2}]}
    resp = client.post("/v1/reservations", json=body, headers=shopper.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _path(store, rid, action=""):
    return f"/v1/admin/stores/{store.id}/reservations/{rid}{action}"


def _kinds(session, user_id):
    query = select(Notification.kind).where(Notification.user_id == user_id)
    return list(session.scalars(query.order_by(Notification.id)))


def test_preparing_then_ready_tells_the_shopper_once(client, shopper, shop, owner, session):
    store, skus = shop
    rid = _reserve(client, shopper, store, skus)
    resp = client.post(_path(store, rid, "/preparing"), headers=owner.headers)
    assert resp.status_code == 200 and resp.get_json()["state"] == "preparing"
    seen = client.get(f"/v1/reservations/{rid}", headers=shopper.headers).get_json()
    assert seen["state"] == "preparing"
    assert _kinds(session, shopper.id) == []
    assert client.post(_path(store, rid, "/ready"), headers=owner.headers).status_code == 200
    again = client.post(_path(store, rid, "/ready"), headers=owner.headers)
    assert again.status_code == 409  # no second transition, so no second notification
    assert _kinds(session, shopper.id) == ["reservation_ready"]
    inbox = client.get("/v1/me/notifications", headers=shopper.headers).get_json()
    assert inbox["unread_count"] == 1
    item = inbox["items"][0]
    assert item["data"]["reservation_id"] == rid
    assert store.name in item["title"] and store.address in item["body"]
    assert "2 × " in item["body"]


def test_a_failed_ready_writes_no_notification(client, shopper, shop, owner, session):
    store, skus = shop
    rid = _reserve(client, shopper, store, skus)
    client.post(f"/v1/reservations/{rid}/cancel", headers=shopper.headers)
    assert client.post(_path(store, rid, "/ready"), headers=owner.headers).status_code == 409
    assert _kinds(session, shopper.id) == []


def test_store_cancel_tells_the_reason_in_the_shoppers_language(
    client, shopper, shop, owner, session
):
    store, skus = shop
    rid = _reserve(client, shopper, store, skus)
    resp = client.post(
        _path(store, rid, "/cancel"), json={"reason": "Item damaged"}, headers=owner.headers
    )
    assert resp.status_code == 200
    zh = client.get(
        "/v1/me/notifications", headers={**shopper.headers, "Accept-Language": "zh-CN,zh;q=0.9"}
    ).get_json()["items"][0]
    assert zh["kind"] == "reservation_cancelled"
    assert zh["title"] == f"{store.name}取消了您的预订" and "Item damaged" in zh["body"]
    en = client.get("/v1/me/notifications", headers=shopper.headers).get_json()["items"][0]
    assert en["title"] == f"{store.name} cancelled your pickup"
    # No Accept-Language: the profile's language decides.
    assert (
        client.patch("/v1/me", json={"locale": "zh-CN"}, headers=shopper.headers).status_code == 200
    )
    profile = client.get("/v1/me/notifications", headers=shopper.headers).get_json()["items"][0]
    assert profile["title"] == zh["title"]
    bad = client.patch("/v1/me", json={"locale": "xx"}, headers=shopper.headers)
    assert bad.status_code == 422 and "locale" in bad.get_json()["errors"]


def _ready(client, shopper, shop, owner) -> str:
    store, skus = shop
    rid = _reserve(client, shopper, store, skus)
    assert client.post(_path(store, rid, "/ready"), headers=owner.headers).status_code == 200
    return rid


def _collect(client, store, staff, token):
    return client.post(
        f"/v1/admin/stores/{store.id}/reservations:collect",
        json={"pass": token},
        headers=staff.headers,
    )


def test_the_pass_collects_once_and_only_at_its_store(
    client, shopper, shop, owner, make_shopper, session, merchant
):
    store, skus = shop
    rid = _ready(client, shopper, shop, owner)
    other = make_shopper()
    assert client.get(f"/v1/reservations/{rid}/pass", headers=other.headers).status_code == 404
    resp = client.get(f"/v1/reservations/{rid}/pass", headers=shopper.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["qr_svg"].startswith("<svg") and body["token"]
    elsewhere = factories_stores.store(session, merchant=merchant)
    session.commit()
    wrong = _collect(client, elsewhere, owner, body["token"])
    assert wrong.status_code == 422 and "pass" in wrong.get_json()["errors"]
    forged = _collect(client, store, owner, body["token"][:-2] + "xx")
    assert forged.status_code == 422
    done = _collect(client, store, owner, body["token"])
    assert done.status_code == 200 and done.get_json()["state"] == "picked_up"
    replay = _collect(client, store, owner, body["token"])
    assert replay.status_code == 409
    row = session.scalars(select(Reservation).execution_options(populate_existing=True)).one()
    assert row.state == "picked_up" and row.close_reason == "Picked up with the pickup pass."
    gone = client.get(f"/v1/reservations/{rid}/pass", headers=shopper.headers)
    assert gone.status_code == 409


def test_an_old_pass_is_refused(client, app, shopper, shop, owner):
    store, _ = shop
    rid = _ready(client, shopper, shop, owner)
    token = client.get(f"/v1/reservations/{rid}/pass", headers=shopper.headers).get_json()["token"]
    app.config["PICKUP_PASS_SECONDS"] = -1  # every pass is older than this
    try:
        resp = _collect(client, store, owner, token)
    finally:
        app.config["PICKUP_PASS_SECONDS"] = 60
    assert resp.status_code == 422
    assert "expired" in resp.get_json()["errors"]["pass"][0]


def test_the_sweeper_tells_the_shopper_a_hold_expired(app, client, shopper, shop, session):
    from datetime import UTC, datetime, timedelta

    from app.extensions import db
    from app.pickup import expiry

    store, skus = shop
    rid = _reserve(client, shopper, store, skus)
    past = datetime.now(UTC) - timedelta(minutes=1)
    session.execute(Reservation.__table__.update().values(expires_at=past))
    session.commit()
    with app.app_context():
        assert expiry.sweep_batch(session=db.session) == 1
        db.session.commit()
    assert _kinds(session, shopper.id) == ["reservation_expired"]
    item = client.get("/v1/me/notifications", headers=shopper.headers).get_json()["items"][0]
    assert item["data"]["reservation_id"] == rid and store.name in item["title"]


def _stock_row(session, store, sku):
    from app.inventory.models import Stock

    return session.scalars(
        select(Stock)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()


def _reserve_lines(client, shopper, store, lines) -> str:
    body = {"store_id": store.id, "items": [{"sku_id": s.id, "qty": q} for s, q in lines]}
    resp = client.post("/v1/reservations", json=body, headers=shopper.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_a_short_line_releases_exactly_its_units(client, shopper, shop, owner, session):
    store, skus = shop
    rid = _reserve_lines(client, shopper, store, [(skus[0], 3), (skus[1], 2)])
    short = f"{_path(store, rid)}/items/{skus[0].id}:short"
    resp = client.post(short, json={"missing": 2}, headers=owner.headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["items"][0] == {"sku_id": skus[0].id, "qty": 1, "short_qty": 2}
    assert _stock_row(session, store, skus[0]).reserved == 1
    assert _stock_row(session, store, skus[1]).reserved == 2
    assert _kinds(session, shopper.id) == ["reservation_short"]
    too_many = client.post(short, json={"missing": 2}, headers=owner.headers)
    assert too_many.status_code == 422 and "missing" in too_many.get_json()["errors"]
    assert _stock_row(session, store, skus[0]).reserved == 1
    # The shopper may cancel; only what is still held goes back.
    assert client.post(f"/v1/reservations/{rid}/cancel", headers=shopper.headers).status_code == 200
    assert _stock_row(session, store, skus[0]).reserved == 0
    assert _stock_row(session, store, skus[0]).on_hand == 10


def test_a_hold_with_nothing_left_is_cancelled(client, shopper, shop, owner, session):
    store, skus = shop
    rid = _reserve_lines(client, shopper, store, [(skus[0], 2)])
    short = f"{_path(store, rid)}/items/{skus[0].id}:short"
    resp = client.post(short, json={"missing": 2}, headers=owner.headers)
    assert resp.get_json()["state"] == "cancelled"
    assert _stock_row(session, store, skus[0]).reserved == 0
    assert _kinds(session, shopper.id) == ["reservation_cancelled"]


def test_the_pick_list_sums_units_per_sku_oldest_first(
    client, shopper, make_shopper, shop, owner, make_staff, session, merchant
):
    store, skus = shop
    first = _reserve_lines(client, shopper, store, [(skus[0], 2), (skus[1], 1)])
    second = _reserve_lines(client, make_shopper(), store, [(skus[0], 3)])
    done = _reserve_lines(client, make_shopper(), store, [(skus[1], 4)])
    client.post(_path(store, done, "/ready"), headers=owner.headers)
    resp = client.get(f"/v1/admin/stores/{store.id}/picklist", headers=owner.headers)
    assert resp.status_code == 200
    lines = {i["sku_id"]: i for i in resp.get_json()["items"]}
    assert lines[skus[0].id]["units"] == 5
    assert [r["id"] for r in lines[skus[0].id]["reservations"]] == [first, second]
    assert lines[skus[1].id]["units"] == 1  # the ready order is pulled already
    page = client.get(f"/v1/admin/stores/{store.id}/picklist?limit=1", headers=owner.headers)
    assert page.get_json()["next_cursor"]
    stranger = make_staff("owner", of=factories.merchant(session))
    other = client.get(f"/v1/admin/stores/{store.id}/picklist", headers=stranger.headers)
    assert other.status_code == 404


def test_no_shows_lower_the_cap_and_staff_see_them(client, app, shopper, shop, owner, session):
    from datetime import UTC, datetime, timedelta

    store, skus = shop
    app.config.update(PICKUP_NO_SHOW_LIMIT=2, PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS=1)
    try:
        missed = [_reserve(client, shopper, store, skus) for _ in range(2)]
        past = datetime.now(UTC) - timedelta(days=1)
        session.execute(Reservation.__table__.update().values(expires_at=past))
        session.commit()
        with app.app_context():
            from app.extensions import db
            from app.pickup import expiry

            assert expiry.sweep_batch(session=db.session) == 2
            db.session.commit()
        held = _reserve(client, shopper, store, skus)
        body = {"store_id": store.id, "items": [{"sku_id": skus[1].id, "qty": 1}]}
        refused = client.post("/v1/reservations", json=body, headers=shopper.headers)
        seen = client.get(_path(store, held), headers=owner.headers).get_json()
    finally:
        app.config.update(PICKUP_NO_SHOW_LIMIT=3, PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS=1)
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["type"] == "pickup.no_show_limit"
    assert problem["no_shows"] == 2 and problem["max_active"] == 1
    assert "ran out uncollected" in problem["detail"]
    assert seen["no_shows"] == 2 and len(missed) == 2
