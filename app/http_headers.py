"""Response headers that protect clients: no sniffing, no referrer, no caching of secrets, HSTS
when configured, and CORS only for the origins the configuration allows (none by default)."""

from flask import Flask, current_app, request
from flask_cors import CORS

# Answers that carry tokens, a profile, pickup codes or coupon codes: never stored by a cache.
PRIVATE_PREFIXES = ("/v1/auth/", "/v1/me/", "/v1/wallet/", "/v1/reservations")
CORS_ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-None-Match",
    "X-Merchant-ID",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "X-Request-ID",
    "X-RateLimit-Remaining",
]


def _protect(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path == "/v1/me" or request.path.startswith(PRIVATE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    hsts = current_app.config["HSTS_SECONDS"]
    if hsts:
        response.headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
    return response


def register_http_headers(app: Flask) -> None:
    """Protective headers on every answer; CORS for CORS_ORIGINS only."""
    app.after_request(_protect)
    origins = app.config["CORS_ORIGINS"]
    if origins:
        # Bearer tokens, not cookies: no credentials mode.
        CORS(
            app,
            resources={r"/v1/*": {"origins": origins}},
            allow_headers=CORS_ALLOWED_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            supports_credentials=False,
            max_age=600,
        )
