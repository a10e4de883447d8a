"""Coupon campaigns in the merchant admin: create, validate, safe updates, states, stats."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests import factories, factories_stores
from tests import factories_coupons as fc

BASE = "/v1/admin/coupon-campaigns"


def test_owner_creates_reads_and_lists_campaigns(client, session, merchant, owner):
    shop = factories_stores.store(session, merchant=merchant)
    session.commit()
    resp = client.post(
        BASE,
        json=fc.campaign_body(store_ids=[shop.id], geofence_radius_m=300),
        headers=owner.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "active"
    assert (body["claimed_qty"], body["remaining_qty"], body["store_ids"]) == (0, 100, [shop.id])

    assert (
        client.get(f"{BASE}/{body['id']}", headers=owner.headers).get_json()["title"] == "NT$50 off"
    )
    page = client.get(f"{BASE}?limit=1", headers=owner.headers).get_json()
    assert [c["id"] for c in page["items"]] == [body["id"]]
    assert page["next_cursor"] is None


def test_creating_with_an_idempotency_key_makes_one_campaign(client, owner):
    body, key = fc.campaign_body(), {**owner.headers, "Idempotency-Key": "camp-1"}
    first = client.post(BASE, json=body, headers=key)
    again = client.post(BASE, json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get(BASE, headers=owner.headers).get_json()["items"]) == 1
    other = client.post(BASE, json={**body, "title": "Other"}, headers=key)
    assert (other.status_code, other.get_json()["type"]) == (422, "idempotency.key_reused")


def test_list_pages_with_a_cursor(client, session, merchant, owner):
    ids = [fc.campaign(session, merchant=merchant).id for _ in range(3)]
    session.commit()
    first = client.get(f"{BASE}?limit=2", headers=owner.headers).get_json()
    second = client.get(
        f"{BASE}?limit=2&cursor={first['next_cursor']}", headers=owner.headers
    ).get_json()
    assert [c["id"] for c in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "percent_off", "value_cents": None}, "percent_off"),
        ({"kind": "percent_off", "percent_off": 0, "value_cents": None}, "percent_off"),
        ({"kind": "percent_off", "percent_off": 101, "value_cents": None}, "percent_off"),
        ({"percent_off": 10}, "percent_off"),
        ({"max_discount_cents": 100}, "max_discount_cents"),
        (
            {
                "kind": "red_packet",
                "value_cents": None,
                "red_packet_min_cents": 500,
                "red_packet_max_cents": 100,
                "budget_cents": 10000,
            },
            "red_packet_min_cents",
        ),
        ({"kind": "red_packet", "value_cents": None}, "red_packet_min_cents"),
        ({"claim_ends_at": "2020-01-01T00:00:00Z"}, "claim_ends_at"),
        ({"valid_to": "2030-01-01T00:00:00Z"}, "valid_to"),
        ({"valid_days_after_claim": None}, "valid_to"),
        ({"valid_days_after_claim": None, "valid_to": "2020-01-01T00:00:00Z"}, "valid_to"),
        ({"valid_from": "2030-01-01T00:00:00Z"}, "valid_from"),
        ({"value_cents": -1}, "value_cents"),
        ({"value_cents": 10**12}, "value_cents"),
        ({"total_qty": 0}, "total_qty"),
        ({"per_user_limit": 101}, "per_user_limit"),
        ({"currency": "twd"}, "currency"),
        ({"title": "x" * 121}, "title"),
        ({"geofence_radius_m": 0}, "geofence_radius_m"),
        ({"geofence_radius_m": 50_001}, "geofence_radius_m"),
        ({"store_ids": []}, "store_ids"),
        ({"store_ids": [0]}, "store_ids.0"),
        ({"daily_quota_per_store": 0}, "daily_quota_per_store"),
        ({"claim_starts_at": "yesterday"}, "claim_starts_at"),
    ],
)
def test_impossible_campaigns_are_422(client, owner, fields, field):
    resp = client.post(BASE, json=fc.campaign_body(**fields), headers=owner.headers)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_another_merchants_stores_and_skus_are_404(client, session, owner, unchanged):
    other = factories.merchant(session)
    foreign = factories_stores.store(session, merchant=other)
    session.commit()
    with unchanged():
        resp = client.post(
            BASE, json=fc.campaign_body(store_ids=[foreign.id]), headers=owner.headers
        )
        assert (resp.status_code, resp.get_json()["type"]) == (404, "stores.not_found")
        resp = client.post(BASE, json=fc.campaign_body(sku_ids=[987654]), headers=owner.headers)
        assert (resp.status_code, resp.get_json()["type"]) == (404, "catalog.not_found")


@pytest.mark.parametrize("role", ["store_manager", "service"])
def test_only_owners_and_operators_manage_campaigns(client, make_staff, role):
    caller = make_staff(role, store_ids=[1] if role == "store_manager" else ())
    assert client.post(BASE, json=fc.campaign_body(), headers=caller.headers).status_code == 403
    assert client.get(BASE, headers=caller.headers).status_code == 403


def test_operator_manages_campaigns(client, make_staff):
    operator = make_staff("operator")
    assert client.post(BASE, json=fc.campaign_body(), headers=operator.headers).status_code == 201


def test_another_merchants_campaign_is_404_everywhere(client, session, owner, unchanged):
    foreign = fc.campaign(session, merchant=factories.merchant(session))
    session.commit()
    with unchanged():
        for method, path in [
            ("get", f"{BASE}/{foreign.id}"),
            ("patch", f"{BASE}/{foreign.id}"),
            ("post", f"{BASE}/{foreign.id}:pause"),
            ("get", f"{BASE}/{foreign.id}/stats"),
        ]:
            resp = getattr(client, method)(
                path, json={} if method != "get" else None, headers=owner.headers
            )
            assert resp.status_code == 404, (method, path)
            assert resp.get_json()["type"] == "coupons.campaign_not_found"


def test_anything_may_change_before_the_first_claim(client, session, merchant, owner):
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    resp = client.patch(
        f"{BASE}/{c.id}",
        json={"kind": "percent_off", "value_cents": None, "percent_off": 15, "total_qty": 10},
        headers=owner.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["kind"], resp.get_json()["percent_off"]) == ("percent_off", 15)


def test_once_claimed_only_safe_changes_pass(client, session, merchant, owner, shopper):
    c = fc.campaign(session, merchant=merchant, total_qty=10)
    session.commit()
    assert (
        client.post(
            f"/v1/coupon-campaigns/{c.id}/claim", json={}, headers=shopper.headers
        ).status_code
        == 201
    )
    later = (c.claim_ends_at + timedelta(days=1)).isoformat()
    ok = client.patch(
        f"{BASE}/{c.id}",
        json={"total_qty": 20, "claim_ends_at": later, "title": "More"},
        headers=owner.headers,
    )
    assert ok.status_code == 200, ok.get_json()
    assert (ok.get_json()["total_qty"], ok.get_json()["remaining_qty"]) == (20, 19)
    for change in ({"value_cents": 9000}, {"total_qty": 5}, {"geofence_radius_m": 100}):
        resp = client.patch(f"{BASE}/{c.id}", json=change, headers=owner.headers)
        assert resp.status_code == 409, change
        assert resp.get_json()["type"] == "coupons.campaign_locked"


def test_pause_resume_and_end(client, session, merchant, owner):
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    assert (
        client.post(f"{BASE}/{c.id}:pause", headers=owner.headers).get_json()["state"] == "paused"
    )
    assert client.post(f"{BASE}/{c.id}:pause", headers=owner.headers).status_code == 409
    assert (
        client.post(f"{BASE}/{c.id}:resume", headers=owner.headers).get_json()["state"] == "active"
    )
    ended = client.post(f"{BASE}/{c.id}:end", headers=owner.headers).get_json()
    assert ended["state"] == "ended" and ended["ended_at"]
    assert client.post(f"{BASE}/{c.id}:resume", headers=owner.headers).status_code == 409
    resp = client.patch(f"{BASE}/{c.id}", json={"title": "Again"}, headers=owner.headers)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.campaign_ended")
    assert client.post(f"{BASE}/{c.id}:explode", headers=owner.headers).status_code == 404


def test_stats_count_claims_redemptions_and_expiry_per_store(
    client, session, merchant, owner, make_shopper
):
    a, b = (
        factories_stores.store(session, merchant=merchant),
        factories_stores.store(session, merchant=merchant, lat=25.05),
    )
    c = fc.campaign(session, merchant=merchant, total_qty=10)
    session.commit()
    coupons = []
    for lat in (factories_stores.TAIPEI[0], factories_stores.TAIPEI[0], 25.05):
        shopper = make_shopper()
        resp = client.post(
            f"/v1/coupon-campaigns/{c.id}/claim",
            json={"lat": lat, "lng": factories_stores.TAIPEI[1]},
            headers=shopper.headers,
        )
        coupons.append(resp.get_json())
    redeem = client.post(
        f"/v1/admin/stores/{b.id}/coupons:redeem",
        json={"code": coupons[0]["code"], "basket_cents": 10000},
        headers=owner.headers,
    )
    assert redeem.status_code == 200, redeem.get_json()
    session.execute(
        text("UPDATE coupons SET expires_at = now() - interval '1 second' WHERE id = :id"),
        {"id": coupons[1]["id"]},
    )
    session.commit()
    stats = client.get(f"{BASE}/{c.id}/stats", headers=owner.headers).get_json()
    assert {k: stats[k] for k in ("claimed", "redeemed", "expired", "unused", "remaining")} == {
        "claimed": 3,
        "redeemed": 1,
        "expired": 1,
        "unused": 1,
        "remaining": 7,
    }
    assert stats["redemption_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert stats["discount_cents"] == 5000
    assert stats["per_store"] == [
        {"store_id": a.id, "claimed": 2, "redeemed": 0},
        {"store_id": b.id, "claimed": 1, "redeemed": 1},
    ]
