"""GET /v1/stores/{id}: what a shopper sees, ETag and If-None-Match."""

from tests.factories_stores import NINE_TO_SIX, store


def test_detail_fields(client, session, merchant):
    s = store(session, merchant=merchant, name="Leaf & Bean", phone="+886 2 1234 5678")
    session.commit()

    body = client.get(f"/v1/stores/{s.id}").get_json()

    assert body["id"] == s.id and body["name"] == "Leaf & Bean"
    assert body["merchant"] == {"id": merchant.id, "name": merchant.name}
    assert body["hours"] == NINE_TO_SIX and body["today_exception"] is None
    assert (body["timezone"], body["phone"], body["pickup_hold_minutes"]) == (
        "Asia/Taipei",
        "+886 2 1234 5678",
        120,
    )
    assert "distance_m" not in body


def test_etag_answers_304_until_the_store_changes(client, session, merchant, owner):
    s = store(session, merchant=merchant)
    session.commit()
    first = client.get(f"/v1/stores/{s.id}")
    etag = first.headers["ETag"]

    unchanged = client.get(f"/v1/stores/{s.id}", headers={"If-None-Match": etag})
    client.patch(f"/v1/admin/stores/{s.id}", json={"name": "Renamed"}, headers=owner.headers)
    changed = client.get(f"/v1/stores/{s.id}", headers={"If-None-Match": etag})

    assert first.status_code == 200 and etag
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["name"] == "Renamed"


def test_unknown_and_inactive_stores_are_not_found(client, session, merchant):
    hidden = store(session, merchant=merchant, is_active=False)
    session.commit()

    for store_id in (hidden.id, 999_999_999):
        resp = client.get(f"/v1/stores/{store_id}")
        assert resp.status_code == 404
        assert resp.get_json()["type"] == "stores.not_found"
