"""Membership: consent, the rotating code at the till, receipts, redemption, refunds, tiers,
pending and expiry read with an injected clock, and service cards."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.coupons.models import Coupon
from app.members import sweeper
from app.members.models import Member, MemberPoints
from tests import factories, factories_stores
from tests import factories_coupons as fc
from tests import factories_inventory as fi

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(app, monkeypatch):
    """A settable clock: clock.at = ...; the app reads it through app.config["CLOCK"]."""

    class Clock:
        at = T0

    c = Clock()
    monkeypatch.setitem(app.config, "CLOCK", lambda: c.at)
    return c


@pytest.fixture
def shop(session, merchant):
    s = factories_stores.store(session, merchant=merchant)
    session.commit()
    return s


def program(client, owner, **fields):
    body = {"currency": "TWD", "points_per_unit": 1, "pending_days": 7, "expiry_days": 30}
    resp = client.put("/v1/admin/membership", json=body | fields, headers=owner.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def join(client, shopper, merchant_id):
    resp = client.post(
        f"/v1/merchants/{merchant_id}/membership", json={"consent": True}, headers=shopper.headers
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def receipt(client, till, store_id, member_id, ref, total_cents, **extra):
    return client.post(
        f"/v1/admin/stores/{store_id}/members/{member_id}/receipts",
        json={"receipt_ref": ref, "total_cents": total_cents, "currency": "TWD", **extra},
        headers=till.headers,
    )


def points(client, shopper, member_id):
    return client.get(f"/v1/me/memberships/{member_id}", headers=shopper.headers).get_json()[
        "points"
    ]


def test_joining_needs_explicit_consent(client, owner, shopper, merchant):
    program(client, owner)
    url = f"/v1/merchants/{merchant.id}/membership"
    resp = client.post(url, json={"consent": False}, headers=shopper.headers)
    assert resp.status_code == 422
    assert "consent" in resp.get_json()["errors"]
    assert client.post(url, json={}, headers=shopper.headers).status_code == 422
    member = join(client, shopper, merchant.id)
    assert len(member["member_number"]) == 12
    again = client.post(url, json={"consent": True}, headers=shopper.headers)
    assert again.status_code == 200 and again.get_json()["id"] == member["id"]
    mine = client.get("/v1/me/memberships", headers=shopper.headers).get_json()
    assert [m["id"] for m in mine["items"]] == [member["id"]]


def test_no_program_no_membership(client, shopper, merchant):
    resp = client.post(
        f"/v1/merchants/{merchant.id}/membership", json={"consent": True}, headers=shopper.headers
    )
    assert resp.status_code == 404


def test_code_resolves_at_the_till_within_its_minute_only(
    client, clock, owner, shopper, merchant, shop, make_staff
):
    program(client, owner)
    member = join(client, shopper, merchant.id)
    got = client.get(f"/v1/me/memberships/{member['id']}/code", headers=shopper.headers)
    body = got.get_json()
    assert body["qr_svg"].lstrip().startswith("<svg")
    again = client.get(f"/v1/me/memberships/{member['id']}/code", headers=shopper.headers)
    assert member["member_number"] not in body["code"]
    assert again.get_json()["code"][4:12] != body["code"][4:12]  # rotates: nothing fixed in it
    url = f"/v1/admin/stores/{shop.id}/members:resolve"
    first = client.post(url, json={"code": body["code"]}, headers=owner.headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["id"] == member["id"] and first.get_json()["name"] == "Tester"
    clock.at = T0 + timedelta(seconds=30)  # a re-scan inside the minute
    assert client.post(url, json={"code": body["code"]}, headers=owner.headers).status_code == 200
    clock.at = T0 + timedelta(seconds=61)
    late = client.post(url, json={"code": body["code"]}, headers=owner.headers)
    assert late.status_code == 422 and late.get_json()["type"] == "members.code_expired"
    tampered = body["code"][:-2] + ("AA" if body["code"][-2:] != "AA" else "BB")
    for bad in ("garbage", tampered):
        resp = client.post(url, json={"code": bad}, headers=owner.headers)
        assert resp.status_code == 422 and resp.get_json()["type"] == "members.invalid_code"


def test_another_merchants_staff_see_nothing(
    client, session, owner, shopper, merchant, shop, unchanged
):
    program(client, owner)
    member = join(client, shopper, merchant.id)
    code = client.get(f"/v1/me/memberships/{member['id']}/code", headers=shopper.headers)
    other = factories.merchant(session)
    other_shop = factories_stores.store(session, merchant=other)
    user = factories.user(session)
    factories.staff(session, merchant=other, user=user, role="owner")
    session.commit()
    from tests.conftest import Caller, login

    stranger = Caller(user.id, user.email, login(client, user.email), other.id)
    with unchanged():
        resp = client.post(
            f"/v1/admin/stores/{other_shop.id}/members:resolve",
            json={"code": code.get_json()["code"]},
            headers=stranger.headers,
        )
        assert resp.status_code == 404
        resp = receipt(client, stranger, other_shop.id, member["id"], "R1", 1000)
        assert resp.status_code == 404
        resp = receipt(client, stranger, shop.id, member["id"], "R1", 1000)
    assert resp.status_code == 404


def test_resolving_is_rate_limited_per_store(app, client, owner, monkeypatch, shop):
    monkeypatch.setitem(app.config, "MEMBER_RESOLVE_RATE_LIMIT", "3/minute")
    url = f"/v1/admin/stores/{shop.id}/members:resolve"
    statuses = [
        client.post(url, json={"code": "x"}, headers=owner.headers).status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


def test_receipt_counts_once_and_points_are_pending_then_available_then_expire(
    client, clock, session, owner, shopper, merchant, shop
):
    program(client, owner)
    member = join(client, shopper, merchant.id)
    first = receipt(client, owner, shop.id, member["id"], "T-1", 45000)
    assert first.status_code == 201 and first.get_json()["points"] == 450
    replay = receipt(client, owner, shop.id, member["id"], "T-1", 45000)
    assert replay.status_code == 200 and replay.get_json()["points"] == 450
    assert receipt(client, owner, shop.id, member["id"], "T-1", 999).status_code == 409
    assert points(client, shopper, member["id"]) == {"available": 0, "pending": 450}
    clock.at = T0 + timedelta(days=7, seconds=1)  # before any sweeper ran
    assert points(client, shopper, member["id"]) == {"available": 450, "pending": 0}
    clock.at = T0 + timedelta(days=30, seconds=1)
    assert points(client, shopper, member["id"]) == {"available": 0, "pending": 0}
    sweeper.sweep(session=session, at=clock.at)
    session.commit()
    kinds = session.scalars(
        select(MemberPoints.kind).where(MemberPoints.member_id == member["id"])
    ).all()
    assert sorted(kinds) == ["available", "earn", "expire"]
    total = session.scalar(
        select(func.sum(MemberPoints.points)).where(MemberPoints.member_id == member["id"])
    )
    assert total == 0  # the ledger's sum is the balance once swept


def test_a_fractional_amount_is_422_not_rounded_down(
    client, session, owner, shopper, merchant, shop
):
    # Money is whole minor units: 2.5e-42 (or 450.7) must not become 0 (or 450) cents.
    program(client, owner)
    member = join(client, shopper, merchant.id)
    for total in (2.5e-42, 450.7):
        resp = receipt(client, owner, shop.id, member["id"], "T-9", total)
        assert resp.status_code == 422 and "total_cents" in resp.get_json()["errors"]
    assert receipt(client, owner, shop.id, member["id"], "T-9", 450.0).status_code == 201


def test_redeem_spends_available_points_once_per_receipt(
    client, clock, owner, shopper, merchant, shop
):
    program(client, owner, pending_days=0)
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 30000)
    url = f"/v1/admin/stores/{shop.id}/members/{member['id']}/points:redeem"
    too_many = client.post(url, json={"points": 301, "receipt_ref": "T-2"}, headers=owner.headers)
    assert too_many.status_code == 409
    assert too_many.get_json()["type"] == "members.not_enough_points"
    half = client.post(url, json={"points": 2.5, "receipt_ref": "T-2"}, headers=owner.headers)
    assert half.status_code == 422 and "points" in half.get_json()["errors"]
    # 100.0 is the integer 100 in JSON (schemathesis sent 6534.0 and was refused).
    ok = client.post(url, json={"points": 100.0, "receipt_ref": "T-2"}, headers=owner.headers)
    assert ok.status_code == 201 and ok.get_json()["balance"]["available"] == 200
    again = client.post(url, json={"points": 100, "receipt_ref": "T-2"}, headers=owner.headers)
    assert again.status_code == 200 and again.get_json()["balance"]["available"] == 200


def test_refund_takes_back_what_is_left_of_the_receipts_points(
    client, clock, session, owner, shopper, merchant, shop
):
    program(client, owner, pending_days=0)
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 30000)
    client.post(
        f"/v1/admin/stores/{shop.id}/members/{member['id']}/points:redeem",
        json={"points": 100, "receipt_ref": "T-2"},
        headers=owner.headers,
    )
    url = f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts/T-1:refund"
    resp = client.post(url, headers=owner.headers)
    assert resp.status_code == 200 and resp.get_json()["refunded_points"] == 200
    assert points(client, shopper, member["id"]) == {"available": 0, "pending": 0}
    assert client.post(url, headers=owner.headers).status_code == 409
    missing = f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts/NOPE:refund"
    assert client.post(missing, headers=owner.headers).status_code == 404


def test_reaching_a_tier_grants_its_coupon_once(
    client, clock, session, owner, shopper, merchant, shop
):
    campaign = fc.campaign(session, merchant=merchant, per_user_limit=5)
    session.commit()
    tiers = [{"name": "Gold", "threshold_cents": 50000, "campaign_id": campaign.id}]
    program(client, owner, tiers=tiers)
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 40000)
    second = receipt(client, owner, shop.id, member["id"], "T-2", 20000).get_json()
    assert second["tier_coupon"]["granted"] is True
    detail = client.get(f"/v1/me/memberships/{member['id']}", headers=shopper.headers).get_json()
    assert detail["tier"]["name"] == "Gold" and detail["spend_12m_cents"] == 60000
    client.post(
        f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts/T-2:refund",
        headers=owner.headers,
    )
    assert session.scalar(select(Member.tier_id).where(Member.id == member["id"])) is None
    receipt(client, owner, shop.id, member["id"], "T-3", 20000)  # Gold again: no second coupon
    assert session.scalar(select(func.count()).where(Coupon.user_id == shopper.id)) == 1


def test_tier_drops_when_spend_rolls_out_of_the_12_months(
    client, clock, session, owner, shopper, merchant, shop
):
    program(client, owner, tiers=[{"name": "Silver", "threshold_cents": 10000}])
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 10000)
    clock.at = T0 + timedelta(days=366)
    detail = client.get(f"/v1/me/memberships/{member['id']}", headers=shopper.headers).get_json()
    assert detail["tier"] is None  # read right before the sweeper ran
    sweeper.sweep(session=session, at=clock.at)
    session.commit()
    assert session.scalar(select(Member.tier_id).where(Member.id == member["id"])) is None


def test_leaving_stops_earning_and_keeps_the_ledger(
    client, session, owner, shopper, merchant, shop
):
    program(client, owner)
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 1000)
    resp = client.delete(f"/v1/me/memberships/{member['id']}", headers=shopper.headers)
    assert resp.status_code == 204
    assert receipt(client, owner, shop.id, member["id"], "T-2", 1000).status_code == 404
    rows = client.get(f"/v1/me/memberships/{member['id']}/ledger", headers=shopper.headers)
    assert [r["kind"] for r in rows.get_json()["items"]] == ["earn"]


def test_service_card_on_a_till_receipt_and_its_uses(
    client, clock, session, owner, shopper, merchant, shop
):
    sku = fi.skus(session, merchant)[0]
    session.commit()
    template = client.post(
        "/v1/admin/service-card-templates",
        json={
            "title": "Air-con care",
            "services": [{"name": "installation", "count": 1}, {"name": "cleaning", "count": 2}],
            "validity_days": 365,
            "sku_ids": [sku.id],
        },
        headers=owner.headers,
    )
    assert template.status_code == 201, template.get_json()
    url = f"/v1/admin/service-card-templates/{template.get_json()['id']}"
    # A PATCH may leave fields out, not half a service (schemathesis: a 500 without its name).
    half = client.patch(url, json={"services": [{"count": 2}]}, headers=owner.headers)
    assert half.status_code == 422 and "services.0.name" in half.get_json()["errors"]
    renamed = client.patch(url, json={"title": "Air-con care+"}, headers=owner.headers)
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "Air-con care+"
    program(client, owner)
    member = join(client, shopper, merchant.id)
    resp = receipt(client, owner, shop.id, member["id"], "T-1", 1000, sku_ids=[sku.id])
    [card_id] = resp.get_json()["service_card_ids"]
    card = client.get(f"/v1/wallet/service-cards/{card_id}", headers=shopper.headers).get_json()
    use = f"/v1/admin/stores/{shop.id}/service-cards:use"
    body = {"code": card["code"], "service": "installation"}
    assert client.post(use, json=body, headers=owner.headers).status_code == 200
    again = client.post(use, json=body, headers=owner.headers)
    assert again.status_code == 409 and again.get_json()["type"] == "service_cards.used_up"
    unknown = client.post(use, json={**body, "service": "x"}, headers=owner.headers)
    assert unknown.status_code == 422
    card = client.get(f"/v1/wallet/service-cards/{card_id}", headers=shopper.headers).get_json()
    assert {s["name"]: s["remaining"] for s in card["services"]} == {
        "cleaning": 2,
        "installation": 0,
    }
    assert [u["store_id"] for u in card["uses"]] == [shop.id]
    clock.at = T0 + timedelta(days=366)
    expired = client.get("/v1/wallet/service-cards?state=expired", headers=shopper.headers)
    assert [c["id"] for c in expired.get_json()["items"]] == [card_id]


def test_a_member_picking_up_earns_in_the_pickups_transaction(
    client, session, owner, shopper, merchant
):
    shop = factories_stores.store(session, merchant=merchant)
    sku = fi.skus(session, merchant, price_cents=25000)[0]
    fi.stock(session, shop, sku, on_hand=5)
    session.commit()
    program(client, owner, currency="TWD", pending_days=0)
    member = join(client, shopper, merchant.id)
    made = client.post(
        "/v1/reservations",
        json={"store_id": shop.id, "items": [{"sku_id": sku.id, "qty": 2}]},
        headers=shopper.headers,
    ).get_json()
    base = f"/v1/admin/stores/{shop.id}/reservations/{made['id']}"
    assert client.post(f"{base}/ready", headers=owner.headers).status_code == 200
    done = client.post(f"{base}/pickup", json={"code": made["pickup_code"]}, headers=owner.headers)
    assert done.status_code == 200, done.get_json()
    assert points(client, shopper, member["id"]) == {"available": 500, "pending": 0}
