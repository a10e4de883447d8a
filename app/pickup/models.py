"""Reservations for store pickup and the items they hold."""

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
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

STATES = ("reserved", "preparing", "ready", "picked_up", "cancelled", "expired")
# Active holds: their units are counted in stock.reserved (rule 1).
ACTIVE_STATES = ("reserved", "preparing", "ready")


class Reservation(db.Model):
    """A hold on items of one store; `pickup_code_hash` is HMAC-SHA256(secret, public_id:code)."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        Index("ix_reservations_user_id_id", "user_id", "id"),
        Index("ix_reservations_store_id_state_id", "store_id", "state", "id"),
        # The sweeper's queue: only active holds are indexed, by when they run out.
        Index(
            "ix_reservations_active_expires_at",
            "expires_at",
            postgresql_where=text("state IN ('reserved', 'preparing', 'ready')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(UUID(as_uuid=False), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), server_default="reserved")
    pickup_code_hash: Mapped[str] = mapped_column(String(64))
    failed_code_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # The hold of an online order not paid yet: it may not be prepared or handed over.
    awaiting_payment: Mapped[bool] = mapped_column(Boolean, server_default="false")
    expires_at: Mapped[datetime]
    extended_at: Mapped[datetime | None]
    preparing_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    # Set once by the sweeper that wrote the "about to expire" notification.
    expiry_warned_at: Mapped[datetime | None]
    picked_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    close_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    items: Mapped[list["ReservationItem"]] = relationship(
        back_populates="reservation", order_by="ReservationItem.sku_id", lazy="selectin"
    )

    def effective_state(self, now: datetime) -> str:
        """The state a reader sees: an overdue hold is expired even before the sweeper ran."""
        if self.state in ACTIVE_STATES and self.expires_at <= now:
            return "expired"
        return self.state


class ReservationItem(db.Model):
    __tablename__ = "reservation_items"
    __table_args__ = (
        CheckConstraint("qty BETWEEN 0 AND 999", name="qty"),
        CheckConstraint("short_qty >= 0 AND qty + short_qty >= 1", name="short_qty"),
    )

    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(
        ForeignKey("skus.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    # `qty` is what the hold has now; `short_qty` the units the store could not find (released).
    qty: Mapped[int] = mapped_column(Integer)
    short_qty: Mapped[int] = mapped_column(Integer, server_default="0")

    reservation: Mapped[Reservation] = relationship(back_populates="items")
