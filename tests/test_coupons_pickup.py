"""Coupons on pickup: priced in the quote, held by a reservation, used at hand-over, returned to
the wallet on cancel or expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.coupons.models import Coupon
from app.pickup.models import Reservation
from tests import factories, factories_stores
from tests import factories_coupons as fc
from tests import factories_inventory as inv
from tests.race import race


@pytest.fixture
def shop(session, merchant):
    """A pickup store with two SKUs at NT$10.00 (20 each) and a NT$5 off over NT$15 campaign."""
    store = factories_stores.store(session, merchant=merchant)
    skus = inv.skus(session, merchant, count=2, price_cents=1000)
    for sku in skus:
        inv.stock(session, store, sku, on_hand=20)
    campaign = fc.campaign(session, merchant=merchant, value_cents=500, min_spend_cents=1500)
    session.commit()
    return store, skus, campaign


def claim(client, caller, campaign):
    resp = client.post(f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=caller.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def reserve(client, caller, store, lines, coupon_id=None, key=None):
    body = {"store_id": store.id, "items": [{"sku_id": s.id, "qty": q} for s, q in lines]}
    if coupon_id is not None:
        body["coupon_id"] = coupon_id
    headers = {**caller.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post("/v1/reservations", json=body, headers=headers)


def quote(client, caller, skus, coupon_id, qty=2):
    body = {
        "lat": factories_stores.TAIPEI[0],
        "lng": factories_stores.TAIPEI[1],
        "items": [{"sku_id": skus[0].id, "qty": qty}],
        "coupon_id": coupon_id,
    }
    return client.post("/v1/pickup/quote", json=body, headers=getattr(caller, "headers", {}))


def wallet_state(client, caller, coupon_id):
    resp = client.get(f"/v1/wallet/coupons/{coupon_id}", headers=caller.headers)
    return resp.get_json()["state"]


def test_quote_shows_the_discount_and_the_total(client, shop, shopper):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    resp = quote(client, shopper, skus, coupon_id)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["coupon"] == {
        "coupon_id": coupon_id,
        "subtotal_cents": 2000,
        "discount_cents": 500,
        "total_cents": 1500,
        "store_ids": [store.id],
        "reason": None,
    }
    below = quote(client, shopper, skus, coupon_id, qty=1).get_json()["coupon"]
    assert (below["discount_cents"], below["reason"]) == (0, "coupons.min_spend_not_met")
    assert "coupon" not in quote(client, shopper, skus, None).get_json()


def test_quote_with_a_coupon_needs_its_owner(client, shop, shopper, make_shopper):
    _, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    assert quote(client, None, skus, coupon_id).status_code == 401
    resp = quote(client, make_shopper(), skus, coupon_id)
    assert (resp.status_code, resp.get_json()["type"]) == (404, "coupons.not_found")
    assert quote(client, shopper, skus, 0).status_code == 422


def test_reservation_holds_the_coupon_and_hand_over_uses_it(client, shop, shopper, make_staff):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    created = reserve(client, shopper, store, [(skus[0], 1), (skus[1], 1)], coupon_id)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["coupon"] == {
        "coupon_id": coupon_id,
        "subtotal_cents": 2000,
        "discount_cents": 500,
        "total_cents": 1500,
    }
    assert wallet_state(client, shopper, coupon_id) == "held"
    twice = reserve(client, shopper, store, [(skus[0], 2)], coupon_id)
    assert (twice.status_code, twice.get_json()["type"]) == (409, "coupons.held")
    manager = make_staff("store_manager", store_ids=[store.id])
    code = client.get(f"/v1/wallet/coupons/{coupon_id}", headers=shopper.headers).get_json()["code"]
    till = client.post(
        f"/v1/admin/stores/{store.id}/coupons:redeem",
        json={"code": code, "basket_cents": 5000},
        headers=manager.headers,
    )
    assert (till.status_code, till.get_json()["type"]) == (409, "coupons.held")

    path = f"/v1/admin/stores/{store.id}/reservations/{body['id']}"
    assert client.post(f"{path}/ready", headers=manager.headers).status_code == 200
    done = client.post(
        f"{path}/pickup", json={"code": body["pickup_code"]}, headers=manager.headers
    )
    assert done.status_code == 200, done.get_json()
    used = client.get(f"/v1/wallet/coupons/{coupon_id}", headers=shopper.headers).get_json()
    assert (used["state"], used["redeemed_store_id"], used["discount_cents"]) == (
        "used",
        store.id,
        500,
    )


def test_cancel_returns_the_coupon_to_the_wallet(client, shop, shopper):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    rid = reserve(client, shopper, store, [(skus[0], 2)], coupon_id).get_json()["id"]
    assert client.post(f"/v1/reservations/{rid}/cancel", headers=shopper.headers).status_code == 200
    assert wallet_state(client, shopper, coupon_id) == "unused"
    assert reserve(client, shopper, store, [(skus[0], 2)], coupon_id).status_code == 201


def test_expiry_returns_the_coupon_to_the_wallet(app, client, session, shop, shopper):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    reserve(client, shopper, store, [(skus[0], 2)], coupon_id)
    session.execute(update(Reservation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    session.commit()
    result = app.test_cli_runner().invoke(args=["sweep-expired"])
    assert result.exit_code == 0, result.output
    assert wallet_state(client, shopper, coupon_id) == "unused"


def test_a_coupon_that_cannot_be_used_holds_nothing(client, session, shop, shopper, merchant):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    session.execute(
        text("UPDATE coupons SET expires_at = now() - interval '1 s' WHERE id = :id"),
        {"id": coupon_id},
    )
    session.commit()
    resp = reserve(client, shopper, store, [(skus[0], 2)], coupon_id)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.expired")
    assert session.scalar(select(func.count()).select_from(Reservation)) == 0
    small = reserve(
        client, shopper, store, [(skus[0], 1)], claim_other(client, session, merchant, shopper)
    )
    assert small.get_json()["type"] == "coupons.min_spend_not_met"
    assert session.scalar(select(func.count()).select_from(Reservation)) == 0


def claim_other(client, session, merchant, shopper):
    other = fc.campaign(session, merchant=merchant, value_cents=500, min_spend_cents=1500)
    session.commit()
    return claim(client, shopper, other)


def test_another_merchants_coupon_is_not_valid_here(client, session, shop, shopper, unchanged):
    store, skus, _ = shop
    theirs = fc.campaign(session, merchant=factories.merchant(session))
    session.commit()
    coupon_id = claim(client, shopper, theirs)
    with unchanged():
        resp = reserve(client, shopper, store, [(skus[0], 2)], coupon_id)
        assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.wrong_store")


def test_a_retry_with_the_same_key_holds_the_coupon_once(client, session, shop, shopper):
    store, skus, campaign = shop
    coupon_id = claim(client, shopper, campaign)
    first = reserve(client, shopper, store, [(skus[0], 2)], coupon_id, key="k1")
    again = reserve(client, shopper, store, [(skus[0], 2)], coupon_id, key="k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["coupon"] == first.get_json()["coupon"]
    assert session.scalar(select(func.count()).select_from(Reservation)) == 1


def test_two_reservations_racing_for_one_coupon_one_holds_it(
    committed, client, session, shop, make_shopper
):
    store, skus, campaign = shop
    shopper = make_shopper()
    coupon_id = claim(client, shopper, campaign)

    def attempt(sku):
        return lambda client: reserve(client, shopper, store, [(sku, 2)], coupon_id)

    results = sorted(
        (status, body.get("type")) for status, body in race(committed, map(attempt, skus))
    )
    assert results == [(201, None), (409, "coupons.held")]
    held = session.scalar(select(Coupon.reservation_id).where(Coupon.id == coupon_id))
    assert session.scalar(select(func.count()).select_from(Reservation)) == 1
    assert held == session.scalar(select(Reservation.id))
