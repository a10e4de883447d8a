"""Events (the outbox), the per-key sequence counters, webhook endpoints, deliveries, attempts.

Fan-out happens when an event is written: a statement trigger on `events` (migration 0008) adds
one pending delivery per enabled endpoint of the merchant that wants the type, so the worker
only ever claims deliveries and never has to find "new" events (ids of concurrent transactions
commit out of order, a cursor over them would skip some)."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from app.extensions import db

DELIVERY_STATES = ("pending", "delivered", "failed")


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (read as text)."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "xid8"


class Event(db.Model):
    """One change, as it goes out. `xact_id` (the writing transaction) orders the merchant's
    event feed so a reader never skips an event whose transaction committed late."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_merchant_id_xact_id_id", "merchant_id", "xact_id", "id"),
        Index("ix_events_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), unique=True, server_default=text("gen_random_uuid()")
    )
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str] = mapped_column(String(128))
    sequence: Mapped[int] = mapped_column(BigInteger)
    schema_version: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    xact_id: Mapped[str] = mapped_column(Xid8, server_default=text("pg_current_xact_id()"))
    data: Mapped[dict] = mapped_column(JSONB)


class EventSequence(db.Model):
    """The last sequence given out per ordering key; the upsert's row lock orders one key's
    events by commit."""

    __tablename__ = "event_sequences"

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ordering_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger)


class WebhookEndpoint(db.Model):
    """Where a merchant wants events; `previous_secret` still signs until it expires (rotation)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_merchant_id_id", "merchant_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("merchants.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class WebhookDelivery(db.Model):
    """One event for one endpoint; `ordering_key`/`sequence` are copied from the event so the
    worker's claim can hold back a key's later events without a join."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATES!r}", name="status"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_webhook_deliveries_pending_key",
            "endpoint_id",
            "ordering_key",
            "sequence",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.id", ondelete="CASCADE"))
    ordering_key: Mapped[str] = mapped_column(String(128))
    sequence: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]


class WebhookAttempt(db.Model):
    """What one POST of a delivery got back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(500))
