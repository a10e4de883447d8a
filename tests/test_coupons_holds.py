"""The coupon side of pickup (app/coupons/pickup.py), called as the pickup service will call it:
quote, hold for a reservation, use at hand-over, release on cancel or expiry."""

import pytest
from sqlalchemy import select, text

from app.coupons import pickup as coupon_holds
from app.coupons.models import Coupon
from app.errors import Conflict, NotFound
from app.pickup.models import Reservation
from tests import factories, factories_stores
from tests import factories_coupons as fc
from tests import factories_inventory as inv


@pytest.fixture
def cart(client, session, merchant, shopper):
    """A store, a SKU at NT$10.00, a NT$5-off-over-NT$15 coupon and a reservation of 2 units."""
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant, price_cents=1000)[0]
    inv.stock(session, store, sku, on_hand=20)
    campaign = fc.campaign(session, merchant=merchant, value_cents=500, min_spend_cents=1500)
    session.commit()
    coupon_id = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=shopper.headers
    ).get_json()["id"]
    public_id = client.post(
        "/v1/reservations",
        json={"store_id": store.id, "items": [{"sku_id": sku.id, "qty": 2}]},
        headers=shopper.headers,
    ).get_json()["id"]
    reservation = session.scalar(select(Reservation).where(Reservation.public_id == public_id))
    return store, sku, coupon_id, reservation


def hold(session, shopper, cart, **overrides):
    store, sku, coupon_id, reservation = cart
    args = {
        "session": session,
        "user_id": shopper.id,
        "coupon_id": coupon_id,
        "store_id": store.id,
        "merchant_id": store.merchant_id,
        "reservation_id": reservation.id,
        "lines": {sku.id: 2},
    } | overrides
    return coupon_holds.hold_coupon(**args)


def coupon_row(session, coupon_id) -> Coupon:
    return session.scalars(
        select(Coupon).where(Coupon.id == coupon_id).execution_options(populate_existing=True)
    ).one()


def test_quote_prices_the_cart_at_the_stores_where_the_coupon_applies(session, shopper, cart):
    store, sku, coupon_id, _ = cart
    quote = coupon_holds.quote_coupon(
        session=session,
        user_id=shopper.id,
        coupon_id=coupon_id,
        stores=[{"id": store.id, "merchant_id": store.merchant_id}, {"id": 1, "merchant_id": -1}],
        lines={sku.id: 2},
    )
    assert quote == {
        "coupon_id": coupon_id,
        "subtotal_cents": 2000,
        "discount_cents": 500,
        "total_cents": 1500,
        "store_ids": [store.id],
        "reason": None,
    }
    small = coupon_holds.quote_coupon(
        session=session,
        user_id=shopper.id,
        coupon_id=coupon_id,
        stores=[{"id": store.id, "merchant_id": store.merchant_id}],
        lines={sku.id: 1},
    )
    assert (small["store_ids"], small["reason"]) == ([], "coupons.min_spend_not_met")


def test_hold_use_and_release(session, shopper, cart, make_staff):
    store, _, coupon_id, reservation = cart
    assert hold(session, shopper, cart) == {
        "coupon_id": coupon_id,
        "subtotal_cents": 2000,
        "discount_cents": 500,
        "total_cents": 1500,
    }
    row = coupon_row(session, coupon_id)
    assert (row.state, row.reservation_id) == ("held", reservation.id)
    with pytest.raises(Conflict) as again:
        hold(session, shopper, cart)
    assert again.value.type == "coupons.held"

    coupon_holds.release_held_coupons(session=session, reservation_ids=[reservation.id])
    row = coupon_row(session, coupon_id)
    assert (row.state, row.reservation_id, row.discount_cents) == ("unused", None, None)

    hold(session, shopper, cart)
    staff = make_staff("store_manager", store_ids=[store.id])
    coupon_holds.use_held_coupon(
        session=session, reservation_id=reservation.id, store_id=store.id, staff_user_id=staff.id
    )
    row = coupon_row(session, coupon_id)
    assert (row.state, row.redeemed_store_id, row.discount_cents) == ("used", store.id, 500)
    assert row.redeemed_at is not None
    coupon_holds.release_held_coupons(session=session, reservation_ids=[reservation.id])
    assert coupon_row(session, coupon_id).state == "used"  # a used coupon stays used
    assert coupon_holds.held_for(session=session, reservation_ids=[reservation.id]) == {
        reservation.id: {"coupon_id": coupon_id, "discount_cents": 500}
    }


def test_what_cannot_be_held(session, shopper, cart, make_shopper):
    store, _, coupon_id, _ = cart
    with pytest.raises(NotFound):
        hold(session, shopper, cart, user_id=make_shopper().id)
    with pytest.raises(Conflict) as foreign:
        hold(session, shopper, cart, merchant_id=factories.merchant(session).id)
    assert foreign.value.type == "coupons.wrong_store"
    session.execute(
        text("UPDATE coupons SET expires_at = now() - interval '1 s' WHERE id = :id"),
        {"id": coupon_id},
    )
    with pytest.raises(Conflict) as expired:
        hold(session, shopper, cart)
    assert expired.value.type == "coupons.expired"
    assert coupon_row(session, coupon_id).state == "unused"
