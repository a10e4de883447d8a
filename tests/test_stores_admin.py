"""/v1/admin/stores: create, list, read, change, deactivate, hours exceptions; roles, tenancy."""

import pytest
from sqlalchemy import func, select

from app.stores.models import Store, StoreHoursException
from tests import factories
from tests.factories_stores import TAIPEI, store

NEW_STORE = {
    "code": "TPE-001",
    "name": "Leaf & Bean Xinyi",
    "address": "No. 7, Songren Rd",
    "city": "Taipei",
    "location": {"lat": 25.0330, "lng": 121.5654},
    "timezone": "Asia/Taipei",
    "phone": "+886 2 1234 5678",
    "hours": {
        "mon": [{"opens": "08:00", "closes": "12:00"}, {"opens": "13:00", "closes": "22:00"}],
        "fri": [{"opens": "18:00", "closes": "02:00"}],
        "sun": [{"opens": "00:00", "closes": "24:00"}],
    },
}


def count_stores(session) -> int:
    return session.scalar(select(func.count()).select_from(Store))


@pytest.fixture
def two_stores(session, merchant):
    stores = [store(session, merchant=merchant), store(session, merchant=merchant)]
    session.commit()
    return stores


@pytest.fixture
def foreign_store(session):
    other = factories.merchant(session)
    s = store(session, merchant=other)
    session.commit()
    return s


def test_owner_creates_a_store(client, session, owner):
    resp = client.post("/v1/admin/stores", json=NEW_STORE, headers=owner.headers)

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["merchant_id"] == owner.merchant_id and body["code"] == "TPE-001"
    assert body["location"] == pytest.approx({"lat": 25.0330, "lng": 121.5654})
    assert body["hours"] == NEW_STORE["hours"]
    assert body["is_active"] and body["pickup_enabled"] and body["pickup_hold_minutes"] == 120
    assert session.get(Store, body["id"]).name == "Leaf & Bean Xinyi"


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 201), ("operator", 201), ("store_manager", 403), ("service", 403)],
)
def test_who_may_create(client, make_staff, two_stores, role, status):
    caller = make_staff(role, store_ids=[two_stores[0].id] if role == "store_manager" else ())

    resp = client.post("/v1/admin/stores", json=NEW_STORE, headers=caller.headers)

    assert resp.status_code == status


def test_shoppers_and_strangers_may_not(client, shopper):
    assert client.post("/v1/admin/stores", json=NEW_STORE).status_code == 401
    assert (
        client.post("/v1/admin/stores", json=NEW_STORE, headers=shopper.headers).status_code == 403
    )


@pytest.mark.parametrize("role", ["owner", "operator", "service"])
def test_every_role_lists_all_the_merchants_stores(
    client, make_staff, two_stores, foreign_store, role
):
    caller = make_staff(role)

    items = client.get("/v1/admin/stores", headers=caller.headers).get_json()["items"]

    assert [item["id"] for item in items] == [s.id for s in two_stores]


def test_a_store_manager_lists_and_reads_only_their_stores(client, make_staff, two_stores):
    mine, theirs = two_stores
    manager = make_staff("store_manager", store_ids=[mine.id])

    items = client.get("/v1/admin/stores", headers=manager.headers).get_json()["items"]

    assert [item["id"] for item in items] == [mine.id]
    assert client.get(f"/v1/admin/stores/{mine.id}", headers=manager.headers).status_code == 200
    assert client.get(f"/v1/admin/stores/{theirs.id}", headers=manager.headers).status_code == 404


def test_the_admin_list_pages_by_cursor(client, session, merchant, owner):
    made = [store(session, merchant=merchant).id for _ in range(5)]
    session.commit()
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/admin/stores", query_string=query, headers=owner.headers).get_json()
        seen += [item["id"] for item in body["items"]]
        if not (cursor := body["next_cursor"]):
            break

    assert seen == made


def test_another_merchants_store_is_not_found(client, owner, foreign_store, unchanged):
    path = f"/v1/admin/stores/{foreign_store.id}"

    with unchanged():
        assert client.get(path, headers=owner.headers).status_code == 404
        assert client.patch(path, json={"name": "Mine"}, headers=owner.headers).status_code == 404
        assert client.delete(path, headers=owner.headers).status_code == 404
        day = f"{path}/hours-exceptions/2026-12-25"
        assert client.put(day, json={"closed": True}, headers=owner.headers).status_code == 404


def test_operators_change_anything(client, session, make_staff, two_stores):
    operator = make_staff("operator")
    target = two_stores[0]

    resp = client.patch(
        f"/v1/admin/stores/{target.id}",
        json={
            "name": "Renamed",
            "location": {"lat": 25.04, "lng": 121.57},
            "timezone": "Asia/Tokyo",
        },
        headers=operator.headers,
    )

    assert resp.status_code == 200, resp.get_json()
    session.refresh(target)
    assert (target.name, target.timezone) == ("Renamed", "Asia/Tokyo")
    assert target.position == pytest.approx({"lat": 25.04, "lng": 121.57})


def test_store_managers_change_only_hours_and_pickup_of_their_stores(
    client, session, make_staff, two_stores
):
    mine, theirs = two_stores
    manager = make_staff("store_manager", store_ids=[mine.id])
    hours = {"sat": [{"opens": "10:00", "closes": "16:00"}]}

    ok = client.patch(
        f"/v1/admin/stores/{mine.id}",
        json={"hours": hours, "pickup_enabled": False, "pickup_hold_minutes": 60},
        headers=manager.headers,
    )
    renamed = client.patch(
        f"/v1/admin/stores/{mine.id}", json={"name": "X"}, headers=manager.headers
    )
    other = client.patch(
        f"/v1/admin/stores/{theirs.id}", json={"hours": hours}, headers=manager.headers
    )

    assert ok.status_code == 200 and ok.get_json()["hours"] == hours
    assert renamed.status_code == 403 and "name" in renamed.get_json()["detail"]
    assert other.status_code == 404
    session.refresh(mine)
    assert (mine.name, mine.pickup_enabled, mine.pickup_hold_minutes) != ("X", True, 120)
    assert mine.open_minutes is not None


def test_service_staff_only_read(client, make_staff, two_stores):
    service = make_staff("service")
    path = f"/v1/admin/stores/{two_stores[0].id}"

    assert client.get(path, headers=service.headers).status_code == 200
    assert (
        client.patch(path, json={"pickup_enabled": False}, headers=service.headers).status_code
        == 403
    )
    assert client.delete(path, headers=service.headers).status_code == 403


def test_deactivating_hides_the_store_from_shoppers(client, session, owner, two_stores):
    gone, kept = two_stores

    assert client.delete(f"/v1/admin/stores/{gone.id}", headers=owner.headers).status_code == 204

    items = client.get(
        "/v1/stores/nearby", query_string={"lat": TAIPEI[0], "lng": TAIPEI[1]}
    ).get_json()
    assert [item["id"] for item in items["items"]] == [kept.id]
    assert client.get(f"/v1/stores/{gone.id}").status_code == 404
    assert (
        client.get(f"/v1/admin/stores/{gone.id}", headers=owner.headers).get_json()["is_active"]
        is False
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"hours": {"mon": [{"opens": "09:00", "closes": "09:00"}]}}, "hours.mon.0.closes"),
        ({"hours": {"mon": [{"opens": "00:00", "closes": "00:00"}]}}, "hours.mon.0.closes"),
        ({"hours": {"mon": [{"opens": "24:00", "closes": "09:00"}]}}, "hours.mon.0.opens"),
        ({"hours": {"mon": [{"opens": "9:00", "closes": "18:00"}]}}, "hours.mon.0.opens"),
        ({"hours": {"funday": []}}, "hours.funday"),
        ({"hours": {"mon": [{"opens": "09:00", "closes": "10:00"}] * 7}}, "hours.mon"),
        ({"location": {"lat": 91, "lng": 0}}, "location.lat"),
        ({"location": {"lat": 0, "lng": "NaN"}}, "location.lng"),
        ({"name": "x" * 121}, "name"),
        ({"name": ""}, "name"),
        ({"pickup_hold_minutes": 1}, "pickup_hold_minutes"),
        ({"phone": "call me"}, "phone"),
        ({"code": "has space"}, "code"),
        ({"merchant_id": 2}, "merchant_id"),
    ],
)
def test_bad_store_fields_are_named(client, owner, change, field):
    resp = client.post("/v1/admin/stores", json={**NEW_STORE, **change}, headers=owner.headers)

    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_a_taken_code_is_a_conflict_free_upsert_only_through_import(client, owner):
    first = client.post("/v1/admin/stores", json=NEW_STORE, headers=owner.headers)
    second = client.post("/v1/admin/stores", json=NEW_STORE, headers=owner.headers)

    assert first.status_code == 201
    assert second.status_code == 409 and second.get_json()["type"] == "stores.code_taken"


def test_hours_exceptions_by_date(client, session, make_staff, two_stores):
    mine = two_stores[0]
    manager = make_staff("store_manager", store_ids=[mine.id])
    base = f"/v1/admin/stores/{mine.id}/hours-exceptions"
    special = {
        "closed": False,
        "hours": [{"opens": "18:00", "closes": "02:00"}],
        "note": "New Year",
    }

    put = client.put(f"{base}/2026-12-31", json=special, headers=manager.headers)
    closed = client.put(f"{base}/2026-12-25", json={"closed": True}, headers=manager.headers)
    again = client.put(
        f"{base}/2026-12-25", json={"closed": True, "note": "Xmas"}, headers=manager.headers
    )

    assert put.status_code == 200 and put.get_json()["hours"] == special["hours"]
    assert closed.status_code == 200 and again.get_json()["note"] == "Xmas"
    listed = client.get(base, headers=manager.headers).get_json()["items"]
    assert [(e["date"], e["closed"]) for e in listed] == [
        ("2026-12-25", True),
        ("2026-12-31", False),
    ]
    assert client.delete(f"{base}/2026-12-25", headers=manager.headers).status_code == 204
    assert client.delete(f"{base}/2026-12-25", headers=manager.headers).status_code == 404
    assert session.scalar(select(func.count()).select_from(StoreHoursException)) == 1


@pytest.mark.parametrize(
    ("path_date", "body", "field"),
    [
        ("2026-12-25", {"closed": True, "hours": [{"opens": "09:00", "closes": "12:00"}]}, "hours"),
        ("2026-12-25", {"closed": False}, "hours"),
        (
            "2026-12-25",
            {"closed": False, "hours": [{"opens": "09:00", "closes": "09:00"}]},
            "hours.0.closes",
        ),
    ],
)
def test_bad_exceptions_are_named(client, owner, two_stores, path_date, body, field):
    resp = client.put(
        f"/v1/admin/stores/{two_stores[0].id}/hours-exceptions/{path_date}",
        json=body,
        headers=owner.headers,
    )

    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]


@pytest.mark.parametrize("path_date", ["2026-13-01", "tomorrow", "1999-12-31"])
def test_a_path_that_is_no_date_of_2000_2100_does_not_exist(client, owner, two_stores, path_date):
    resp = client.put(
        f"/v1/admin/stores/{two_stores[0].id}/hours-exceptions/{path_date}",
        json={"closed": True},
        headers=owner.headers,
    )

    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_a_retried_create_with_the_same_key_makes_one_store(client, session, owner):
    headers = {**owner.headers, "Idempotency-Key": "create-tpe-001"}

    first = client.post("/v1/admin/stores", json=NEW_STORE, headers=headers)
    retry = client.post("/v1/admin/stores", json=NEW_STORE, headers=headers)
    other = client.post("/v1/admin/stores", json={**NEW_STORE, "name": "Other"}, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json() and retry.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert count_stores(session) == 1
