"""Rule 2 under real concurrency: threads, each with its own client and database connection."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.coupons.models import Coupon, CouponCampaign
from tests import factories_coupons as fc
from tests import factories_stores
from tests.race import race


@pytest.fixture(autouse=True)
def _many_logins(app, monkeypatch):
    # Dozens of shoppers sign in from one test address; the login limit is not under test here.
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000/minute")


def claim_call(campaign_id, caller, headers=None):
    return lambda client: client.post(
        f"/v1/coupon-campaigns/{campaign_id}/claim",
        json={},
        headers={**caller.headers, **(headers or {})},
    )


def outcomes(results):
    return Counter(
        "claimed" if status == 201 else body.get("type", status) for status, body in results
    )


def test_32_shoppers_race_for_the_last_5_coupons(
    committed, client, session, merchant, make_shopper
):
    c = fc.campaign(session, merchant=merchant, total_qty=8)
    session.commit()
    for _ in range(3):
        assert claim_call(c.id, make_shopper())(client).status_code == 201
    shoppers = [make_shopper() for _ in range(32)]
    results = race(committed, [claim_call(c.id, s) for s in shoppers])
    assert outcomes(results) == {"claimed": 5, "coupons.sold_out": 27}
    assert session.scalar(select(CouponCampaign.claimed_qty).where(CouponCampaign.id == c.id)) == 8
    assert session.scalar(select(func.count()).where(Coupon.campaign_id == c.id)) == 8


def test_32_shoppers_race_on_a_red_packet_with_little_budget_left(
    committed, session, merchant, make_shopper
):
    c = fc.campaign(
        session,
        merchant=merchant,
        kind="red_packet",
        value_cents=None,
        red_packet_min_cents=100,
        red_packet_max_cents=300,
        budget_cents=1000,
    )
    session.commit()
    results = race(committed, [claim_call(c.id, make_shopper()) for _ in range(32)])
    drawn = [body["amount_cents"] for status, body in results if status == 201]
    assert set(outcomes(results)) == {"claimed", "coupons.sold_out"}
    assert sum(drawn) == 1000  # every cent handed out, none beyond the budget
    assert all(1 <= amount <= 300 for amount in drawn)
    spent = session.scalar(select(CouponCampaign.spent_cents).where(CouponCampaign.id == c.id))
    assert spent == 1000


def test_one_shopper_fires_10_claims_at_a_limit_of_2(committed, session, merchant, make_shopper):
    c = fc.campaign(session, merchant=merchant, per_user_limit=2)
    session.commit()
    shopper = make_shopper()
    results = race(committed, [claim_call(c.id, shopper) for _ in range(10)])
    assert outcomes(results) == {"claimed": 2, "coupons.limit_reached": 8}
    assert session.scalar(select(func.count()).where(Coupon.user_id == shopper.id)) == 2


def test_retries_with_one_idempotency_key_claim_once(committed, session, merchant, make_shopper):
    c = fc.campaign(session, merchant=merchant, per_user_limit=5)
    session.commit()
    shopper = make_shopper()
    key = {"Idempotency-Key": "one-tap"}
    results = race(committed, [claim_call(c.id, shopper, key) for _ in range(8)])
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert session.scalar(select(func.count()).where(Coupon.user_id == shopper.id)) == 1


def test_two_staff_redeeming_one_code_at_once_one_wins(
    committed, client, session, merchant, make_shopper, make_staff
):
    shop = factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, total_qty=10)
    session.commit()
    tills = [make_staff("owner"), make_staff("store_manager", store_ids=[shop.id])]
    for _ in range(5):  # five codes, each fought over by both tills
        code = claim_call(c.id, make_shopper())(client).get_json()["code"]
        results = race(
            committed,
            [
                lambda cl, till=till, code=code: cl.post(
                    f"/v1/admin/stores/{shop.id}/coupons:redeem",
                    json={"code": code, "basket_cents": 10000},
                    headers=till.headers,
                )
                for till in tills
            ],
        )
        assert sorted(status for status, _ in results) == [200, 409]
        assert {body.get("type") for status, body in results if status == 409} == {
            "coupons.already_used"
        }
    used = session.scalar(select(func.count()).where(Coupon.state == "used"))
    assert used == 5
