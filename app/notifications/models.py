"""Notifications (the inbox, which is also the push queue) and the shopper's push devices."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# pending: the sender has yet to look at it; then sent (at least one device took it), none (no
# device, or pushes not configured), failed (every try used up).
PUSH_STATES = ("pending", "sent", "none", "failed")
PLATFORMS = ("ios", "android", "web")
PROVIDERS = ("fcm", "apns")


class Notification(db.Model):
    """One message to a shopper: `kind` and `params` are stored, the text is rendered in the
    reader's language when read or pushed (so one row serves every device and language)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"push_state IN {PUSH_STATES!r}", name="push_state"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        # The sender's queue: only rows still to push are indexed.
        Index(
            "ix_notifications_push_queue",
            "push_after",
            postgresql_where=text("push_state = 'pending'"),
        ),
    )

    # (user_id, id): a shopper's rows stay together when users are sharded (docs/citus-plan.toml).
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    read_at: Mapped[datetime | None]
    push_state: Mapped[str] = mapped_column(String(8), server_default="pending")
    push_after: Mapped[datetime] = mapped_column(server_default=text("now()"))
    push_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")


class PushDevice(db.Model):
    """An app installation that receives pushes; `last_seen_at` moves on every PUT."""

    __tablename__ = "push_devices"
    __table_args__ = (
        CheckConstraint(f"platform IN {PLATFORMS!r}", name="platform"),
        CheckConstraint(f"provider IN {PROVIDERS!r}", name="provider"),
        Index("uq_push_devices_user_id_installation_id", "user_id", "installation_id", unique=True),
        Index("uq_push_devices_provider_token", "provider", "token", unique=True),
        Index("ix_push_devices_last_seen_at", "last_seen_at"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    installation_id: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(1024))
    locale: Mapped[str | None] = mapped_column(String(16))
    app_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_seen_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
