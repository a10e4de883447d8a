"""`flask seed` opens coupon campaigns: every kind, a geofence and a daily quota in the demo, all
within the CHECKs and with untouched counters, and shoppers find them nearby."""

from sqlalchemy import text

from app.coupons.models import KINDS


def test_the_demo_world_has_open_campaigns_shoppers_find_nearby(app, session, client):
    result = app.test_cli_runner().invoke(args=["seed", "--demo", "--reset"])
    assert result.exit_code == 0, result.output

    merchants, kinds, fenced, quota, counters = session.execute(
        text(
            "SELECT count(DISTINCT merchant_id), array_agg(DISTINCT kind),"
            " count(*) FILTER (WHERE geofence_radius_m IS NOT NULL),"
            " count(*) FILTER (WHERE daily_quota_per_store IS NOT NULL),"
            " sum(claimed_qty) + sum(spent_cents)"
            " FROM coupon_campaigns WHERE state = 'active'"
            " AND claim_starts_at < now() AND claim_ends_at > now()"
        )
    ).one()
    assert merchants == 4 and set(kinds) == set(KINDS) and fenced and quota
    assert counters == 0
    assert session.scalar(text("SELECT count(*) FROM coupons")) == 0

    lat, lng = session.execute(
        text("SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM stores ORDER BY id")
    ).first()
    resp = client.get(f"/v1/coupons/nearby?lat={lat}&lng={lng}")
    assert resp.status_code == 200
    assert {i["campaign"]["kind"] for i in resp.json["items"]} == set(KINDS)
