"""Read replicas: stale-tolerant shopper reads go to a real streaming replica (scripts/db replica),
everything else to the primary; a lagging or stopped replica is skipped without a 5xx."""

import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app import create_app
from app.config import sqlalchemy_url
from app.database_setup import libpq_args
from app.extensions import db
from app.feed.posts.models import Post
from app.replicas import EXTENSION, READ_RULES, bind_keys
from tests import factories, factories_inventory, factories_stores
from tests.clusters import Cluster
from tests.conftest import app_config

NEAR = {"lat": factories_stores.TAIPEI[0], "lng": factories_stores.TAIPEI[1]}


@pytest.fixture(scope="module")
def cluster():
    """A primary and its streaming replica of their own; the migrations run on the primary."""
    c = Cluster("replica")
    try:
        c.db("start")
        c.db("replica", "start")
        c.primary, c.replica = c.db("url", "shopnear_test"), c.db("replica", "url", "shopnear_test")
        app = create_app(app_config(SQLALCHEMY_DATABASE_URI=sqlalchemy_url(c.primary)))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield c
    finally:
        c.destroy()


def _app(cluster, *, max_lag: float):
    binds = {
        key: {"url": sqlalchemy_url(url), "connect_args": {"connect_timeout": 2}}
        for key, url in bind_keys([cluster.replica]).items()
    }
    return create_app(
        app_config(
            SQLALCHEMY_DATABASE_URI=sqlalchemy_url(cluster.primary),
            SQLALCHEMY_BINDS=binds,
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 2},
            REPLICA_MAX_LAG_SECONDS=max_lag,
            REPLICA_CHECK_SECONDS=0,
        )
    )


def _replica_sql(cluster, sql: str):
    conn = psycopg2.connect(**libpq_args(cluster.replica))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
        result = cur.fetchone()
    conn.close()
    return result


class _paused:
    """Replay paused inside a `with` block."""

    def __init__(self, cluster):
        self.cluster = cluster

    def __enter__(self):
        _replica_sql(self.cluster, "SELECT pg_wal_replay_pause()")

    def __exit__(self, *exc):
        _replica_sql(self.cluster, "SELECT pg_wal_replay_resume()")


@pytest.fixture
def paused(cluster):
    """The replica stops replaying WAL (it still receives it) until the test ends."""
    with _paused(cluster):
        yield


def _new_store(cluster) -> int:
    """A store committed on the primary, with a SKU in stock; returns the store's id."""
    engine = create_engine(sqlalchemy_url(cluster.primary))
    with Session(engine) as session:
        merchant = factories.merchant(session)
        store = factories_stores.store(session, merchant=merchant, pickup_hold_minutes=60)
        (sku,) = factories_inventory.skus(session, merchant)
        factories_inventory.stock(session, store, sku, on_hand=5)
        session.commit()
        ids = store.id, sku.id
    engine.dispose()
    return ids


def _nearby_ids(client) -> set[int]:
    resp = client.get("/v1/stores/nearby", query_string={**NEAR, "radius_m": 2000, "limit": 100})
    assert resp.status_code == 200, resp.get_json()
    return {s["id"] for s in resp.get_json()["items"]}


def test_a_write_reaches_the_replica_reads_within_the_lag_bound(cluster, committed):
    app = _app(cluster, max_lag=5)
    with app.app_context():
        client = app.test_client()
        with _paused(cluster):
            store_id, _ = _new_store(cluster)
            # Routed to the replica, which has not replayed the store yet: a moment stale.
            assert store_id not in _nearby_ids(client)
        deadline = time.monotonic() + app.config["REPLICA_MAX_LAG_SECONDS"]
        while store_id not in _nearby_ids(client):
            assert time.monotonic() < deadline, "the replica did not catch up within the bound"
            time.sleep(0.05)


def test_a_lagging_replica_is_skipped(cluster, paused, committed):
    app = _app(cluster, max_lag=0)
    with app.app_context():
        store_id, _ = _new_store(cluster)
        assert store_id in _nearby_ids(app.test_client())  # the primary answered


def test_own_objects_and_writes_go_to_the_primary(cluster, paused, committed):
    app = _app(cluster, max_lag=3600)  # the replica is "fresh enough" for the stale reads
    with app.app_context():
        client = app.test_client()
        store_id, sku_id = _new_store(cluster)
        email = "replica-shopper@example.com"
        body = {"email": email, "password": factories.PASSWORD, "display_name": "R"}
        assert client.post("/v1/auth/register", json=body).status_code == 201
        login = client.post("/v1/auth/login", json={"email": email, "password": factories.PASSWORD})
        auth = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
        created = client.post(
            "/v1/reservations",
            json={"store_id": store_id, "items": [{"sku_id": sku_id, "qty": 1}]},
            headers=auth,
        )
        assert created.status_code == 201, created.get_json()
        mine = client.get("/v1/reservations", headers=auth).get_json()["items"]
        assert [r["id"] for r in mine] == [created.get_json()["id"]]
        assert store_id not in _nearby_ids(client)  # while nearby still reads the paused replica


def test_with_the_replica_stopped_every_read_still_answers(cluster, committed):
    app = _app(cluster, max_lag=5)
    store_id, sku_id = _new_store(cluster)
    ids = {"store_id": store_id, "sku_id": sku_id, "product_id": 1, "merchant_id": 1, "post_id": 1}
    with app.app_context():
        client = app.test_client()
        assert store_id in _nearby_ids(client)  # replica in use, pool warm
        cluster.db("replica", "stop")
        try:
            for rule in sorted(READ_RULES):
                path = rule
                for name, value in ids.items():
                    path = path.replace(f"<int:{name}>", str(value))
                resp = client.get(path, query_string={**NEAR, "bbox": "121.5,25.0,121.6,25.1"})
                assert resp.status_code < 500, (rule, resp.get_json())
            assert store_id in _nearby_ids(client)
        finally:
            cluster.db("replica", "start")


def _closed_game(cluster) -> int:
    """A guess game past closing, committed on the primary and not yet settled."""
    engine = create_engine(sqlalchemy_url(cluster.primary))
    with Session(engine) as session:
        merchant = factories.merchant(session)
        (sku,) = factories_inventory.skus(session, merchant)
        post = Post(
            merchant_id=merchant.id,
            kind="price_guess",
            state="published",
            title="Guess",
            publish_at=datetime.now(UTC) - timedelta(hours=1),
            guess_sku_id=sku.id,
            guess_closes_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        session.add(post)
        session.commit()
        post_id = post.id
    engine.dispose()
    return post_id


def test_a_reader_on_the_replica_settles_a_closed_game_on_the_primary(cluster, committed):
    app = _app(cluster, max_lag=3600)
    with app.app_context():
        client = app.test_client()
        post_id = _closed_game(cluster)
        deadline = time.monotonic() + 10
        while client.get(f"/v1/posts/{post_id}").status_code == 404:  # until replayed
            assert time.monotonic() < deadline, "the replica did not replay the game"
            time.sleep(0.05)
    with _paused(cluster):
        app = _app(cluster, max_lag=3600)  # a fresh process: the game is read on the replica
        with app.app_context():
            game = app.test_client().get(f"/v1/posts/{post_id}").get_json()["guess"]
            assert (game["settled"], game["answer_cents"]) == (True, 1000)
            assert app.extensions[EXTENSION].replicas[0].usable  # not taken for a broken replica
