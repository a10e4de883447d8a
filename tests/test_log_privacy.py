"""Logs never hold a token, a password, a pickup code, a coupon code or a raw position: the
test reads every line logged while a shopper and staff do all of those things."""

import logging

import pytest
import sqlalchemy as sa

from app.errors import handle_unexpected
from app.extensions import db
from app.request_log import JsonFormatter
from tests import factories_coupons as coupons
from tests import factories_inventory as inv
from tests import factories_stores

PASSWORD = "correct horse battery staple"
LAT, LNG = "25.0331234", "121.5654321"


@pytest.fixture
def log_lines(app, monkeypatch):
    """Every record of every logger, as the JSON line it would be written as."""
    monkeypatch.setitem(app.config, "ACCESS_LOG", True)
    lines: list[str] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))
    loggers = [logging.getLogger(), logging.getLogger("shopnear")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield lines
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_no_secret_and_no_raw_position_reaches_the_logs(
    client, session, merchant, owner, log_lines
):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=5)
    campaign = coupons.campaign(session, merchant=merchant)
    session.commit()
    login = {"email": "private@example.com", "password": PASSWORD}
    client.post("/v1/auth/register", json={**login, "display_name": "P"})
    client.post("/v1/auth/login", json={**login, "password": "wrong " + PASSWORD})
    tokens = client.post("/v1/auth/login", json=login).get_json()
    shopper = {"Authorization": f"Bearer {tokens['access_token']}"}
    client.get(f"/v1/stores/nearby?lat={LAT}&lng={LNG}", headers=shopper)
    client.get(f"/v1/skus/{sku.id}/nearby?lat={LAT}&lng={LNG}", headers=shopper)
    client.get(f"/v1/coupons/nearby?lat={LAT}&lng={LNG}", headers=shopper)
    body = {"store_id": store.id, "items": [{"sku_id": sku.id, "qty": 1}]}
    created = client.post("/v1/reservations", json=body, headers=shopper).get_json()
    path = f"/v1/admin/stores/{store.id}/reservations/{created['id']}"
    client.post(path + "/ready", headers=owner.headers)
    wrong_code = f"{(int(created['pickup_code']) + 1) % 10**6:06d}"
    client.post(path + "/pickup", json={"code": wrong_code}, headers=owner.headers)
    client.post(path + "/pickup", json={"code": created["pickup_code"]}, headers=owner.headers)
    claim = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={"lat": LAT, "lng": LNG}, headers=shopper
    ).get_json()
    client.post(
        f"/v1/admin/stores/{store.id}/coupons:redeem",
        json={"code": claim["code"], "basket_cents": 90000},
        headers=owner.headers,
    )
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    secrets = {
        "password": PASSWORD,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "staff token": owner.tokens["access_token"],
        "pickup code": created["pickup_code"],
        "wrong pickup code": wrong_code,
        "coupon code": claim["code"],
        "latitude": LAT[:7],
        "longitude": LNG[:8],
    }
    text = "\n".join(log_lines)
    assert len(log_lines) >= 12  # the access log saw the requests
    assert [name for name, value in secrets.items() if value in text] == []


def test_an_unexpected_database_error_is_logged_without_the_values_it_quotes(app, log_lines):
    secret = "-".join(("SECRET", "CODE", "42"))  # the trace quotes source lines, not values
    with app.app_context(), pytest.raises(sa.exc.DBAPIError) as failure:
        db.session.execute(sa.text("SELECT CAST(:code AS integer)"), {"code": secret})
    with app.test_request_context("/v1/anything"):
        _, status, _ = handle_unexpected(failure.value)
    text = "\n".join(log_lines)
    assert status == 500
    assert "SELECT CAST(%(code)s AS integer)" in text and "InvalidTextRepresentation" in text
    assert secret not in text
