"""Members under real concurrency: 16 tills on one balance, on one service, and a tier's coupon."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.coupons.models import Coupon
from app.members.models import MemberPoints, ServiceCardUse
from tests import factories_coupons as fc
from tests import factories_inventory as fi
from tests import factories_stores
from tests.race import race


@pytest.fixture(autouse=True)
def _many_logins(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000/minute")


def _setup(client, session, merchant, owner, shopper, **program):
    shop = factories_stores.store(session, merchant=merchant)
    session.commit()
    body = {"currency": "TWD", "points_per_unit": 1, "pending_days": 0} | program
    assert client.put("/v1/admin/membership", json=body, headers=owner.headers).status_code == 200
    member = client.post(
        f"/v1/merchants/{merchant.id}/membership", json={"consent": True}, headers=shopper.headers
    ).get_json()
    return shop, member


def test_16_tills_redeeming_at_once_never_go_below_zero(
    committed, client, session, merchant, owner, shopper
):
    shop, member = _setup(client, session, merchant, owner, shopper)
    base = f"/v1/admin/stores/{shop.id}/members/{member['id']}"
    for i in range(2):  # two lots of 250 points
        resp = client.post(
            f"{base}/receipts",
            json={"receipt_ref": f"E{i}", "total_cents": 25000, "currency": "TWD"},
            headers=owner.headers,
        )
        assert resp.status_code == 201
    results = race(
        committed,
        [
            lambda c, i=i: c.post(
                f"{base}/points:redeem",
                json={"points": 70, "receipt_ref": f"R{i}"},
                headers=owner.headers,
            )
            for i in range(16)
        ],
    )
    got = Counter(s if s != 409 else b["type"] for s, b in results)
    assert got == {201: 7, "members.not_enough_points": 9}  # 7 × 70 = 490 of 500
    total = session.scalar(
        select(func.sum(MemberPoints.points)).where(MemberPoints.member_id == member["id"])
    )
    assert total == 10


def test_16_tills_using_one_service_at_once(committed, client, session, merchant, owner, shopper):
    shop, member = _setup(client, session, merchant, owner, shopper)
    sku = fi.skus(session, merchant)[0]
    session.commit()
    client.post(
        "/v1/admin/service-card-templates",
        json={
            "title": "Care",
            "services": [{"name": "cleaning", "count": 3}],
            "validity_days": 30,
            "sku_ids": [sku.id],
        },
        headers=owner.headers,
    )
    resp = client.post(
        f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts",
        json={"receipt_ref": "T1", "total_cents": 100, "currency": "TWD", "sku_ids": [sku.id]},
        headers=owner.headers,
    )
    [card_id] = resp.get_json()["service_card_ids"]
    code = client.get(f"/v1/wallet/service-cards/{card_id}", headers=shopper.headers).get_json()[
        "code"
    ]
    results = race(
        committed,
        [
            lambda c: c.post(
                f"/v1/admin/stores/{shop.id}/service-cards:use",
                json={"code": code, "service": "cleaning"},
                headers=owner.headers,
            )
            for _ in range(16)
        ],
    )
    assert Counter(s for s, _ in results) == {200: 3, 409: 13}
    assert session.scalar(select(func.count()).where(ServiceCardUse.card_id == card_id)) == 3


def test_tier_coupon_granted_once_when_receipts_race(
    committed, client, session, merchant, owner, shopper
):
    campaign = fc.campaign(session, merchant=merchant, per_user_limit=10)
    session.commit()
    tiers = [{"name": "Gold", "threshold_cents": 1000, "campaign_id": campaign.id}]
    shop, member = _setup(client, session, merchant, owner, shopper, tiers=tiers)
    results = race(
        committed,
        [
            lambda c, i=i: c.post(
                f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts",
                json={"receipt_ref": f"T{i}", "total_cents": 1000, "currency": "TWD"},
                headers=owner.headers,
            )
            for i in range(16)
        ],
    )
    assert {s for s, _ in results} == {201}
    assert session.scalar(select(func.count()).where(Coupon.user_id == shopper.id)) == 1
