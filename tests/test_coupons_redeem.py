"""Redemption at the till: money math, scope checks, once only, voids, and tenancy."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.coupons.redemption import discount_for
from tests import factories, factories_stores
from tests import factories_coupons as fc


def coupon_of(kind="amount_off", amount=None, percent=None, cap=None):
    campaign = SimpleNamespace(kind=kind, percent_off=percent, max_discount_cents=cap)
    return SimpleNamespace(campaign=campaign, amount_cents=amount)


@pytest.mark.parametrize(
    ("coupon", "basket", "discount"),
    [
        (coupon_of(percent=15, kind="percent_off"), 1999, 300),  # 299.85 rounds up, to the shopper
        (coupon_of(percent=15, kind="percent_off"), 2000, 300),
        (coupon_of(percent=10, kind="percent_off", cap=150), 5000, 150),
        (coupon_of(percent=100, kind="percent_off"), 1234, 1234),
        (coupon_of(amount=5000), 3000, 3000),  # never more than the basket
        (coupon_of(amount=5000), 30000, 5000),
        (coupon_of(kind="red_packet", amount=88), 1, 1),
        (coupon_of(amount=5000), 0, 0),
    ],
)
def test_discount_math(coupon, basket, discount):
    assert discount_for(coupon=coupon, eligible_cents=basket) == discount


@given(
    basket=st.integers(0, 10**8),
    percent=st.integers(1, 100),
    cap=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_percent_discount_favours_the_shopper_and_never_exceeds_the_basket(basket, percent, cap):
    off = discount_for(
        coupon=coupon_of(kind="percent_off", percent=percent, cap=cap), eligible_cents=basket
    )
    exact = basket * percent / 100
    assert 0 <= off <= basket
    if cap is None or cap >= exact:
        assert exact <= off < exact + 1
    else:
        assert off == cap


@pytest.fixture
def world(session, client, merchant, make_shopper, make_staff):
    """A merchant with two stores, a NT$50-off campaign, and a shopper holding one coupon."""
    here = factories_stores.store(session, merchant=merchant)
    there = factories_stores.store(session, merchant=merchant, lat=25.05)
    campaign = fc.campaign(session, merchant=merchant, min_spend_cents=20000, per_user_limit=3)
    session.commit()
    shopper = make_shopper()
    coupon = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=shopper.headers
    ).get_json()
    manager = make_staff("store_manager", store_ids=[here.id])
    return SimpleNamespace(
        here=here, there=there, campaign=campaign, shopper=shopper, coupon=coupon, manager=manager
    )


def redeem(client, caller, store_id, code, basket_cents=25000, **body):
    return client.post(
        f"/v1/admin/stores/{store_id}/coupons:redeem",
        json={"code": code, "basket_cents": basket_cents, **body},
        headers=caller.headers,
    )


def test_store_manager_redeems_once(client, world):
    resp = redeem(client, world.manager, world.here.id, world.coupon["code"].lower())
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["state"], body["discount_cents"], body["total_cents"]) == ("used", 5000, 20000)
    again = redeem(client, world.manager, world.here.id, world.coupon["code"])
    problem = again.get_json()
    assert (again.status_code, problem["type"]) == (409, "coupons.already_used")
    assert problem["redeemed_store_id"] == world.here.id and problem["redeemed_at"]
    wallet = client.get(
        f"/v1/wallet/coupons/{world.coupon['id']}", headers=world.shopper.headers
    ).get_json()
    assert (wallet["state"], wallet["redeemed_store_id"]) == ("used", world.here.id)


def test_min_spend_store_scope_and_expiry_are_checked(client, session, world, owner):
    code = world.coupon["code"]
    resp = redeem(client, owner, world.here.id, code, basket_cents=19999)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.min_spend_not_met")
    resp = redeem(client, owner, world.here.id, code, currency="USD")
    assert resp.status_code == 422
    session.execute(
        text("UPDATE coupon_campaigns SET store_ids = ARRAY[:id]::bigint[] WHERE id = :c"),
        {"id": world.there.id, "c": world.campaign.id},
    )
    session.commit()
    resp = redeem(client, owner, world.here.id, code)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.wrong_store")
    session.execute(
        text("UPDATE coupons SET expires_at = now() - interval '1 s' WHERE id = :id"),
        {"id": world.coupon["id"]},
    )
    session.commit()
    resp = redeem(client, owner, world.there.id, code)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.expired")


def test_sku_scoped_coupon_discounts_only_its_skus(client, session, merchant, owner, shopper):
    shop = factories_stores.store(session, merchant=merchant)
    c = fc.campaign(
        session,
        merchant=merchant,
        kind="percent_off",
        value_cents=None,
        percent_off=10,
        sku_ids=[11, 12],
    )
    session.commit()
    code = client.post(
        f"/v1/coupon-campaigns/{c.id}/claim", json={}, headers=shopper.headers
    ).get_json()["code"]
    resp = redeem(client, owner, shop.id, code, basket_cents=5000)
    assert resp.status_code == 422 and "items" in resp.get_json()["errors"]
    items = [{"sku_id": 99, "amount_cents": 3000}]
    resp = redeem(client, owner, shop.id, code, basket_cents=5000, items=items)
    assert resp.get_json()["type"] == "coupons.not_applicable"
    items += [{"sku_id": 11, "amount_cents": 1999}]
    resp = redeem(client, owner, shop.id, code, basket_cents=5000, items=items)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["discount_cents"], resp.get_json()["total_cents"]) == (200, 4800)


def test_void_returns_the_coupon_within_the_window(client, session, world):
    code, store = world.coupon["code"], world.here.id
    assert redeem(client, world.manager, store, code).status_code == 200
    path = f"/v1/admin/stores/{store}/coupons/{world.coupon['id']}:void"
    resp = client.post(path, json={"reason": "Wrong coupon scanned"}, headers=world.manager.headers)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["state"], resp.get_json()["void_reason"]) == (
        "unused",
        "Wrong coupon scanned",
    )
    assert (
        client.post(path, json={"reason": "again"}, headers=world.manager.headers).status_code
        == 409
    )
    assert redeem(client, world.manager, store, code).status_code == 200
    session.execute(
        text("UPDATE coupons SET redeemed_at = now() - interval '25 hours' WHERE id = :id"),
        {"id": world.coupon["id"]},
    )
    session.commit()
    late = client.post(path, json={"reason": "late"}, headers=world.manager.headers)
    assert (late.status_code, late.get_json()["type"]) == (409, "coupons.not_voidable")
    assert client.post(path, json={"reason": ""}, headers=world.manager.headers).status_code == 422


def test_void_only_at_the_store_that_redeemed(client, world, owner):
    assert redeem(client, owner, world.here.id, world.coupon["code"]).status_code == 200
    path = f"/v1/admin/stores/{world.there.id}/coupons/{world.coupon['id']}:void"
    assert client.post(path, json={"reason": "x"}, headers=owner.headers).status_code == 409


def test_staff_of_another_merchant_cannot_redeem_or_void(
    client, session, world, make_staff, unchanged
):
    other = factories.merchant(session)
    their_store = factories_stores.store(session, merchant=other)
    session.commit()
    stranger = make_staff("owner", of=other)
    with unchanged():
        resp = redeem(client, stranger, their_store.id, world.coupon["code"])
        assert (resp.status_code, resp.get_json()["type"]) == (404, "coupons.not_found")
        resp = redeem(client, stranger, world.here.id, world.coupon["code"])
        assert (resp.status_code, resp.get_json()["type"]) == (404, "stores.not_found")
        path = f"/v1/admin/stores/{their_store.id}/coupons/{world.coupon['id']}:void"
        assert client.post(path, json={"reason": "x"}, headers=stranger.headers).status_code == 404


def test_store_managers_only_at_their_stores_and_service_not_at_all(client, world, make_staff):
    resp = redeem(client, world.manager, world.there.id, world.coupon["code"])
    assert (resp.status_code, resp.get_json()["type"]) == (404, "stores.not_found")
    service = make_staff("service")
    assert redeem(client, service, world.here.id, world.coupon["code"]).status_code == 403


def test_shoppers_cannot_redeem(client, world):
    assert redeem(client, world.shopper, world.here.id, world.coupon["code"]).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"code": "", "basket_cents": 100},
        {"code": "X" * 25, "basket_cents": 100},
        {"code": "ABCD-EFGH", "basket_cents": -1},
        {"code": "ABCD-EFGH", "basket_cents": 10**9},
        {"code": "ABCD-EFGH"},
        {"code": "ABCD-EFGH", "basket_cents": 100, "items": []},
        {"code": "ABCD-EFGH", "basket_cents": 100, "items": [{"sku_id": 1, "amount_cents": 101}]},
        {"code": "ABCD'; --", "basket_cents": 100},
    ],
)
def test_redeem_bad_input_is_422(client, world, owner, body):
    resp = client.post(
        f"/v1/admin/stores/{world.here.id}/coupons:redeem", json=body, headers=owner.headers
    )
    assert resp.status_code == 422, resp.get_json()
