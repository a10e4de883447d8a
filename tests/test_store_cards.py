"""GET /v1/stores/cards: one call for the map pins around a point or in a box."""

from datetime import timedelta

from sqlalchemy import event

from app.extensions import db
from tests import factories, factories_stores
from tests import factories_coupons as coupons
from tests import factories_feed as feed
from tests import factories_inventory as inv

LAT, LNG = factories_stores.TAIPEI
NEAR = {"lat": LAT, "lng": LNG, "radius_m": 5000}
BOX = "121.50,25.00,121.62,25.06"


def _world(session, merchant):
    near = factories_stores.store(session, merchant=merchant)
    far = factories_stores.store(session, merchant=merchant, lat=LAT + 0.01, pickup_enabled=False)
    (sku,) = inv.skus(session, merchant)
    inv.stock(session, near, sku, on_hand=5, reserved=2)
    holder = factories.user(session)
    feed.reservation(session, user_id=holder.id, store=near, skus=[sku], state="reserved", qty=2)
    inv.stock(session, far, sku, on_hand=4, channel="offline_only")
    coupons.campaign(session, merchant=merchant, title="NT$50 off", value_cents=5000)
    coupons.campaign(session, merchant=merchant, title="NT$80 off", value_cents=8000)
    coupons.campaign(session, merchant=merchant, title="Far only", store_ids=[far.id])
    feed.post(session, merchant=merchant, title="Old news", ago=timedelta(days=2))
    feed.post(session, merchant=merchant, title="Only here", store_id=near.id)
    session.commit()
    return near, far, sku


def test_cards_show_distance_stock_coupons_and_the_latest_post(client, session, merchant):
    near, far, sku = _world(session, merchant)

    resp = client.get("/v1/stores/cards", query_string={**NEAR, "sku_id": sku.id})

    assert resp.status_code == 200, resp.get_json()
    first, second = resp.get_json()["items"]
    assert (first["id"], second["id"]) == (near.id, far.id)
    assert first["distance_m"] < second["distance_m"] and first["open_now"] in (True, False)
    assert first["stock"] == {"available": 3, "reservable": True}
    assert second["stock"] == {"available": 4, "reservable": False}  # in store only
    assert first["coupons"]["claimable"] == 2 and first["coupons"]["best"]["title"] == "NT$80 off"
    assert second["coupons"]["claimable"] == 3
    assert first["latest_post"]["title"] == "Only here"
    assert second["latest_post"]["title"] == "Old news"  # the store-local post is not its own


def test_the_bbox_form_and_no_sku(client, session, merchant):
    near, far, _ = _world(session, merchant)

    body = client.get("/v1/stores/cards", query_string={"bbox": BOX, "limit": 1}).get_json()

    assert [c["id"] for c in body["items"]] == [min(near.id, far.id)] and body["truncated"]
    assert body["items"][0]["distance_m"] is None and body["items"][0]["stock"] is None


def test_claims_used_up_by_the_shopper_are_not_counted(client, session, merchant, shopper):
    near, _, _ = _world(session, merchant)
    best = client.get("/v1/stores/cards", query_string=NEAR).get_json()["items"][0]["coupons"]
    campaign_id = best["best"]["campaign_id"]
    claim = client.post(
        f"/v1/coupon-campaigns/{campaign_id}/claim", json={}, headers=shopper.headers
    )
    assert claim.status_code == 201, claim.get_json()

    mine = client.get("/v1/stores/cards", query_string=NEAR, headers=shopper.headers).get_json()

    assert mine["items"][0]["coupons"]["claimable"] == 1
    assert mine["items"][0]["coupons"]["best"]["title"] == "NT$50 off"


def test_a_bounded_number_of_statements_whatever_the_page_holds(client, session, merchant, app):
    stores = [
        factories_stores.store(session, merchant=merchant, lat=LAT + i * 0.0005) for i in range(30)
    ]
    (sku,) = inv.skus(session, merchant)
    for s in stores:
        inv.stock(session, s, sku, on_hand=3)
        feed.post(session, merchant=merchant, store_id=s.id)
    coupons.campaign(session, merchant=merchant)
    session.commit()
    statements = []
    with app.app_context():
        engine = db.engines[None]
        target = engine.engine if hasattr(engine, "engine") else engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        resp = client.get("/v1/stores/cards", query_string={**NEAR, "sku_id": sku.id, "limit": 30})
    finally:
        event.remove(target, "before_cursor_execute", record)
    assert resp.status_code == 200 and len(resp.get_json()["items"]) == 30
    assert len([s for s in statements if "SAVEPOINT" not in s and "PREPARE" not in s]) <= 4


def test_bad_forms_are_422_naming_the_field(client):
    cases = [
        ({"lat": LAT}, "lng"),
        ({}, "lat"),
        ({"bbox": BOX, "lat": LAT, "lng": LNG}, "bbox"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({**NEAR, "sku_id": 0}, "sku_id"),
    ]
    for query, field in cases:
        resp = client.get("/v1/stores/cards", query_string=query)
        assert resp.status_code == 422, query
        assert field in resp.get_json()["errors"], (query, resp.get_json())


def test_a_store_shelf_and_product_search(client, session, merchant):
    near, far, sku = _world(session, merchant)
    (other,) = inv.skus(session, merchant)
    inv.stock(session, near, other, on_hand=1, channel="online_only")
    session.commit()

    shelf = client.get(f"/v1/stores/{near.id}/stock").get_json()
    found = client.get("/v1/products", query_string={"q": "PRODUCT"}).get_json()

    assert [(i["sku_id"], i["available"], i["reservable"]) for i in shelf["items"]] == [
        (sku.id, 3, True)
    ]
    assert {p["id"] for p in found["items"]} >= {sku.product_id, other.product_id}
    assert client.get("/v1/stores/999999/stock").status_code == 404
    assert client.get("/v1/products", query_string={"q": ""}).status_code == 422


def test_staff_see_their_role(client, make_staff):
    manager = make_staff("store_manager", store_ids=[7])
    me = client.get("/v1/admin/me", headers=manager.headers).get_json()
    assert (me["role"], me["store_ids"]) == ("store_manager", [7])


def test_problems_speak_the_readers_language(client):
    zh = client.get("/v1/stores/999999", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get("/v1/stores/999999", headers={"Accept-Language": "en-US"})
    bad = client.get("/v1/stores/cards", query_string={"lat": 1}, headers={"Accept-Language": "zh"})

    assert zh.status_code == 404 and zh.headers["Content-Language"] == "zh-CN"
    assert (zh.get_json()["title"], zh.get_json()["detail"]) == ("未找到", "未找到该门店。")
    assert en.get_json()["detail"] == "Store not found." and en.headers["Content-Language"] == "en"
    assert bad.get_json()["title"] == "校验失败" and "lng" in bad.get_json()["errors"]
