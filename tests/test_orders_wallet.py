"""Coupons and points on pickup orders: priced into what is paid, held with the order, used at
hand-over, given back when it ends uncollected, taken back (their share) by a return; and the
races: one coupon for two orders at once, the same points spent twice at once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.coupons.models import Coupon
from app.members.models import MemberPoints
from app.orders import lifecycle
from app.pickup import expiry
from app.pickup.models import Reservation
from tests import factories_coupons as fc
from tests.factories_orders import order_row, pay, shop
from tests.race import race

RETURNS = "/v1/admin/stores/{}/returns"


def _program_and_points(client, owner, shopper, store, merchant, points: int) -> dict:
    """A program earning 1 point per NT$1 (available at once) and a member with `points`."""
    body = {"currency": "TWD", "points_per_unit": 1, "pending_days": 0, "expiry_days": 365}
    assert client.put("/v1/admin/membership", json=body, headers=owner.headers).status_code == 200
    member = client.post(
        f"/v1/merchants/{merchant.id}/membership", json={"consent": True}, headers=shopper.headers
    ).get_json()
    receipt = {
        "receipt_ref": f"till-{member['id']}",
        "total_cents": points * 100,
        "currency": "TWD",
    }
    url = f"/v1/admin/stores/{store.id}/members/{member['id']}/receipts"
    assert client.post(url, json=receipt, headers=owner.headers).status_code == 201
    return member


def _available(client, shopper, member) -> int:
    got = client.get(f"/v1/me/memberships/{member['id']}", headers=shopper.headers).get_json()
    return got["points"]["available"]


def _claim(client, shopper, campaign) -> int:
    resp = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=shopper.headers
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _order(client, caller, store, lines, *, payment="online", **extra):
    body = {
        "store_id": store.id,
        "items": [{"sku_id": s.id, "qty": q} for s, q in lines],
        "payment_method": payment,
        **extra,
    }
    return client.post("/v1/orders", json=body, headers=caller.headers)


def _coupon(session, coupon_id) -> Coupon:
    return session.get(Coupon, coupon_id, populate_existing=True)


def _hand_over(client, manager, store, order):
    base = f"/v1/admin/stores/{store.id}/orders/{order['id']}"
    assert client.post(f"{base}/ready", headers=manager.headers).status_code == 200
    done = client.post(
        f"{base}/pickup", json={"code": order["pickup_code"]}, headers=manager.headers
    )
    assert done.status_code == 200, done.get_json()


def test_a_coupon_and_points_pay_part_of_an_online_order(
    client, shopper, owner, make_staff, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    campaign = fc.campaign(session, merchant=merchant, value_cents=500)
    session.commit()
    member = _program_and_points(client, owner, shopper, store, merchant, points=1000)
    coupon_id = _claim(client, shopper, campaign)

    resp = _order(client, shopper, store, [(skus[0], 2)], coupon_id=coupon_id, points=300)
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    # NT$24.00 less NT$5.00 off less 300 points of 1 cent each.
    assert (order["amount_cents"], order["discount_cents"], order["points_spent"]) == (
        1600,
        800,
        300,
    )
    assert stripe.intents[order_row(session, order["id"]).intent_id]["amount"] == 1600
    assert _coupon(session, coupon_id).state == "held"
    assert _available(client, shopper, member) == 700

    assert pay(client, shopper, order["id"]).get_json()["payment_state"] == "paid"
    _hand_over(client, make_staff("store_manager", store_ids=[store.id]), store, order)
    assert _coupon(session, coupon_id).state == "used"
    # The pickup earns on the money paid only: NT$16 → 16 points.
    assert _available(client, shopper, member) == 700 + 16


def test_an_order_that_ends_unpaid_gives_coupon_and_points_back(
    app, client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    campaign = fc.campaign(session, merchant=merchant, value_cents=500)
    session.commit()
    member = _program_and_points(client, owner, shopper, store, merchant, points=1000)
    coupon_id = _claim(client, shopper, campaign)
    kept = _order(client, shopper, store, [(skus[0], 1)], coupon_id=coupon_id, points=200)
    assert kept.status_code == 201, kept.get_json()
    cancelled = client.post(f"/v1/orders/{kept.get_json()['id']}/cancel", headers=shopper.headers)
    assert cancelled.status_code == 200
    assert _coupon(session, coupon_id).state == "unused"
    assert _available(client, shopper, member) == 1000

    late = _order(client, shopper, store, [(skus[0], 1)], coupon_id=coupon_id, points=400)
    assert _available(client, shopper, member) == 600
    row = order_row(session, late.get_json()["id"])
    session.execute(
        update(Reservation)
        .where(Reservation.id == row.reservation_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    with app.app_context():
        expiry.sweep_batch(session=session)
        lifecycle.settle_batch(session=session)
        lifecycle.settle_batch(session=session)  # a second sweep gives nothing back twice
        session.commit()
    assert order_row(session, late.get_json()["id"]).ended_state == "expired"
    assert _coupon(session, coupon_id).state == "unused"
    assert _available(client, shopper, member) == 1000


def test_too_few_points_refuse_the_order_and_hold_nothing(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    member = _program_and_points(client, owner, shopper, store, merchant, points=100)
    resp = _order(client, shopper, store, [(skus[0], 1)], payment="at_store", points=150)
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["type"] == "members.not_enough_points"
    assert (body["available"], body["requested"]) == (100, 150)
    assert session.scalar(select(func.count()).select_from(Reservation)) == 0
    assert _available(client, shopper, member) == 100


def test_points_beyond_the_price_and_coupons_on_shipped_orders_are_refused(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    _program_and_points(client, owner, shopper, store, merchant, points=5000)
    over = _order(client, shopper, store, [(skus[0], 1)], payment="at_store", points=1201)
    assert over.status_code == 422 and "points" in over.get_json()["errors"]
    whole = _order(client, shopper, store, [(skus[0], 1)], points=1200)
    assert whole.status_code == 422 and "payment_method" in whole.get_json()["errors"]
    shipped = client.post(
        "/v1/orders",
        json={
            "fulfilment": "ship_from_store",
            "delivery": {"name": "Mei", "address": "7 Songren Rd", "city": "Taipei",
                         "lat": 25.03, "lng": 121.56},
            "items": [{"sku_id": skus[0].id, "qty": 1}],
            "payment_method": "online",
            "coupon_id": 1,
        },
        headers=shopper.headers,
    )  # fmt: skip
    assert shipped.status_code == 422 and "coupon_id" in shipped.get_json()["errors"]


def test_a_return_takes_back_its_share_of_earned_points_and_refunds_what_was_paid(
    client, shopper, owner, make_staff, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    member = _program_and_points(client, owner, shopper, store, merchant, points=400)
    lines = [(skus[0], 2), (skus[1], 2)]
    order = _order(client, shopper, store, lines, payment="at_store", points=400).get_json()
    assert order["amount_cents"] == 4400
    manager = make_staff("store_manager", store_ids=[store.id])
    _hand_over(client, manager, store, order)
    assert _available(client, shopper, member) == 44  # earned on NT$44 paid

    def give_back(sku, qty, key):
        body = {"order_id": order["id"], "lines": [{"sku_id": sku.id, "qty": qty}],
                "reason": "Wrong size"}  # fmt: skip
        headers = {**manager.headers, "Idempotency-Key": key}
        return client.post(RETURNS.format(store.id), json=body, headers=headers)

    first = give_back(skus[0], 1, "r1")
    assert first.status_code == 201, first.get_json()
    # A quarter of the list value: a quarter of the money paid and of the points earned.
    assert (first.get_json()["amount_cents"], first.get_json()["points_taken_back"]) == (1100, 11)
    assert _available(client, shopper, member) == 33
    # The shopper spends most of what is left at the till; a return takes only what remains.
    redeem = {"points": 30, "receipt_ref": "till-spend"}
    url = f"/v1/admin/stores/{store.id}/members/{member['id']}/points:redeem"
    assert client.post(url, json=redeem, headers=owner.headers).status_code == 201
    rest = client.post(
        RETURNS.format(store.id),
        json={"order_id": order["id"], "reason": "Wrong size", "lines": [
            {"sku_id": skus[0].id, "qty": 1}, {"sku_id": skus[1].id, "qty": 2}]},
        headers={**manager.headers, "Idempotency-Key": "r2"},
    )  # fmt: skip
    assert rest.status_code == 201, rest.get_json()
    assert (rest.get_json()["amount_cents"], rest.get_json()["points_taken_back"]) == (3300, 3)
    assert _available(client, shopper, member) == 0
    spent = session.scalar(
        select(func.sum(MemberPoints.points)).where(MemberPoints.kind == "redeem")
    )
    assert spent == -430  # the 400 points the order spent stay spent


def test_one_coupon_for_two_orders_at_once_goes_to_one(
    committed, make_shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    campaign = fc.campaign(session, merchant=merchant, value_cents=500)
    session.commit()
    shopper = make_shopper()
    coupon_id = _claim(committed.test_client(), shopper, campaign)
    results = race(
        committed,
        [
            lambda c, sku=sku: _order(
                c, shopper, store, [(sku, 1)], payment="at_store", coupon_id=coupon_id
            )
            for sku in skus
        ],
    )
    assert sorted(s for s, _ in results) == [201, 409]
    assert [b["type"] for s, b in results if s == 409] == ["coupons.held"]
    assert session.scalar(select(func.count()).select_from(Reservation)) == 1
    assert _coupon(session, coupon_id).state == "held"


def test_the_same_points_spent_twice_at_once_are_spent_once(
    committed, make_shopper, make_staff, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    shopper, owner = make_shopper(), make_staff("owner")
    client = committed.test_client()
    member = _program_and_points(client, owner, shopper, store, merchant, points=1000)
    results = race(
        committed,
        [
            lambda c, sku=sku: _order(c, shopper, store, [(sku, 1)], payment="at_store", points=700)
            for sku in skus
        ],
    )
    assert sorted(s for s, _ in results) == [201, 409]
    assert [b["type"] for s, b in results if s == 409] == ["members.not_enough_points"]
    assert _available(client, shopper, member) == 300
    spent = session.scalar(
        select(func.sum(MemberPoints.points)).where(MemberPoints.kind == "redeem")
    )
    assert spent == -700
