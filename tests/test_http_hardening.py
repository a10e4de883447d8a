"""Protective response headers and CORS (denied unless an origin is configured)."""

from app import create_app
from tests.conftest import app_config

ORIGIN = "https://app.example.com"


def test_every_answer_forbids_sniffing_and_referrers(client):
    for path in ("/healthz", "/v1/stores/nearby?lat=1&lng=1", "/v1/nowhere"):
        resp = client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in resp.headers


def test_auth_profile_and_wallet_answers_are_never_cached(client, shopper):
    login = client.post("/v1/auth/login", json={"email": shopper.email, "password": "x" * 12})
    assert login.headers["Cache-Control"] == "no-store"
    for path in ("/v1/me", "/v1/wallet/coupons", "/v1/reservations"):
        assert client.get(path, headers=shopper.headers).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/v1/stores/nearby?lat=1&lng=1").headers.get(
        "Cache-Control", ""
    )


def test_hsts_when_configured():
    resp = create_app(app_config(HSTS_SECONDS=31536000)).test_client().get("/healthz")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_cors_is_denied_by_default(client):
    resp = client.get("/v1/stores/nearby?lat=1&lng=1", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in resp.headers
    preflight = client.options(
        "/v1/reservations",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins():
    client = create_app(app_config(CORS_ORIGINS=[ORIGIN])).test_client()
    preflight = client.options(
        "/v1/reservations",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    read = client.get("/v1/stores/nearby?lat=1&lng=1", headers={"Origin": ORIGIN})
    assert read.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in read.headers["Access-Control-Expose-Headers"]
    other = client.get("/v1/stores/nearby?lat=1&lng=1", headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
