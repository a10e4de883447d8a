"""`flask seed`: deterministic worlds, Zipf-sized cities, the demo logins, the extra-steps hook."""

import hashlib
import statistics

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from sqlalchemy import text

from app import invariants
from app.seeding import commands, demo, world


@pytest.fixture
def seed(app, session):
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=["seed", "--stores-only", *args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def world_digest(session) -> str:
    rows = session.execute(
        text(
            "SELECT s.name, s.city, ST_AsText(s.location), s.timezone, s.hours::text, m.name"
            " FROM stores s JOIN merchants m ON m.id = s.merchant_id ORDER BY s.id"
        )
    ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_same_seed_builds_the_same_world(seed, session):
    seed("--stores", "400", "--cities", "12", "--seed", "3", "--reset")
    first = world_digest(session)
    seed("--stores", "400", "--cities", "12", "--seed", "3", "--reset")
    again = world_digest(session)
    seed("--stores", "400", "--cities", "12", "--seed", "4", "--reset")

    assert first == again != world_digest(session)
    assert session.scalar(text("SELECT count(*) FROM stores")) == 400


def test_without_reset_an_existing_world_is_kept(seed, session):
    seed("--stores", "50", "--cities", "2", "--reset")

    assert "already loaded" in seed("--stores", "80")
    assert session.scalar(text("SELECT count(*) FROM stores")) == 50


def test_the_demo_world_and_its_logins(seed, app, session, client):
    output = seed("--demo", "--reset")

    assert "50 stores in 1 cities" in output
    assert session.scalar(text("SELECT count(DISTINCT merchant_id) FROM stores")) == 4
    for email in (demo.OWNER, demo.MANAGER):
        resp = client.post("/v1/auth/login", json={"email": email, "password": demo.PASSWORD})
        assert resp.status_code == 200
    logins = app.test_cli_runner().invoke(args=["demo-logins"]).output
    assert demo.OWNER in logins and demo.MANAGER in logins and demo.PASSWORD in logins


def test_extra_steps_run_after_the_stores_in_the_same_transaction(app, session, monkeypatch):
    seen = {}

    def step(conn, *, rng_seed, demo, progress):
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM stores")
            seen.update(stores=cursor.fetchone()[0], rng_seed=rng_seed, demo=demo)
        with progress(3, "things") as bar:
            bar.update(3)

    monkeypatch.setattr(commands, "load_steps", lambda: [step])
    result = app.test_cli_runner().invoke(
        args=["seed", "--stores", "30", "--cities", "2", "--reset"]
    )

    assert result.exit_code == 0, result.output
    assert seen == {"stores": 30, "rng_seed": 42, "demo": False}


def test_city_sizes_follow_zipf_like_the_benchmark_world():
    sizes = world.zipf_sizes(180_000, 330)

    assert sizes.sum() == 180_000
    assert 27_000 < sizes.max() < 29_000
    assert 150 < statistics.median(sizes) < 190


def test_centres_are_spread_over_the_continents_and_stores_stay_within_20_km():
    rng = np.random.default_rng(1)
    cities = world.plan_cities(rng, count=330, stores=180_000)

    assert len({round(c.lat / 10) for c in cities}) >= 10
    assert len({round(c.lng / 30) for c in cities}) >= 10
    assert all(-90 <= c.lat <= 90 and -180 <= c.lng < 180 for c in cities)
    for city in cities[:3] + cities[-50:]:
        lat, lng = world._scatter(rng, city)
        far = max(
            Geodesic.WGS84.Inverse(city.lat, city.lng, a, b)["s12"]
            for a, b in zip(lat, lng, strict=True)
        )
        assert far <= 20_000


def test_the_seeded_stock_is_its_ledgers_opening_balance_and_later_changes_reach_the_ledger(
    app, session
):
    # The stock load writes its own ledger rows with the ledger's insert trigger off (a bulk
    # path): every unit must still be in the ledger, and the trigger must be back on after.
    result = app.test_cli_runner().invoke(
        args=["seed", "--stores", "30", "--cities", "2", "--reset"]
    )
    assert result.exit_code == 0, result.output

    assert invariants.violations(session.connection()) == {}
    stocked = session.execute(
        text("SELECT count(*), sum(on_hand) FROM stock WHERE on_hand <> 0")
    ).one()
    opening = session.execute(
        text(
            "SELECT count(*), sum(on_hand_delta) FROM stock_changes"
            " WHERE reason = 'seed' AND reserved_delta = 0 AND on_hand = on_hand_delta"
        )
    ).one()
    assert stocked[0] > 30 * 40 and opening == stocked
    store_id, sku_id, merchant_id = session.execute(
        text("SELECT store_id, sku_id, merchant_id FROM stock ORDER BY store_id, sku_id LIMIT 1")
    ).one()
    other_sku = session.scalar(
        text(
            "SELECT min(id) FROM skus WHERE merchant_id = :m AND id NOT IN"
            " (SELECT sku_id FROM stock WHERE store_id = :s)"
        ),
        {"m": merchant_id, "s": store_id},
    )
    # tagged as the app tags a change (app.inventory.ledger.tag): in this test the seed's own
    # transaction-local reason would otherwise still be set
    session.execute(text("SELECT set_config('shopnear.stock_reason', 'restock', true)"))
    session.execute(
        text("UPDATE stock SET on_hand = on_hand + 3 WHERE (store_id, sku_id) = (:s, :k)"),
        {"s": store_id, "k": sku_id},
    )
    session.execute(
        text(
            "INSERT INTO stock (store_id, sku_id, merchant_id, channel, on_hand)"
            " VALUES (:s, :k, :m, 'shared', 5)"
        ),
        {"s": store_id, "k": other_sku, "m": merchant_id},
    )

    assert invariants.violations(session.connection()) == {}
    assert session.execute(
        text(
            "SELECT sku_id, on_hand_delta, reason FROM stock_changes"
            " WHERE store_id = :s AND sku_id IN (:k, :o) AND reason <> 'seed' ORDER BY id"
        ),
        {"s": store_id, "k": sku_id, "o": other_sku},
    ).all() == [(sku_id, 3, "restock"), (other_sku, 5, "restock")]
