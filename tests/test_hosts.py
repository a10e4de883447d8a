"""Several API hosts on one database and one Redis: any request works on any host, the rate
limits are shared, and the shared read cache never shows an answer older than the last change."""

import shutil
import socket
import subprocess
import time

import pytest
import redis
from sqlalchemy import text

from app import create_app
from tests import factories_coupons, factories_stores
from tests.conftest import app_config

LOGIN_LIMIT = 3


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of the test's own on a free port (nothing kept on disk)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port)]
        + ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def hosts(redis_url, committed):
    """Two API hosts: separate apps (pools, processes' state) sharing the database and Redis."""
    redis.Redis.from_url(redis_url).flushall()
    config = {
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/minute",
    }
    return [create_app(app_config(**config)).test_client() for _ in range(2)]


def test_tokens_cursors_and_idempotency_keys_work_on_any_host(
    hosts, session, merchant, make_shopper
):
    a, b = hosts
    for n in range(3):
        factories_stores.store(session, merchant=merchant, name=f"S{n}")
    session.commit()
    shopper = make_shopper()
    near = {"lat": factories_stores.TAIPEI[0], "lng": factories_stores.TAIPEI[1], "limit": 2}

    first = a.get("/v1/stores/nearby", query_string=near).get_json()
    rest = b.get("/v1/stores/nearby", query_string={**near, "cursor": first["next_cursor"]})
    me = b.get("/v1/me", headers=shopper.headers)

    assert rest.status_code == 200 and len(first["items"]) + len(rest.get_json()["items"]) == 3
    assert me.status_code == 200 and me.get_json()["email"] == shopper.email


def test_rate_limits_are_shared_by_the_hosts(hosts, make_shopper):
    a, b = hosts
    shopper = make_shopper()
    wrong = {"email": shopper.email, "password": "not-the-password-at-all"}

    statuses = [
        (a if n % 2 else b).post("/v1/auth/login", json=wrong).status_code for n in range(4)
    ]

    assert statuses == [401] * LOGIN_LIMIT + [429]


def test_a_changed_store_reads_new_on_the_other_host_at_once(hosts, session, merchant, make_staff):
    a, b = hosts
    owner = make_staff("owner")
    store = factories_stores.store(session, merchant=merchant, name="Before")
    session.commit()
    assert a.get(f"/v1/stores/{store.id}").get_json()["name"] == "Before"  # cached by host a

    # Behind the API's back the cache is what answers: the entry is really shared and used.
    session.execute(text("UPDATE stores SET name = 'Sneaked' WHERE id = :id"), {"id": store.id})
    session.commit()
    assert b.get(f"/v1/stores/{store.id}").get_json()["name"] == "Before"

    changed = b.patch(f"/v1/admin/stores/{store.id}", json={"name": "After"}, headers=owner.headers)
    assert changed.status_code == 200
    assert a.get(f"/v1/stores/{store.id}").get_json()["name"] == "After"


def test_a_claim_on_one_host_shows_in_the_campaign_on_the_other(
    hosts, session, merchant, make_shopper
):
    a, b = hosts
    campaign = factories_coupons.campaign(session, merchant=merchant, total_qty=10)
    session.commit()
    shopper = make_shopper()
    assert a.get(f"/v1/coupon-campaigns/{campaign.id}").get_json()["remaining_qty"] == 10

    claimed = b.post(f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=shopper.headers)
    mine = a.get(f"/v1/coupon-campaigns/{campaign.id}", headers=shopper.headers).get_json()

    assert claimed.status_code == 201, claimed.get_json()
    assert mine["remaining_qty"] == 9 and mine["my_claims"] == 1
    anonymous = a.get(f"/v1/coupon-campaigns/{campaign.id}").get_json()
    assert (anonymous["remaining_qty"], anonymous["my_claims"]) == (9, None)


def test_with_redis_down_reads_stay_correct(redis_url, session, merchant, make_staff, committed):
    owner = make_staff("owner")
    store = factories_stores.store(session, merchant=merchant, name="Before")
    session.commit()
    nowhere = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    host = create_app(app_config(REDIS_URL=nowhere)).test_client()

    assert host.get(f"/v1/stores/{store.id}").get_json()["name"] == "Before"
    host.patch(f"/v1/admin/stores/{store.id}", json={"name": "After"}, headers=owner.headers)
    assert host.get(f"/v1/stores/{store.id}").get_json()["name"] == "After"
