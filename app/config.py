"""Settings from environment variables, with safe local defaults."""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

from app.replicas import bind_keys


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def sqlalchemy_url(url: str) -> str:
    """A libpq-style URL for SQLAlchemy's psycopg2 driver (2.1 defaults to psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class Config:
    """Read once at app creation; tests pass overrides to create_app."""

    def __init__(self, **overrides):
        env = os.environ.get("SHOPNEAR_ENV", "development")
        self.ENV = env
        self.SQLALCHEMY_DATABASE_URI = sqlalchemy_url(
            os.environ.get(
                "DATABASE_URL", "postgresql://shopnear@/shopnear?host=var/run&port=54329"
            )
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            # A steady pool per worker: a new connection pays ~15 ms to load PostGIS (PERF-ANCHOR).
            "pool_size": _int("DB_POOL_SIZE", 5),
            "max_overflow": _int("DB_MAX_OVERFLOW", 5),
            "pool_recycle": 3600,
        }
        # Faults (docs/RELIABILITY.md): a query or a lock wait ends as a 503, never a hang; a full
        # pool answers 503 after DB_POOL_TIMEOUT seconds, not after gunicorn's timeout.
        self.DB_STATEMENT_TIMEOUT_MS = _int("DB_STATEMENT_TIMEOUT_MS", 5000)
        self.DB_LOCK_TIMEOUT_MS = _int("DB_LOCK_TIMEOUT_MS", 2000)
        self.DB_CONNECT_TIMEOUT = _int("DB_CONNECT_TIMEOUT", 2)
        self.DB_POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "2"))
        # One round trip per checkout (~25 µs) so a restarted database costs no failed request.
        self.DB_POOL_PRE_PING = os.environ.get("DB_POOL_PRE_PING", "1") != "0"
        self.DB_RETRY_AFTER_SECONDS = _int("DB_RETRY_AFTER_SECONDS", 2)
        # Streaming replicas for the shopper reads that may be a moment stale (app/replicas.py).
        replica_urls = [u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",")]
        self.SQLALCHEMY_BINDS = {
            key: {
                "url": sqlalchemy_url(url),
                **self.SQLALCHEMY_ENGINE_OPTIONS,
                # A replica that does not answer is skipped, not waited for.
                "connect_args": {"connect_timeout": 2},
            }
            for key, url in bind_keys([u for u in replica_urls if u]).items()
        }
        self.REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", 5))
        self.REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", 1))
        # Hot reads are prepared once per pooled connection (app/prepared.py); 0 behind PgBouncer.
        self.DB_PREPARED_STATEMENTS = os.environ.get("DB_PREPARED_STATEMENTS", "1") != "0"
        self.SECRET_KEY = (
            overrides.pop("SECRET_KEY", None)
            or os.environ.get("SECRET_KEY")
            or self._dev_secret(env)
        )
        self.JWT_SECRET_KEY = self.SECRET_KEY
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=_int("ACCESS_TOKEN_MINUTES", 15))
        self.REFRESH_TOKEN_DAYS = _int("REFRESH_TOKEN_DAYS", 30)
        self.JWT_ERROR_MESSAGE_KEY = "detail"
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "shopnear")
        # The shared read cache (app/cache.py); only with REDIS_URL.
        self.CACHE_TTL_SECONDS = float(os.environ.get("CACHE_TTL_SECONDS", 30))
        self.CACHE_RETRY_SECONDS = float(os.environ.get("CACHE_RETRY_SECONDS", 5))
        self.RATELIMIT_HEADERS_ENABLED = True
        # Flask-Limiter would put its window's reset in Retry-After on every answer, a 503's
        # too; Retry-After is ours (429 and 503 problems), the limiter's goes beside it.
        self.RATELIMIT_HEADER_RETRY_AFTER = "X-RateLimit-Retry-After"
        # Redis down: count in each process's memory instead (no 500s, limits per worker).
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = bool(self.REDIS_URL)
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
        self.SHOPPER_READ_RATE_LIMIT = os.environ.get("SHOPPER_READ_RATE_LIMIT", "300/minute")
        self.UPLOAD_RATE_LIMIT = os.environ.get("UPLOAD_RATE_LIMIT", "30/hour")
        self.PICKUP_CODE_STORE_RATE_LIMIT = os.environ.get(
            "PICKUP_CODE_STORE_RATE_LIMIT", "30/hour"
        )
        self.PROXY_HOPS = _int("PROXY_HOPS", 0)
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10/minute")
        # Orders (app/orders): an unpaid online order lets its hold go after this long.
        self.ORDER_PAYMENT_MINUTES = _int("ORDER_PAYMENT_MINUTES", 15)
        # The payment provider (app/payments): Stripe's API at a configurable base URL.
        self.STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
        self.STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "sk_test_local")
        self.STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local")
        self.STRIPE_WEBHOOK_TOLERANCE_SECONDS = _int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
        self.PAYMENT_TIMEOUT_SECONDS = float(os.environ.get("PAYMENT_TIMEOUT_SECONDS", "10"))
        # Dispatch (ship_from_store): how far a store may be, how long it has to accept, to ship.
        self.DISPATCH_RADIUS_M = _int("DISPATCH_RADIUS_M", 50_000)
        self.DISPATCH_ACCEPT_MINUTES = _int("DISPATCH_ACCEPT_MINUTES", 15)
        self.DISPATCH_SHIP_HOURS = _int("DISPATCH_SHIP_HOURS", 48)
        self.ORDER_RETURN_DAYS = _int("ORDER_RETURN_DAYS", 30)
        self.ORDER_POINT_VALUE_CENTS = _int("ORDER_POINT_VALUE_CENTS", 1)
        self.TRANSFER_SEND_HOURS = _int("TRANSFER_SEND_HOURS", 48)
        self.ORDER_REFUND_MAX_ATTEMPTS = _int("ORDER_REFUND_MAX_ATTEMPTS", 10)
        self.PICKUP_MAX_ACTIVE_RESERVATIONS = _int("PICKUP_MAX_ACTIVE_RESERVATIONS", 5)
        self.PICKUP_MAX_UNITS_PER_SKU = _int("PICKUP_MAX_UNITS_PER_SKU", 10)
        self.RESERVATION_RATE_LIMIT = os.environ.get("RESERVATION_RATE_LIMIT", "20/minute")
        self.COUPON_CLAIM_RATE_LIMIT = os.environ.get("COUPON_CLAIM_RATE_LIMIT", "20/minute")
        self.COUPON_CLAIM_IP_RATE_LIMIT = os.environ.get("COUPON_CLAIM_IP_RATE_LIMIT", "120/minute")
        # Pickup notifications and no-shows (issue 14).
        self.PICKUP_EXPIRY_WARNING_MINUTES = _int("PICKUP_EXPIRY_WARNING_MINUTES", 30)
        self.PICKUP_PASS_SECONDS = _int("PICKUP_PASS_SECONDS", 60)
        self.PICKUP_NO_SHOW_LIMIT = _int("PICKUP_NO_SHOW_LIMIT", 3)
        self.PICKUP_NO_SHOW_DAYS = _int("PICKUP_NO_SHOW_DAYS", 30)
        self.PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS = _int("PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS", 1)
        self.COUPON_EXPIRY_WARNING_HOURS = _int("COUPON_EXPIRY_WARNING_HOURS", 24)
        # Push: without a service-account key file, pushes are skipped and the inbox still works.
        self.PUSH_FCM_CREDENTIALS_FILE = os.environ.get("PUSH_FCM_CREDENTIALS_FILE", "")
        self.PUSH_FCM_PROJECT_ID = os.environ.get("PUSH_FCM_PROJECT_ID", "")
        self.PUSH_FCM_ENDPOINT = os.environ.get("PUSH_FCM_ENDPOINT", "https://fcm.googleapis.com")
        self.PUSH_TIMEOUT_SECONDS = _int("PUSH_TIMEOUT_SECONDS", 10)
        self.PUSH_MAX_ATTEMPTS = _int("PUSH_MAX_ATTEMPTS", 5)
        self.PUSH_DEVICE_MAX_AGE_DAYS = _int("PUSH_DEVICE_MAX_AGE_DAYS", 60)
        self.MEMBER_CODE_SECONDS = _int("MEMBER_CODE_SECONDS", 60)
        self.MEMBER_RESOLVE_RATE_LIMIT = os.environ.get("MEMBER_RESOLVE_RATE_LIMIT", "60/minute")
        self.SHAKE_RATE_LIMIT = os.environ.get("SHAKE_RATE_LIMIT", "1 per 5 seconds;100 per day")
        self.SHAKE_IP_RATE_LIMIT = os.environ.get("SHAKE_IP_RATE_LIMIT", "120/minute")
        self.IDEMPOTENCY_KEY_HOURS = _int("IDEMPOTENCY_KEY_HOURS", 24)
        # Webhooks (app/events): loopback receivers are for development and tests only.
        self.WEBHOOK_ALLOW_LOOPBACK = (
            os.environ.get("WEBHOOK_ALLOW_LOOPBACK", "0" if env == "production" else "1") != "0"
        )
        self.WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT", 5))
        self.WEBHOOK_READ_TIMEOUT = float(os.environ.get("WEBHOOK_READ_TIMEOUT", 10))
        self.WEBHOOK_RETRY_HOURS = _int("WEBHOOK_RETRY_HOURS", 24)
        self.WEBHOOK_DISABLE_AFTER = _int("WEBHOOK_DISABLE_AFTER", 20)
        self.EVENTS_RETENTION_DAYS = _int("EVENTS_RETENTION_DAYS", 30)
        # Bench only (`scripts/bench` "without outbox" run): no events are written at all.
        self.BENCH_WITHOUT_OUTBOX = os.environ.get("BENCH_WITHOUT_OUTBOX", "0") == "1"
        if self.BENCH_WITHOUT_OUTBOX:  # the stock triggers read it (migration 0008)
            self.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"options": "-c shopnear.outbox=off"}
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
        self.ACCESS_LOG = os.environ.get("ACCESS_LOG", "1") != "0"
        self.MAX_CONTENT_LENGTH = _int("MAX_JSON_BYTES", 1024 * 1024)
        # Image uploads (POST /v1/media) raise the body limit for that view only.
        self.MEDIA_MAX_BYTES = _int("MEDIA_MAX_BYTES", 10 * 1024 * 1024)
        self.MEDIA_ROOT = os.environ.get("MEDIA_ROOT", "var/media")
        # The web pages: an optional map tile URL ({z}/{x}/{y}), and where npm put their libraries.
        self.WEB_TILE_URL = os.environ.get("WEB_TILE_URL", "")
        self.WEB_NODE_MODULES = os.environ.get(
            "WEB_NODE_MODULES", str(Path(__file__).resolve().parent.parent / "var/web/node_modules")
        )
        self.ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
        self.ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 4)
        # HTTP hardening (app/http_headers.py): HSTS only behind TLS; CORS for listed origins.
        self.HSTS_SECONDS = _int("HSTS_SECONDS", 0)
        self.CORS_ORIGINS = [o for o in os.environ.get("CORS_ORIGINS", "").split(",") if o]
        self.API_TITLE = "shopnear"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.1.0"
        self.OPENAPI_URL_PREFIX = "/"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "/docs"
        self.OPENAPI_SWAGGER_UI_URL = "/docs/static/"
        self.JSON_SORT_KEYS = False
        self.TESTING = False
        for key, value in overrides.items():
            setattr(self, key, value)
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options(self.SQLALCHEMY_ENGINE_OPTIONS)
        self.SQLALCHEMY_BINDS = {
            k: self._engine_options(v) for k, v in self.SQLALCHEMY_BINDS.items()
        }

    def _engine_options(self, given: dict) -> dict:
        """The pool settings given, plus the fault limits (each can be overridden in `given`)."""
        options = {"pool_timeout": self.DB_POOL_TIMEOUT, "pool_pre_ping": self.DB_POOL_PRE_PING}
        # Error messages (and so logged traces) must not quote parameters: codes, positions.
        options["hide_parameters"] = True
        options.update(given)
        # statement_timeout and lock_timeout are SET on each new connection (app/timeouts.py):
        # startup options would be refused by PgBouncer.
        connect_args = {"connect_timeout": self.DB_CONNECT_TIMEOUT}
        options["connect_args"] = {**connect_args, **given.get("connect_args", {})}
        return options

    @staticmethod
    def _dev_secret(env: str) -> str:
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set when SHOPNEAR_ENV=production")
        warnings.warn(
            "SECRET_KEY is not set: using a random one; tokens die with the process",
            stacklevel=3,
        )
        return secrets.token_urlsafe(32)
