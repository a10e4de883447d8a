"""Abuse limits (OWASP API4): scraped shopper reads per IP, uploads per user, wrong pickup codes
per store. Counters live in Redis when REDIS_URL is set, so every worker and host shares them;
while Redis is unreachable each process counts on its own (docs/RELIABILITY.md)."""

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.accounts.permissions import per_user_key
from app.extensions import limiter


def _config(name: str):
    return lambda: current_app.config[name]


# One bucket for nearby, the map, stock near me and the feed: a scraper walks all of them.
shopper_reads = limiter.shared_limit(_config("SHOPPER_READ_RATE_LIMIT"), scope="shopper-reads")
# A view class carrying one of these limits documents its 429 on each method (TOO_MANY,
# app/blueprint.py Blueprint).
shopper_reads.TOO_MANY = "Too many reads from this address (shared by nearby, map, stock and feed)"
uploads = limiter.limit(_config("UPLOAD_RATE_LIMIT"), key_func=per_user_key("upload"))
uploads.TOO_MANY = "Too many uploads by this account"


def _store_key() -> str:
    return f"pickup-codes:store:{request.view_args.get('store_id')}"


def _wrong_code(response) -> bool:
    if response.status_code != 422 or not response.is_json:
        return False
    return (response.get_json(silent=True) or {}).get("type") == "pickup.wrong_code"


# Only wrong codes count; past the limit every code tried at the store waits (429).
wrong_pickup_codes = limiter.limit(
    _config("PICKUP_CODE_STORE_RATE_LIMIT"), key_func=_store_key, deduct_when=_wrong_code
)
wrong_pickup_codes.TOO_MANY = "Too many wrong pickup codes at this store: every code waits"


def register_client_address(app: Flask) -> None:
    """Behind PROXY_HOPS trusted proxies, the client's address is taken from X-Forwarded-For
    (per-IP limits would otherwise count the load balancer)."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
