"""Stock: admin set and POS sync, stock near me and the pickup quote."""

import pytest
from sqlalchemy import select

from app.inventory.models import Stock
from tests import factories, factories_stores
from tests import factories_inventory as inv

FAR = 60  # stores of a chain 110 km away
# Points east of Taipei's centre: ~1 km per 0.00991 degrees of longitude at this latitude.
LAT, LNG = factories_stores.TAIPEI
KM = 0.00991


@pytest.fixture
def stores(session, merchant):
    """Three pickup stores 1, 2 and 3 km east of the centre."""
    made = [factories_stores.store(session, merchant=merchant, lng=LNG + k * KM) for k in (1, 2, 3)]
    session.commit()
    return made


@pytest.fixture
def sku(session, merchant):
    made = inv.skus(session, merchant)[0]
    session.commit()
    return made


def _put(client, caller, store, sku, **body):
    return client.put(
        f"/v1/admin/stores/{store.id}/stock/{sku.id}", json=body, headers=caller.headers
    )


def _row(session, store, sku):
    return session.scalars(
        select(Stock)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()


def test_staff_set_stock_and_never_below_reserved(client, owner, stores, sku, session):
    resp = _put(client, owner, stores[0], sku, channel="shared", on_hand=5)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["available"] == 5
    _row(session, stores[0], sku).reserved = 3
    session.commit()
    below = _put(client, owner, stores[0], sku, channel="shared", on_hand=2)
    assert below.status_code == 409
    assert below.get_json()["type"] == "inventory.below_reserved"
    off = _put(client, owner, stores[0], sku, channel="offline_only", on_hand=9)
    assert off.status_code == 409  # held units must stay shared
    assert _row(session, stores[0], sku).on_hand == 5
    _row(session, stores[0], sku).reserved = 0  # no reservation holds these: keep rule 1 true
    session.commit()


def test_stock_admin_tenancy(client, make_staff, stores, sku, session):
    stranger = make_staff("owner", of=factories.merchant(session))
    assert _put(client, stranger, stores[0], sku, channel="shared", on_hand=1).status_code == 404
    manager = make_staff("store_manager", store_ids=[stores[1].id])
    assert _put(client, manager, stores[0], sku, channel="shared", on_hand=1).status_code == 404
    assert _put(client, manager, stores[1], sku, channel="shared", on_hand=1).status_code == 200
    service = make_staff("service")
    assert _put(client, service, stores[1], sku, channel="shared", on_hand=1).status_code == 403
    other_sku = inv.skus(session, factories.merchant(session))[0]
    session.commit()
    assert _put(client, manager, stores[1], other_sku, channel="shared", on_hand=1).status_code == (
        404
    )


def _sync(client, caller, body, key=None):
    headers = dict(caller.headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/v1/admin/stock:sync", json=body, headers=headers)


def test_sync_sets_and_shifts_counts_all_or_nothing(client, owner, stores, sku, session):
    rows = [{"store_id": s.id, "sku_id": sku.id, "on_hand": 10} for s in stores]
    resp = _sync(client, owner, {"mode": "set", "rows": rows})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "applied": 3,
        "created": 3,
        "updated": 0,
        **{"duplicates": 0, "stale": 0, "failed": 0, "errors": {}},
        "results": ["applied"] * 3,
    }
    _row(session, stores[0], sku).reserved = 4
    session.commit()
    deltas = [
        {"store_id": stores[0].id, "sku_id": sku.id, "delta": -7},  # would leave 3 < 4 reserved
        {"store_id": stores[1].id, "sku_id": sku.id, "delta": 5},
        {"store_id": 99999999, "sku_id": sku.id, "delta": 1},
    ]
    rejected = _sync(client, owner, {"mode": "delta", "rows": deltas})
    assert rejected.status_code == 422
    assert set(rejected.get_json()["errors"]) == {"rows.2.store_id"}
    rejected = _sync(client, owner, {"mode": "delta", "rows": deltas[:2]})
    assert set(rejected.get_json()["errors"]) == {"rows.0.on_hand"}
    assert _row(session, stores[1], sku).on_hand == 10  # nothing applied
    ok = _sync(client, owner, {"mode": "delta", "rows": [deltas[1]]})
    assert ok.get_json() == {
        "applied": 1,
        "created": 0,
        "updated": 1,
        **{"duplicates": 0, "stale": 0, "failed": 0, "errors": {}},
        "results": ["applied"],
    }
    assert _row(session, stores[1], sku).on_hand == 15
    _row(session, stores[0], sku).reserved = 0
    session.commit()


def test_sync_bounds_and_duplicates(client, owner, stores, sku):
    row = {"store_id": stores[0].id, "sku_id": sku.id, "on_hand": 1}
    assert _sync(client, owner, {"mode": "set", "rows": []}).status_code == 422
    too_many = _sync(client, owner, {"mode": "set", "rows": [row] * 5001})
    assert too_many.status_code == 422
    missing = _sync(client, owner, {"mode": "delta", "rows": [row]})
    assert "rows.0.delta" in missing.get_json()["errors"]
    twice = _sync(client, owner, {"mode": "set", "rows": [row, row]})
    assert set(twice.get_json()["errors"]) == {"rows.1.sku_id"}


def test_sync_retries_with_a_key_apply_once(client, owner, stores, sku, session):
    body = {"mode": "delta", "rows": [{"store_id": stores[0].id, "sku_id": sku.id, "delta": 4}]}
    first = _sync(client, owner, body, key="pos-batch-1")
    again = _sync(client, owner, body, key="pos-batch-1")
    assert first.get_json() == again.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _row(session, stores[0], sku).on_hand == 4
    other = _sync(client, owner, {**body, "mode": "set"}, key="pos-batch-1")
    assert other.status_code == 422


def _stock_all(session, stores, sku, counts, channel="shared"):
    for store, n in zip(stores, counts, strict=True):
        inv.stock(session, store, sku, on_hand=n, channel=channel)
    session.commit()


def test_stock_near_me_lists_nearest_holding_stores_only(client, stores, sku, session):
    inv.stock(session, stores[0], sku, on_hand=0)
    inv.stock(session, stores[1], sku, on_hand=3, channel="offline_only")
    inv.stock(session, stores[2], sku, on_hand=6)
    session.commit()
    resp = client.get(f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}")
    assert resp.status_code == 200, resp.get_json()
    items = resp.get_json()["items"]
    assert [i["store"]["id"] for i in items] == [stores[1].id, stores[2].id]
    assert [i["reservable"] for i in items] == [False, True]
    assert [i["available"] for i in items] == [3, 6]
    assert 1900 < items[0]["distance_m"] < 2100
    more = client.get(f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}&qty=4").get_json()
    assert [i["store"]["id"] for i in more["items"]] == [stores[2].id]
    near = client.get(f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}&radius_m=2500").get_json()
    assert [i["store"]["id"] for i in near["items"]] == [stores[1].id]


def test_stock_near_me_pages_with_a_cursor(client, stores, sku, session):
    _stock_all(session, stores, sku, [1, 1, 1])
    url = f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}&limit=2"
    first = client.get(url).get_json()
    second = client.get(f"{url}&cursor={first['next_cursor']}").get_json()
    ids = [i["store"]["id"] for i in first["items"] + second["items"]]
    assert ids == [s.id for s in stores]
    assert second["next_cursor"] is None
    assert client.get(f"{url}&cursor=forged").status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "lat=91&lng=0",
        "lat=0&lng=181",
        "lat=nan&lng=0",
        "lat=0&lng=0&radius_m=0",
        "lat=0&lng=0&radius_m=50001",
        "lat=0&lng=0&limit=101",
        "lat=0&lng=0&qty=0",
        "lng=0",
    ],
)
def test_stock_near_me_bounds(client, sku, query):
    resp = client.get(f"/v1/skus/{sku.id}/nearby?{query}")
    assert resp.status_code == 422


def test_stock_near_me_of_an_unknown_sku_is_404(client):
    assert client.get(f"/v1/skus/99999999/nearby?lat={LAT}&lng={LNG}").status_code == 404


def test_quote_finds_stores_holding_the_whole_cart(client, stores, session, merchant):
    a, b = inv.skus(session, merchant, count=2)
    _stock_all(session, stores, a, [5, 5, 5])
    _stock_all(session, stores[1:], b, [1, 4])
    cart = {
        "lat": LAT,
        "lng": LNG,
        "items": [{"sku_id": a.id, "qty": 2}, {"sku_id": b.id, "qty": 2}],
    }
    resp = client.post("/v1/pickup/quote", json=cart)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [s["store"]["id"] for s in body["stores"]] == [stores[2].id]
    assert body["partial"] == []


def test_quote_says_what_each_near_store_lacks_when_none_can(client, stores, session, merchant):
    a, b = inv.skus(session, merchant, count=2)
    _stock_all(session, stores[:2], a, [5, 1])
    inv.stock(session, stores[0], b, on_hand=1, channel="offline_only")
    session.commit()
    cart = {
        "lat": LAT,
        "lng": LNG,
        "items": [{"sku_id": a.id, "qty": 2}, {"sku_id": b.id, "qty": 1}],
    }
    body = client.post("/v1/pickup/quote", json=cart).get_json()
    assert body["stores"] == []
    assert [p["store"]["id"] for p in body["partial"]] == [stores[0].id]  # the others hold none
    assert body["partial"][0]["missing"] == [{"sku_id": b.id, "requested": 1, "available": 0}]


def test_quote_input_and_foreign_skus(client, sku, session):
    other = inv.skus(session, factories.merchant(session))[0]
    session.commit()
    mixed = {
        "lat": LAT,
        "lng": LNG,
        "items": [{"sku_id": sku.id, "qty": 1}, {"sku_id": other.id, "qty": 1}],
    }
    assert client.post("/v1/pickup/quote", json=mixed).status_code == 422
    unknown = {"lat": LAT, "lng": LNG, "items": [{"sku_id": 99999999, "qty": 1}]}
    assert client.post("/v1/pickup/quote", json=unknown).status_code == 404
    bad = {"lat": 100, "lng": LNG, "items": [{"sku_id": sku.id, "qty": 1}], "radius_m": 0}
    errors = client.post("/v1/pickup/quote", json=bad).get_json()["errors"]
    assert {"lat", "radius_m"} <= set(errors)


def test_quote_uses_a_bounded_number_of_statements(client, stores, session, merchant, app):
    from sqlalchemy import event

    from app.extensions import db

    skus = inv.skus(session, merchant, count=50)
    for i, s in enumerate(skus):
        inv.stock(session, stores[0], s, on_hand=1 + i % 2)
    session.commit()
    cart = {"lat": LAT, "lng": LNG, "items": [{"sku_id": s.id, "qty": 2} for s in skus]}
    statements = []
    with app.app_context():
        engine = db.engines[None]
        target = engine.engine if hasattr(engine, "engine") else engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        resp = client.post("/v1/pickup/quote", json=cart)
    finally:
        event.remove(target, "before_cursor_execute", record)
    assert resp.status_code == 200
    assert len(resp.get_json()["partial"][0]["missing"]) == 25
    assert len([s for s in statements if "SAVEPOINT" not in s]) <= 3


def test_stock_near_me_pages_through_stores_at_the_same_spot(client, session, merchant, sku):
    twins = [factories_stores.store(session, merchant=merchant, lng=LNG + KM) for _ in range(3)]
    _stock_all(session, twins, sku, [1, 1, 1])
    url, seen, cursor = f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}&limit=1", [], None
    for _ in range(4):
        page = client.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [i["store"]["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(s.id for s in twins)


def test_stock_near_me_of_a_sku_held_by_many_stores(client, session, merchant, sku):
    """Stores outside the radius are never listed, however many hold the SKU."""
    far = [factories_stores.store(session, merchant=merchant, lat=LAT + 1) for _ in range(FAR)]
    near = [factories_stores.store(session, merchant=merchant, lng=LNG + k * KM) for k in (3, 1, 2)]
    _stock_all(session, far + near, sku, [1] * (FAR + 3))
    url = f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}&limit=2"
    first = client.get(url).get_json()
    second = client.get(f"{url}&cursor={first['next_cursor']}").get_json()
    ids = [i["store"]["id"] for i in first["items"] + second["items"]]
    assert ids == [near[1].id, near[2].id, near[0].id]
    assert second["next_cursor"] is None


def test_quote_for_a_chain_walks_its_nearest_stores(client, session, merchant):
    """A chain's stores outside the radius are not quoted; the nearest that can fulfil are."""
    a = inv.skus(session, merchant)[0]
    far = [factories_stores.store(session, merchant=merchant, lat=LAT + 1) for _ in range(FAR)]
    near = [factories_stores.store(session, merchant=merchant, lng=LNG + k * KM) for k in (2, 1)]
    _stock_all(session, far[:1] + near, a, [5, 1, 5])
    cart = {"lat": LAT, "lng": LNG, "items": [{"sku_id": a.id, "qty": 2}]}
    body = client.post("/v1/pickup/quote", json=cart).get_json()
    assert [s["store"]["id"] for s in body["stores"]] == [near[1].id]  # near[0] holds 1 unit
