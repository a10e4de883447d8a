"""Fields a caller may not write (tenancy, roles, counters, states, prices) are refused with a
422 that names them, and nothing changes."""

import pytest

from app.errors import PROBLEM
from tests import factories_coupons as coupons
from tests import factories_feed as feed
from tests import factories_inventory as inv
from tests import factories_stores

# (who, method, path with {store} {product} {sku} {campaign} {post}, a valid body, smuggled fields)
CASES = [
    ("shopper", "POST", "/v1/auth/register", {"email": "n@example.com", "password": "p" * 12,
     "display_name": "N"}, {"role": "owner", "merchant_id": 1, "id": 1}),
    ("shopper", "PATCH", "/v1/me", {"display_name": "Me"}, {"role": "owner", "email": "x@y.z"}),
    ("shopper", "POST", "/v1/reservations", {"store_id": "{store}", "items": [
     {"sku_id": "{sku}", "qty": 1}]}, {"state": "picked_up", "user_id": 1,
     "expires_at": "2030-01-01T00:00:00Z"}),
    ("shopper", "POST", "/v1/reservations", {"store_id": "{store}", "items": [
     {"sku_id": "{sku}", "qty": 1, "price_cents": 1}]}, {}),
    ("shopper", "POST", "/v1/coupon-campaigns/{campaign}/claim", {},
     {"value_cents": 999999, "state": "used", "expires_at": "2099-01-01T00:00:00Z"}),
    ("shopper", "POST", "/v1/posts/{post}/votes", {"option_ids": []}, {"votes": 1000}),
    ("owner", "POST", "/v1/admin/stores", {"name": "S", "address": "1 Rd", "city": "Taipei",
     "lat": 25.0, "lng": 121.5, "timezone": "Asia/Taipei"}, {"merchant_id": 999}),
    ("owner", "PATCH", "/v1/admin/stores/{store}", {"name": "S2"}, {"merchant_id": 999, "id": 5}),
    ("owner", "PATCH", "/v1/admin/products/{product}", {"title": "T"}, {"merchant_id": 999}),
    ("owner", "PUT", "/v1/admin/stores/{store}/stock/{sku}", {"on_hand": 5, "channel": "shared"},
     {"reserved": 0, "merchant_id": 999}),
    ("owner", "PATCH", "/v1/admin/coupon-campaigns/{campaign}", {"title": "C"},
     {"claimed_qty": 0, "spent_cents": 0, "merchant_id": 999, "state": "active"}),
    ("owner", "PATCH", "/v1/admin/posts/{post}", {"title": "P"},
     {"like_count": 10**6, "voter_count": 5, "state": "published", "merchant_id": 999}),
    ("owner", "POST", "/v1/admin/staff", {"email": "{shopper_email}", "role": "operator"},
     {"merchant_id": 999}),
    ("owner", "PATCH", "/v1/admin/merchant", {"name": "M"}, {"id": 999, "slug": "other"}),
]  # fmt: skip


@pytest.fixture
def objects(session, merchant, shopper):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=5)
    campaign = coupons.campaign(session, merchant=merchant)
    post = feed.post(session, merchant=merchant, kind="poll", options=("a", "b"))
    session.commit()
    return {
        "store": store.id,
        "product": sku.product_id,
        "sku": sku.id,
        "campaign": campaign.id,
        "post": post.id,
        "shopper_email": shopper.email,
    }


def _fill(value, objects):
    if isinstance(value, dict):
        return {k: _fill(v, objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, objects) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return objects[value[1:-1]]
    return value


def _smuggled_names(body: dict, extra: dict) -> set[str]:
    names = set(extra)
    for i, item in enumerate(body.get("items", [])):
        names |= {f"items.{i}.{k}" for k in item if k == "price_cents"}
    return names


@pytest.mark.parametrize("who,method,path,body,extra", CASES, ids=[f"{c[1]} {c[2]}" for c in CASES])
def test_unwritable_fields_are_a_422_naming_each(
    client, shopper, owner, objects, who, method, path, body, extra
):
    caller = {"shopper": shopper, "owner": owner}[who]
    body, url = _fill(body, objects), path.format(**objects)
    resp = client.open(url, method=method, json={**body, **extra}, headers=caller.headers)
    assert resp.status_code == 422, (url, resp.get_json())
    assert resp.content_type == PROBLEM
    assert _smuggled_names(body, extra) <= set(resp.get_json()["errors"]), resp.get_json()
