"""Shake for coupons: the draw among claimable campaigns, segments, limits, and rule 2 under a
32-shaker race."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.coupons.models import Coupon, CouponCampaign
from tests import factories, factories_stores
from tests import factories_coupons as fc
from tests import factories_segments as seg
from tests.factories_stores import TAIPEI
from tests.race import race

HERE = {"lat": TAIPEI[0], "lng": TAIPEI[1], "accuracy_m": 10}
FAR = {"lat": 22.6273, "lng": 120.3014}  # Kaohsiung, 300 km away


@pytest.fixture(autouse=True)
def _shake_often(app, monkeypatch):
    # Most tests shake more than once; the limit has a test of its own.
    monkeypatch.setitem(app.config, "SHAKE_RATE_LIMIT", "1000/minute")
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000/minute")


def shake(client, caller, body=None):
    return client.post("/v1/shake", json=body or HERE, headers=caller.headers)


def test_a_shake_near_a_store_claims_a_coupon_into_the_wallet(client, session, merchant, shopper):
    factories_stores.store(session, merchant=merchant)
    campaign = fc.campaign(session, merchant=merchant)
    session.commit()
    resp = shake(client, shopper)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["result"] == "coupon" and body["coupon"]["campaign"]["id"] == campaign.id
    wallet = client.get("/v1/wallet/coupons", headers=shopper.headers).get_json()
    assert [c["id"] for c in wallet["items"]] == [body["coupon"]["id"]]


def test_nothing_this_time_far_away_or_when_everything_is_claimed(
    client, session, merchant, shopper
):
    factories_stores.store(session, merchant=merchant)
    fc.campaign(session, merchant=merchant, per_user_limit=1)
    session.commit()
    assert shake(client, shopper, FAR).get_json() == {"result": "nothing", "coupon": None}
    assert shake(client, shopper).get_json()["result"] == "coupon"
    # One per user: the second shake finds nothing claimable for this shopper.
    assert shake(client, shopper).get_json() == {"result": "nothing", "coupon": None}


def test_weights_decide_and_zero_never_comes_out(client, session, merchant, make_shopper):
    factories_stores.store(session, merchant=merchant)
    never = fc.campaign(session, merchant=merchant, shake_weight=0)
    rare = fc.campaign(session, merchant=merchant, shake_weight=1)
    common = fc.campaign(session, merchant=merchant, shake_weight=20)
    session.commit()
    drawn = Counter(
        shake(client, make_shopper()).get_json()["coupon"]["campaign"]["id"] for _ in range(42)
    )
    assert never.id not in drawn
    assert drawn[common.id] > drawn[rare.id]


def test_a_targeted_campaign_goes_only_to_its_segment(client, session, merchant, make_shopper):
    factories_stores.store(session, merchant=merchant)
    fans = seg.segment(session, merchant=merchant, rule={"type": "follows"})
    campaign = fc.campaign(session, merchant=merchant, segment_ids=[fans.id])
    fan, stranger = make_shopper(), make_shopper()
    seg.follow(session, user_id=fan.id, merchant=merchant)
    session.commit()
    assert shake(client, stranger).get_json()["result"] == "nothing"
    nearby = client.get("/v1/coupons/nearby", query_string=HERE, headers=stranger.headers)
    assert nearby.get_json()["items"] == []
    refused = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=stranger.headers
    )
    assert refused.status_code == 409
    assert refused.get_json()["type"] == "coupons.not_eligible"
    nearby = client.get("/v1/coupons/nearby", query_string=HERE, headers=fan.headers)
    assert [i["campaign"]["id"] for i in nearby.get_json()["items"]] == [campaign.id]
    assert shake(client, fan).get_json()["coupon"]["campaign"]["id"] == campaign.id


def test_targeting_an_unknown_segment_is_422(client, session, merchant, owner):
    other = factories.merchant(session)
    theirs = seg.segment(session, merchant=other, rule={"type": "follows"})
    session.commit()
    resp = client.post(
        "/v1/admin/coupon-campaigns",
        json=fc.campaign_body(segment_ids=[theirs.id]),
        headers=owner.headers,
    )
    assert resp.status_code == 422 and "segment_ids" in resp.get_json()["errors"]


def test_shaking_too_often_says_when_to_try_again(app, client, session, merchant, shopper):
    app.config["SHAKE_RATE_LIMIT"] = "1 per 5 seconds;100 per day"
    factories_stores.store(session, merchant=merchant)
    fc.campaign(session, merchant=merchant)
    session.commit()
    assert shake(client, shopper).status_code == 200
    resp = shake(client, shopper)
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 6
    assert resp.get_json()["try_again_at"]


def test_32_shakers_race_for_the_last_5_coupons(committed, client, session, merchant, make_shopper):
    factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, total_qty=5)
    session.commit()
    shoppers = [make_shopper() for _ in range(32)]
    results = race(committed, [lambda cl, s=s: shake(cl, s) for s in shoppers])
    assert Counter(body["result"] for _, body in results) == {"coupon": 5, "nothing": 27}
    assert session.scalar(select(CouponCampaign.claimed_qty).where(CouponCampaign.id == c.id)) == 5
    assert session.scalar(select(func.count()).where(Coupon.campaign_id == c.id)) == 5
