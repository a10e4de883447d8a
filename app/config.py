"""Settings from environment variables, with safe local defaults."""

import os
import secrets
import warnings
from datetime import timedelta


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
            "pool_pre_ping": False,
            "pool_recycle": 3600,
        }
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
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10/minute")
        self.PICKUP_MAX_ACTIVE_RESERVATIONS = _int("PICKUP_MAX_ACTIVE_RESERVATIONS", 5)
        self.PICKUP_MAX_UNITS_PER_SKU = _int("PICKUP_MAX_UNITS_PER_SKU", 10)
        self.RESERVATION_RATE_LIMIT = os.environ.get("RESERVATION_RATE_LIMIT", "20/minute")
        self.COUPON_CLAIM_RATE_LIMIT = os.environ.get("COUPON_CLAIM_RATE_LIMIT", "20/minute")
        self.COUPON_CLAIM_IP_RATE_LIMIT = os.environ.get("COUPON_CLAIM_IP_RATE_LIMIT", "120/minute")
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
        self.ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
        self.ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 4)
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

    @staticmethod
    def _dev_secret(env: str) -> str:
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set when SHOPNEAR_ENV=production")
        warnings.warn(
            "SECRET_KEY is not set: using a random one; tokens die with the process",
            stacklevel=3,
        )
        return secrets.token_urlsafe(32)
