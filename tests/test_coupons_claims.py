"""Shopper side: coupons nearby, claims (limits, reasons, geofence, retries) and the wallet."""

from datetime import datetime, timedelta

import pytest
from geographiclib.geodesic import Geodesic
from sqlalchemy import select, text

from app.coupons.models import ACCURACY_CAP_M, Coupon, CouponCampaign
from tests import factories, factories_stores
from tests import factories_coupons as fc

LAT, LNG = factories_stores.TAIPEI


def claim(client, caller, campaign_id, headers=None, **body):
    return client.post(
        f"/v1/coupon-campaigns/{campaign_id}/claim",
        json=body,
        headers={**caller.headers, **(headers or {})},
    )


def claimed_qty(session, campaign_id: int) -> int:
    return session.scalar(
        select(CouponCampaign.claimed_qty).where(CouponCampaign.id == campaign_id)
    )


def offset(lat, lng, metres, bearing=37.0):
    """The point `metres` away along `bearing`, on the WGS84 ellipsoid (independent of PostGIS)."""
    point = Geodesic.WGS84.Direct(lat, lng, bearing, metres)
    return point["lat2"], point["lon2"]


# --- nearby ------------------------------------------------------------------------------------


def test_nearby_lists_claimable_campaigns_nearest_store_first(client, session, merchant, shopper):
    near = factories_stores.store(session, merchant=merchant, name="Near")
    far_lat = offset(LAT, LNG, 900, bearing=0)[0]
    far = factories_stores.store(session, merchant=merchant, name="Far", lat=far_lat)
    here = offset(LAT, LNG, 120, bearing=180)
    everywhere = fc.campaign(session, merchant=merchant, title="Everywhere")
    only_far = fc.campaign(session, merchant=merchant, title="Far only", store_ids=[far.id])
    fc.campaign(
        session, merchant=merchant, title="Fenced far", store_ids=[far.id], geofence_radius_m=300
    )
    fc.campaign(session, merchant=merchant, state="paused")
    fc.campaign(session, merchant=merchant, claim_starts_at=fc.now() + timedelta(hours=1))
    sold_out = fc.campaign(session, merchant=merchant, total_qty=1)
    fc.campaign(session, merchant=merchant, valid_days_after_claim=None, valid_to=fc.now())
    session.commit()
    assert claim(client, shopper, sold_out.id).status_code == 201

    resp = client.get(f"/v1/coupons/nearby?lat={here[0]}&lng={here[1]}&radius=2000")
    assert resp.status_code == 200, resp.get_json()
    items = resp.get_json()["items"]
    assert [(i["campaign"]["id"], i["store"]["id"]) for i in items] == [
        (everywhere.id, near.id),
        (only_far.id, far.id),
    ]
    assert items[0]["distance_m"] == 120
    assert items[0]["campaign"]["remaining_qty"] == 100
    _, far_m = [i["distance_m"] for i in items]
    assert far_m == pytest.approx(Geodesic.WGS84.Inverse(*here, far_lat, LNG)["s12"], abs=1)


def test_a_campaign_in_coupons_nearby_reads_as_on_its_own_page(client, session, merchant, shopper):
    store = factories_stores.store(session, merchant=merchant)
    campaign = fc.campaign(
        session,
        merchant=merchant,
        store_ids=[store.id],
        geofence_radius_m=300,
        total_qty=7,
        per_user_limit=2,
    )
    session.commit()
    assert claim(client, shopper, campaign.id, lat=LAT, lng=LNG).status_code == 201
    for caller in (None, shopper):
        headers = caller.headers if caller else {}
        nearby = client.get(f"/v1/coupons/nearby?lat={LAT}&lng={LNG}", headers=headers)
        page = client.get(f"/v1/coupon-campaigns/{campaign.id}", headers=headers).get_json()
        (item,) = nearby.get_json()["items"]
        page.pop("my_claims")
        assert item["campaign"] == page  # the same fields, values and formats
        assert item["campaign"]["remaining_qty"] == 6


def test_nearby_pages_and_hides_what_the_shopper_cannot_claim_anymore(
    client, session, merchant, shopper
):
    factories_stores.store(session, merchant=merchant)
    ids = [fc.campaign(session, merchant=merchant).id for _ in range(3)]
    session.commit()
    assert claim(client, shopper, ids[0]).status_code == 201
    first = client.get(f"/v1/coupons/nearby?lat={LAT}&lng={LNG}&limit=1", headers=shopper.headers)
    cursor = first.get_json()["next_cursor"]
    second = client.get(
        f"/v1/coupons/nearby?lat={LAT}&lng={LNG}&limit=1&cursor={cursor}", headers=shopper.headers
    ).get_json()
    seen = [i["campaign"]["id"] for i in first.get_json()["items"] + second["items"]]
    assert seen == ids[1:]
    assert second["next_cursor"] is None
    anonymous = client.get(f"/v1/coupons/nearby?lat={LAT}&lng={LNG}").get_json()
    assert len(anonymous["items"]) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lng=121.5", "lat"),
        ("lat=91&lng=121.5", "lat"),
        ("lat=25&lng=-180.5", "lng"),
        ("lat=25&lng=121&radius=0", "radius"),
        ("lat=25&lng=121&radius=50001", "radius"),
        ("lat=25&lng=121&limit=101", "limit"),
        ("lat=25&lng=121&limit=0", "limit"),
        ("lat=nan&lng=121", "lat"),
        ("lat=25&lng=121&cursor=forged", "cursor"),
        ("lat=25&lng=121&accuracy_m=-1", "accuracy_m"),
    ],
)
def test_nearby_bad_input_is_422(client, query, field):
    resp = client.get(f"/v1/coupons/nearby?{query}")
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]


def test_public_campaign_shows_my_claims_when_signed_in(client, session, merchant, shopper):
    c = fc.campaign(session, merchant=merchant, per_user_limit=3)
    session.commit()
    claim(client, shopper, c.id)
    mine = client.get(f"/v1/coupon-campaigns/{c.id}", headers=shopper.headers).get_json()
    assert (mine["my_claims"], mine["remaining_qty"]) == (1, 99)
    assert client.get(f"/v1/coupon-campaigns/{c.id}").get_json()["my_claims"] is None
    assert client.get("/v1/coupon-campaigns/999999").status_code == 404


# --- claims ------------------------------------------------------------------------------------


def test_claim_puts_a_coupon_with_a_code_in_the_wallet(client, session, merchant, shopper):
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    resp = claim(client, shopper, c.id)
    assert resp.status_code == 201, resp.get_json()
    coupon = resp.get_json()
    assert coupon["state"] == "unused" and coupon["amount_cents"] == 5000
    assert len(coupon["code"]) == 19 and coupon["campaign"]["id"] == c.id
    claimed, expires = (datetime.fromisoformat(coupon[k]) for k in ("claimed_at", "expires_at"))
    assert expires - claimed == timedelta(days=30)
    assert claimed_qty(session, c.id) == 1


def test_absolute_validity_expires_at_valid_to(client, session, merchant, shopper):
    valid_to = fc.now() + timedelta(days=3)
    c = fc.campaign(session, merchant=merchant, valid_days_after_claim=None, valid_to=valid_to)
    session.commit()
    coupon = claim(client, shopper, c.id).get_json()
    assert datetime.fromisoformat(coupon["expires_at"]) == valid_to


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"total_qty": 1}, "coupons.sold_out"),
        ({"claim_starts_at": fc.now() + timedelta(days=1)}, "coupons.not_started"),
        (
            {"claim_starts_at": fc.now() - timedelta(days=2), "claim_ends_at": fc.now()},
            "coupons.ended",
        ),
        ({"state": "ended"}, "coupons.ended"),
        ({"state": "paused"}, "coupons.paused"),
        (
            {
                "kind": "red_packet",
                "value_cents": None,
                "red_packet_min_cents": 50,
                "red_packet_max_cents": 50,
                "budget_cents": 50,
            },
            "coupons.sold_out",
        ),
    ],
)
def test_claims_that_cannot_be_served_say_why(
    client, session, merchant, make_shopper, fields, reason
):
    c = fc.campaign(session, merchant=merchant, **fields)
    session.commit()
    if reason == "coupons.sold_out":  # someone else took the last one
        assert claim(client, make_shopper(), c.id).status_code == 201
    shopper = make_shopper()
    resp = claim(client, shopper, c.id)
    assert (resp.status_code, resp.get_json()["type"]) == (409, reason)
    if reason == "coupons.not_started":
        assert resp.get_json()["starts_at"]
    assert session.scalar(select(Coupon.id).where(Coupon.user_id == shopper.id)) is None


def test_per_user_limit(client, session, merchant, shopper, make_shopper):
    c = fc.campaign(session, merchant=merchant, per_user_limit=2)
    session.commit()
    assert [claim(client, shopper, c.id).status_code for _ in range(2)] == [201, 201]
    resp = claim(client, shopper, c.id)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.limit_reached")
    assert claim(client, make_shopper(), c.id).status_code == 201
    assert claimed_qty(session, c.id) == 3


def test_unknown_campaign_is_404_and_claims_need_sign_in(client, session, merchant, shopper):
    assert claim(client, shopper, 424242).status_code == 404
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    assert client.post(f"/v1/coupon-campaigns/{c.id}/claim", json={}).status_code == 401


@pytest.mark.parametrize("radius", [50, 300, 5000])
def test_geofence_boundary_against_geographiclib(client, session, merchant, make_shopper, radius):
    shop = factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, geofence_radius_m=radius, total_qty=10)
    session.commit()
    inside = offset(LAT, LNG, radius - 0.5)
    outside = offset(LAT, LNG, radius + 0.5)
    resp = claim(client, make_shopper(), c.id, lat=inside[0], lng=inside[1])
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["claim_store_id"] == shop.id
    resp = claim(client, make_shopper(), c.id, lat=outside[0], lng=outside[1])
    body = resp.get_json()
    assert (resp.status_code, body["type"]) == (409, "coupons.too_far")
    assert body["distance_m"] == round(radius + 0.5) and body["radius_m"] == radius


def test_accuracy_widens_the_fence_only_up_to_the_cap(client, session, merchant, make_shopper):
    factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, geofence_radius_m=200, total_qty=10)
    session.commit()
    near_edge = offset(LAT, LNG, 200 + ACCURACY_CAP_M - 5)
    past_cap = offset(LAT, LNG, 200 + ACCURACY_CAP_M + 5)
    assert (
        claim(client, make_shopper(), c.id, lat=near_edge[0], lng=near_edge[1]).status_code == 409
    )
    ok = claim(client, make_shopper(), c.id, lat=near_edge[0], lng=near_edge[1], accuracy_m=9000)
    assert ok.status_code == 201
    far = claim(client, make_shopper(), c.id, lat=past_cap[0], lng=past_cap[1], accuracy_m=9000)
    assert far.get_json()["type"] == "coupons.too_far"


def test_fence_counts_only_the_campaigns_active_stores(client, session, merchant, shopper):
    listed = factories_stores.store(
        session, merchant=merchant, lat=offset(LAT, LNG, 2000, bearing=0)[0]
    )
    factories_stores.store(session, merchant=merchant)  # right here, but not in the campaign
    factories_stores.store(
        session, merchant=factories.merchant(session)
    )  # right here, another merchant
    closed = factories_stores.store(session, merchant=merchant, is_active=False)
    c = fc.campaign(
        session, merchant=merchant, store_ids=[listed.id, closed.id], geofence_radius_m=100
    )
    session.commit()
    resp = claim(client, shopper, c.id, lat=LAT, lng=LNG)
    assert resp.get_json()["type"] == "coupons.too_far"
    assert resp.get_json()["distance_m"] == pytest.approx(2000, abs=1)


def test_quota_without_any_active_store_fails_closed(client, session, merchant, shopper):
    factories_stores.store(session, merchant=merchant, is_active=False)
    c = fc.campaign(session, merchant=merchant, daily_quota_per_store=5)
    session.commit()
    resp = claim(client, shopper, c.id, lat=LAT, lng=LNG)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.too_far")
    assert resp.get_json().get("distance_m") is None


def test_an_ended_campaign_says_ended_even_from_far_away(client, session, merchant, shopper):
    factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, geofence_radius_m=100, state="ended")
    session.commit()
    resp = claim(client, shopper, c.id, lat=LAT + 1, lng=LNG)
    assert resp.get_json()["type"] == "coupons.ended"


def test_geofenced_claim_without_coordinates_is_422(client, session, merchant, shopper):
    factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, geofence_radius_m=300)
    session.commit()
    resp = claim(client, shopper, c.id)
    assert resp.status_code == 422 and "lat" in resp.get_json()["errors"]
    resp = claim(client, shopper, c.id, lat=LAT)
    assert resp.status_code == 422 and "lat" in resp.get_json()["errors"]
    for body in ({"lat": 90.5, "lng": LNG}, {"lat": LAT, "lng": "east"}, {"accuracy_m": 10_001}):
        assert claim(client, shopper, c.id, **body).status_code == 422
    assert claimed_qty(session, c.id) == 0


def test_daily_quota_per_store(client, session, merchant, make_shopper):
    factories_stores.store(session, merchant=merchant)
    other_lat = offset(LAT, LNG, 3000, bearing=0)[0]
    other = factories_stores.store(session, merchant=merchant, lat=other_lat)
    c = fc.campaign(session, merchant=merchant, daily_quota_per_store=1)
    session.commit()
    assert claim(client, make_shopper(), c.id, lat=LAT, lng=LNG).status_code == 201
    resp = claim(client, make_shopper(), c.id, lat=LAT, lng=LNG)
    assert (resp.status_code, resp.get_json()["type"]) == (409, "coupons.daily_quota_reached")
    there = claim(client, make_shopper(), c.id, lat=other_lat, lng=LNG)
    assert there.status_code == 201 and there.get_json()["claim_store_id"] == other.id


def test_nearby_hides_a_store_whose_daily_quota_is_used_up(client, session, merchant, shopper):
    here = factories_stores.store(session, merchant=merchant)
    c = fc.campaign(session, merchant=merchant, daily_quota_per_store=1)
    session.commit()
    url = f"/v1/coupons/nearby?lat={LAT}&lng={LNG}"
    assert [i["store"]["id"] for i in client.get(url).get_json()["items"]] == [here.id]
    assert claim(client, shopper, c.id, lat=LAT, lng=LNG).status_code == 201
    assert client.get(url).get_json()["items"] == []


def test_red_packet_draws_within_its_range(client, session, merchant, make_shopper):
    c = fc.campaign(
        session,
        merchant=merchant,
        kind="red_packet",
        value_cents=None,
        red_packet_min_cents=100,
        red_packet_max_cents=900,
        budget_cents=100_000,
    )
    session.commit()
    amounts = [claim(client, make_shopper(), c.id).get_json()["amount_cents"] for _ in range(5)]
    assert all(100 <= a <= 900 for a in amounts)
    spent = session.scalar(select(CouponCampaign.spent_cents).where(CouponCampaign.id == c.id))
    assert spent == sum(amounts)


def test_same_idempotency_key_replays_the_first_claim(client, session, merchant, shopper):
    c = fc.campaign(session, merchant=merchant, per_user_limit=5)
    session.commit()
    key = {"Idempotency-Key": "claim-1"}
    first = claim(client, shopper, c.id, headers=key)
    again = claim(client, shopper, c.id, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert claimed_qty(session, c.id) == 1
    changed = claim(client, shopper, c.id, headers=key, lat=LAT, lng=LNG)
    assert changed.status_code == 422
    other = fc.campaign(session, merchant=merchant)
    session.commit()
    assert claim(client, shopper, other.id, headers=key).status_code == 422


def test_claims_are_rate_limited_per_user(app, client, session, merchant, shopper, monkeypatch):
    monkeypatch.setitem(app.config, "COUPON_CLAIM_RATE_LIMIT", "2/minute")
    c = fc.campaign(session, merchant=merchant, per_user_limit=5)
    session.commit()
    assert [claim(client, shopper, c.id).status_code for _ in range(2)] == [201, 201]
    resp = claim(client, shopper, c.id)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert resp.get_json()["type"] == "rate_limited"


def test_claims_are_rate_limited_per_address(
    app, client, session, merchant, make_shopper, monkeypatch
):
    monkeypatch.setitem(app.config, "COUPON_CLAIM_IP_RATE_LIMIT", "2/minute")
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    codes = [claim(client, make_shopper(), c.id).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


# --- wallet ------------------------------------------------------------------------------------


def test_wallet_lists_pages_and_filters_by_state_exactly_now(client, session, merchant, shopper):
    campaigns = [fc.campaign(session, merchant=merchant) for _ in range(3)]
    session.commit()
    ids = [claim(client, shopper, c.id).get_json()["id"] for c in campaigns]
    session.execute(
        text("UPDATE coupons SET expires_at = now() - interval '1 ms' WHERE id = :id"),
        {"id": ids[0]},
    )
    session.commit()

    def wallet(query=""):
        return client.get(f"/v1/wallet/coupons?{query}", headers=shopper.headers).get_json()

    everything = wallet("limit=2")
    rest = wallet(f"limit=2&cursor={everything['next_cursor']}")
    assert [i["id"] for i in everything["items"] + rest["items"]] == ids[::-1]
    assert "code" not in everything["items"][0]
    assert [i["id"] for i in wallet("state=unused")["items"]] == ids[:0:-1]
    expired = wallet("state=expired")["items"]
    assert [(i["id"], i["state"]) for i in expired] == [(ids[0], "expired")]
    assert wallet("state=used")["items"] == []
    bad = client.get("/v1/wallet/coupons?state=lost", headers=shopper.headers)
    assert bad.status_code == 422


def test_wallet_coupon_has_its_code_and_is_private(
    client, session, merchant, shopper, make_shopper
):
    c = fc.campaign(session, merchant=merchant)
    session.commit()
    coupon = claim(client, shopper, c.id).get_json()
    mine = client.get(f"/v1/wallet/coupons/{coupon['id']}", headers=shopper.headers)
    assert mine.status_code == 200 and mine.get_json()["code"] == coupon["code"]
    stranger = make_shopper()
    resp = client.get(f"/v1/wallet/coupons/{coupon['id']}", headers=stranger.headers)
    assert (resp.status_code, resp.get_json()["type"]) == (404, "coupons.not_found")
    assert client.get(f"/v1/wallet/coupons/{coupon['id']}").status_code == 401
    assert client.get("/v1/wallet/coupons", headers=stranger.headers).get_json()["items"] == []


def test_tiny_coordinates_are_points_not_errors(client):
    """Denormal floats are valid coordinates: PostGIS gets them in fixed-point digits."""
    resp = client.get("/v1/coupons/nearby", query_string={"lat": -2.3e-305, "lng": -6.07e-30})
    assert resp.status_code == 200 and resp.get_json()["items"] == []
