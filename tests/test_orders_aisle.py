"""The endless aisle: from one store, the nearest other stores holding shared units of a SKU,
and the online-only pool; tenancy."""

from tests import factories, factories_stores
from tests import factories_inventory as inv


def test_staff_see_what_the_other_stores_and_the_online_pool_hold(client, owner, merchant, session):
    here = factories_stores.store(session, merchant=merchant)
    far = factories_stores.store(session, merchant=merchant, lng=factories_stores.TAIPEI[1] + 0.05)
    near = factories_stores.store(session, merchant=merchant, lng=factories_stores.TAIPEI[1] + 0.01)
    empty = factories_stores.store(
        session, merchant=merchant, lng=factories_stores.TAIPEI[1] + 0.02
    )
    warehouse = factories_stores.store(session, merchant=merchant, lat=24.0, pickup_enabled=False)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, here, sku, on_hand=1)
    inv.stock(session, far, sku, on_hand=5)
    inv.stock(session, near, sku, on_hand=3)
    inv.stock(session, empty, sku, on_hand=0)
    inv.stock(session, warehouse, sku, on_hand=30, channel="online_only")
    session.commit()
    resp = client.get(f"/v1/admin/stores/{here.id}/aisle?sku_id={sku.id}", headers=owner.headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [(s["store"]["id"], s["available"]) for s in body["stores"]] == [
        (near.id, 3),
        (far.id, 5),
    ]
    assert body["stores"][0]["distance_m"] < body["stores"][1]["distance_m"]
    assert body["online_only"] == 30


def test_another_merchants_sku_is_not_found(client, owner, merchant, session):
    here = factories_stores.store(session, merchant=merchant)
    foreign = inv.skus(session, factories.merchant(session))[0]
    session.commit()
    resp = client.get(
        f"/v1/admin/stores/{here.id}/aisle?sku_id={foreign.id}", headers=owner.headers
    )
    assert resp.status_code == 404
