"""Hot reads are planned once per connection and answer exactly as the unprepared statement, on
stores, SKUs and stock that exist (every answer compared is non-empty)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app import prepared
from app.extensions import db
from app.stores import search
from app.stores.search import DETAIL
from tests import factories_coupons as fc
from tests import factories_inventory as inv
from tests import factories_stores

LAT, LNG = factories_stores.TAIPEI
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Taipei: the stores are open


def _prepared_names(session) -> set[str]:
    rows = session.execute(text("SELECT name FROM pg_prepared_statements"))
    return {name for (name,) in rows if name.startswith("shopnear_")}


@pytest.fixture
def world(session, merchant):
    """Three stores around Taipei 101, two SKUs stocked in each, a coupon campaign at all."""
    stores = [
        factories_stores.store(session, merchant=merchant, lat=LAT + k * 0.002) for k in range(3)
    ]
    skus = inv.skus(session, merchant, count=2)
    for store in stores:
        for sku in skus:
            inv.stock(session, store, sku, on_hand=5)
    fc.campaign(session, merchant=merchant)
    session.commit()
    return stores, skus


def test_a_statement_is_prepared_once_and_reused(app, world):
    stores, _ = world
    params = {"store_id": stores[0].id, "now": NOW}
    with app.app_context():
        name = prepared._statements(DETAIL)[0]
        before = _prepared_names(db.session)  # the pooled connection may have served others
        rows = prepared.fetch(db.session, DETAIL, params)
        after = _prepared_names(db.session)
        assert name in after and after - before <= {name}
        assert [row.id for row in rows] == [stores[0].id]
        assert prepared.fetch(db.session, DETAIL, params) == rows
        assert _prepared_names(db.session) == after
        assert [tuple(row) for row in db.session.execute(DETAIL, params)] == [
            tuple(row) for row in rows
        ]


def _reads(stores, skus) -> list[tuple[str, str, dict | None, str]]:
    """(method, path, body, the field that lists what was found) of every read that runs a
    prepared statement."""
    near = f"lat={LAT}&lng={LNG}"
    box = f"{LNG - 0.01},{LAT - 0.01},{LNG + 0.01},{LAT + 0.01}"
    cart = {"lat": LAT, "lng": LNG, "items": [{"sku_id": s.id, "qty": 2} for s in skus]}
    too_many = {
        **cart,
        "items": [{"sku_id": skus[0].id, "qty": 2}, {"sku_id": skus[1].id, "qty": 9}],
    }
    return [
        ("GET", f"/v1/stores/nearby?{near}&radius_m=50000", None, "items"),
        ("GET", f"/v1/stores/nearby?{near}&pickup=true&open_now=true&q=Store", None, "items"),
        ("GET", f"/v1/stores/map?bbox={box}", None, "features"),
        ("GET", f"/v1/stores/cards?{near}&sku_id={skus[0].id}", None, "items"),
        ("GET", f"/v1/stores/cards?bbox={box}", None, "items"),
        ("GET", f"/v1/stores/{stores[1].id}", None, "hours"),
        ("GET", f"/v1/skus/{skus[0].id}/nearby?{near}", None, "items"),
        ("POST", "/v1/pickup/quote", cart, "stores"),
        ("POST", "/v1/pickup/quote", too_many, "partial"),
        ("GET", f"/v1/coupons/nearby?{near}", None, "items"),
    ]


def test_prepared_and_plain_answers_are_the_same(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: NOW)  # both answers at one moment
    for method, path, body, found in _reads(*world):
        with_prepare = client.open(path, method=method, json=body)
        monkeypatch.setitem(app.config, "DB_PREPARED_STATEMENTS", False)
        without = client.open(path, method=method, json=body)
        monkeypatch.setitem(app.config, "DB_PREPARED_STATEMENTS", True)
        assert with_prepare.status_code == without.status_code == 200, (path, without.get_json())
        answer = with_prepare.get_json()
        assert answer[found], (path, answer)  # compared on stores and stock that exist
        assert answer == without.get_json(), path


def test_percent_signs_and_casts_survive_the_rewrite():
    name, prepare, execute = prepared._statements(
        text("SELECT CAST(:a AS int) + 1 AS x, '50%' AS pct, :a AS again")
    )
    body = "SELECT CAST($1 AS int) + 1 AS x, '50%' AS pct, $1 AS again"
    assert prepare == f"PREPARE {name} AS {body}"
    assert execute == f"EXECUTE {name} (%(a)s)"


def test_a_write_after_a_lone_read_still_rolls_back(app, committed, session, merchant):
    from app.accounts.models import User

    store = factories_stores.store(session, merchant=merchant)
    session.commit()
    with app.app_context():
        params = {"store_id": store.id, "now": NOW}
        rows = prepared.fetch(db.session, DETAIL, params)  # opened no transaction
        assert [row.id for row in rows] == [store.id]
        db.session.add(User(email="ghost@example.com", password_hash="x", display_name="G"))
        db.session.flush()
        db.session.rollback()
    assert session.scalar(text("SELECT count(*) FROM users")) == 0


def _plans(session, name: str) -> tuple[int, int]:
    """(generic, custom) plans this connection has run the statement with so far."""
    row = session.execute(
        text("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = :n"),
        {"n": name},
    ).one_or_none()
    return tuple(row) if row else (0, 0)


def _nearby_eight_times(app, stores, *, in_transaction: bool):
    statement = search._nearby_sql(())
    name = prepared._statements(statement)[0]
    params = {"lat": LAT, "lng": LNG, "radius": 5000, "limit": 21, "now": NOW}
    params.update(after_distance=-1.0, after_id=0)
    ids = [store.id for store in stores]  # read before the app's session opens its savepoint
    with app.app_context():
        generic, custom = _plans(db.session, name)
        for _ in range(8):
            rows = prepared.fetch(
                db.session, statement, params, in_transaction=in_transaction, generic=True
            )
            assert [row.id for row in rows] == ids
        assert _plans(db.session, name) == (generic + 8, custom)
        assert db.session.scalar(text("SHOW plan_cache_mode")) == "auto"


# PostgreSQL plans every call again when it estimates a statement's generic plan dearer than its
# first five custom ones (nearby's, at 18 000 and 1 800 000 stores): nearby keeps its generic
# plan, and the setting that forces it ends with the statement.
def test_the_nearby_search_is_planned_once_in_the_requests_transaction(app, world):
    _nearby_eight_times(app, world[0], in_transaction=True)


def test_the_nearby_search_is_planned_once_alone(app, committed, session, merchant):
    stores = [
        factories_stores.store(session, merchant=merchant, lat=LAT + k * 0.002) for k in range(3)
    ]
    session.commit()
    _nearby_eight_times(app, stores, in_transaction=False)
