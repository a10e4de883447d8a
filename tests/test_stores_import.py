"""POST /v1/admin/stores:import — all-or-nothing, per-row errors, re-import updates by code."""

from sqlalchemy import func, select

from app.stores.models import Store
from tests import factories

IMPORT = "/v1/admin/stores:import"


def row(code: str, **fields) -> dict:
    return {
        "code": code,
        "name": f"Store {code}",
        "address": "1 Main St",
        "city": "Taipei",
        "location": {"lat": 25.03, "lng": 121.56},
        "timezone": "Asia/Taipei",
        **fields,
    }


def stores_by_code(session) -> dict[str, Store]:
    session.expire_all()
    return {s.code: s for s in session.scalars(select(Store))}


def test_import_creates_then_updates_by_code(client, session, owner):
    first = client.post(
        IMPORT, json={"stores": [row("A"), row("B"), row("C")]}, headers=owner.headers
    )
    again = client.post(
        IMPORT,
        json={"stores": [row("B", name="B renamed", phone="+1 555 0100"), row("D")]},
        headers=owner.headers,
    )

    assert first.status_code == 200, first.get_json()
    assert (first.get_json()["created"], first.get_json()["updated"]) == (3, 0)
    assert again.status_code == 200
    assert (again.get_json()["created"], again.get_json()["updated"]) == (1, 1)
    stores = stores_by_code(session)
    assert sorted(stores) == ["A", "B", "C", "D"]
    assert stores["B"].name == "B renamed" and stores["B"].phone == "+1 555 0100"
    assert {item["code"]: item["id"] for item in again.get_json()["items"]}["B"] == stores["B"].id
    assert all(s.merchant_id == owner.merchant_id for s in stores.values())


def test_one_bad_row_and_nothing_is_imported(client, session, owner):
    rows = [row("A"), row("B", location={"lat": 91, "lng": 0}), row("C", timezone="Nowhere/Town")]

    resp = client.post(IMPORT, json={"stores": rows}, headers=owner.headers)

    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert set(errors) == {"stores.1.location.lat", "stores.2.timezone"}
    assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_a_code_twice_in_one_file_is_refused(client, session, owner):
    resp = client.post(IMPORT, json={"stores": [row("A"), row("A")]}, headers=owner.headers)

    assert resp.status_code == 422 and "stores.1.code" in resp.get_json()["errors"]
    assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_import_bounds_and_roles(client, owner, make_staff):
    too_many = {"stores": [row(f"S{i}") for i in range(1001)]}
    manager = make_staff("store_manager", store_ids=[])  # scope checked by role first

    assert client.post(IMPORT, json={"stores": []}, headers=owner.headers).status_code == 422
    assert client.post(IMPORT, json=too_many, headers=owner.headers).status_code in (413, 422)
    assert (
        client.post(IMPORT, json={"stores": [row("A")]}, headers=manager.headers).status_code == 403
    )
    codeless = {k: v for k, v in row("A").items() if k != "code"}
    resp = client.post(IMPORT, json={"stores": [codeless]}, headers=owner.headers)
    assert resp.status_code == 422 and "stores.0.code" in resp.get_json()["errors"]


def test_imports_of_two_merchants_do_not_collide(client, session, owner, make_staff):
    other_owner = make_staff("owner", of=factories.merchant(session))

    client.post(IMPORT, json={"stores": [row("A")]}, headers=owner.headers)
    resp = client.post(
        IMPORT, json={"stores": [row("A", name="Theirs")]}, headers=other_owner.headers
    )

    assert resp.get_json()["created"] == 1
    assert session.scalar(select(func.count()).select_from(Store)) == 2


CSV_HEADER = "code,name,address,city,lat,lng,timezone,pickup_enabled,hours\n"


def test_a_csv_import(client, session, owner):
    body = CSV_HEADER + (
        'A,Store A,1 Main St,Taipei,25.03,121.56,Asia/Taipei,false,"{""mon"": '
        '[{""opens"": ""09:00"", ""closes"": ""18:00""}]}"\n'
        "B,Store B,2 Main St,Taipei,25.04,121.57,Asia/Taipei,,\n"
    )

    resp = client.post(IMPORT, data=body, content_type="text/csv", headers=owner.headers)

    assert resp.status_code == 200, resp.get_json()
    stores = stores_by_code(session)
    assert stores["A"].pickup_enabled is False and stores["B"].pickup_enabled is True
    assert stores["A"].hours == {"mon": [{"opens": "09:00", "closes": "18:00"}]}
    assert stores["B"].position == {"lat": 25.04, "lng": 121.57}


def test_a_csv_holds_minutes_as_numbers_and_names_a_bad_one(client, session, owner):
    header = "code,name,address,city,lat,lng,timezone,pickup_hold_minutes\n"
    good = header + "A,Store A,1 Main St,Taipei,25.03,121.56,Asia/Taipei,45\n"
    resp = client.post(IMPORT, data=good, content_type="text/csv", headers=owner.headers)
    assert resp.status_code == 200, resp.get_json()
    assert stores_by_code(session)["A"].pickup_hold_minutes == 45
    bad = header + "B,Store B,2 Main St,Taipei,25.04,121.57,Asia/Taipei,soon\n"
    resp = client.post(IMPORT, data=bad, content_type="text/csv", headers=owner.headers)
    assert resp.status_code == 422
    assert "stores.0.pickup_hold_minutes" in resp.get_json()["errors"]


def test_a_csv_with_a_bad_line_imports_nothing(client, session, owner):
    body = CSV_HEADER + (
        "A,Store A,1 Main St,Taipei,25.03,121.56,Asia/Taipei,,\n"
        "B,Store B,2 Main St,Taipei,95,121.57,Asia/Taipei,,{not json\n"
    )

    resp = client.post(IMPORT, data=body, content_type="text/csv", headers=owner.headers)

    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert "stores.1.location.lat" in errors
    assert any(field.startswith("stores.1.hours") for field in errors)
    assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_other_body_types_are_refused(client, owner):
    resp = client.post(
        IMPORT, data="<stores/>", content_type="application/xml", headers=owner.headers
    )

    assert resp.status_code == 415
