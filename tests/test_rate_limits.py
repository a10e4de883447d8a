"""Abuse limits: scraped reads per IP, uploads per user, wrong pickup codes per store; shared by
every process through Redis, and per process while Redis is down."""

import uuid

import pytest

from app.errors import PROBLEM
from tests import factories_inventory as inv
from tests import factories_stores
from tests.conftest import _test_url
from tests.factories_feed import image_bytes, media_root, upload  # noqa: F401  (autouse fixture)
from tests.live_servers import Gunicorn, call, free_port

READS = (
    "/v1/stores/nearby?lat=25.03&lng=121.56",
    "/v1/stores/map?bbox=121.5,25.0,121.6,25.1",
    "/v1/feed?lat=25.03&lng=121.56",
)


def _assert_limited(resp):
    assert resp.status_code == 429
    assert resp.content_type == PROBLEM
    assert resp.get_json()["type"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


def test_nearby_map_stock_and_feed_share_one_limit_per_ip(
    app, client, monkeypatch, session, merchant
):
    sku = inv.skus(session, merchant, count=1)[0]
    session.commit()
    monkeypatch.setitem(app.config, "SHOPPER_READ_RATE_LIMIT", "4/minute")
    paths = (*READS, f"/v1/skus/{sku.id}/nearby?lat=25.03&lng=121.56")
    for path in paths:
        assert client.get(path).status_code == 200, path
    for path in paths:
        _assert_limited(client.get(path))
    other_ip = client.get(READS[0], environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 200


def test_uploads_are_limited_per_user(app, client, make_shopper, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "2/hour")
    first, second = make_shopper(), make_shopper()
    assert [upload(client, first).status_code for _ in range(2)] == [201, 201]
    _assert_limited(upload(client, first))
    assert upload(client, second).status_code == 201


def test_wrong_pickup_codes_are_limited_per_store(
    app, client, make_shopper, owner, merchant, session
):
    app.config["PICKUP_CODE_STORE_RATE_LIMIT"] = "3/hour"
    try:
        store, sku = (
            factories_stores.store(session, merchant=merchant),
            inv.skus(session, merchant, count=1)[0],
        )
        inv.stock(session, store, sku, on_hand=50)
        session.commit()
        codes = []
        for _ in range(3):
            body = {"store_id": store.id, "items": [{"sku_id": sku.id, "qty": 1}]}
            created = client.post("/v1/reservations", json=body, headers=make_shopper().headers)
            rid, code = created.get_json()["id"], created.get_json()["pickup_code"]
            path = f"/v1/admin/stores/{store.id}/reservations/{rid}"
            assert client.post(path + "/ready", headers=owner.headers).status_code == 200
            codes.append((path, code))
        (p1, _), (p2, _), (p3, c3) = codes
        for path in (p1, p2, p2):  # three wrong codes over two reservations
            resp = client.post(path + "/pickup", json={"code": "000000"}, headers=owner.headers)
            assert resp.status_code == 422
        _assert_limited(client.post(p3 + "/pickup", json={"code": c3}, headers=owner.headers))
    finally:
        app.config["PICKUP_CODE_STORE_RATE_LIMIT"] = "30/hour"


def test_a_right_code_does_not_count_against_the_store(
    app, client, shopper, owner, merchant, session
):
    app.config["PICKUP_CODE_STORE_RATE_LIMIT"] = "1/hour"
    try:
        store, sku = (
            factories_stores.store(session, merchant=merchant),
            inv.skus(session, merchant, count=1)[0],
        )
        inv.stock(session, store, sku, on_hand=5)
        session.commit()
        for _ in range(2):
            body = {"store_id": store.id, "items": [{"sku_id": sku.id, "qty": 1}]}
            created = client.post("/v1/reservations", json=body, headers=shopper.headers)
            path = f"/v1/admin/stores/{store.id}/reservations/{created.get_json()['id']}"
            client.post(path + "/ready", headers=owner.headers)
            code = created.get_json()["pickup_code"]
            resp = client.post(path + "/pickup", json={"code": code}, headers=owner.headers)
            assert resp.status_code == 200
    finally:
        app.config["PICKUP_CODE_STORE_RATE_LIMIT"] = "30/hour"


def _statuses(servers, path, count):
    return [call("GET", servers[i % len(servers)].url + path).status for i in range(count)]


@pytest.mark.usefixtures("app")
def test_with_redis_every_worker_and_host_shares_the_limits(redis_url):
    env = {
        "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "SHOPPER_READ_RATE_LIMIT": "5/minute",
    }
    with Gunicorn(_test_url(), **env) as host_a, Gunicorn(_test_url(), **env) as host_b:
        statuses = _statuses([host_a, host_b], READS[0], 8)
        limited = call("GET", host_b.url + READS[1])
    assert statuses == [200] * 5 + [429] * 3
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1


@pytest.mark.usefixtures("app")
def test_with_redis_down_limits_hold_per_process_and_nothing_fails():
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "SHOPPER_READ_RATE_LIMIT": "2/minute"}
    with Gunicorn(_test_url(), workers=2, **env) as server:
        statuses = _statuses([server], READS[0], 8)
        login = call(
            "POST", server.url + "/v1/auth/login", json={"email": "a@b.c", "password": "x"}
        )
    assert set(statuses) == {200, 429}
    assert statuses.count(200) <= 4  # two per worker at most
    assert login.status in (401, 422)  # logins still answered (and still limited per process)
