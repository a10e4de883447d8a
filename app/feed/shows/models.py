"""Buyer shows and their abuse reports."""

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

SHOW_STATES = ("pending", "approved", "rejected")


class BuyerShow(db.Model):
    """A shopper's photos of what they bought; `verified` when tied to their picked-up
    reservation. Only approved shows are public; the author sees their own in any state."""

    __tablename__ = "buyer_shows"
    __table_args__ = (
        CheckConstraint(f"state IN {SHOW_STATES!r}", name="state"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint("state <> 'rejected' OR reject_reason IS NOT NULL", name="reject_reason"),
        CheckConstraint("report_count >= 0", name="report_count"),
        # One show per reservation: a purchase verifies one show, not a stream of them.
        Index(
            "uq_buyer_shows_reservation_id",
            "reservation_id",
            unique=True,
            postgresql_where=text("reservation_id IS NOT NULL"),
        ),
        Index("ix_buyer_shows_merchant_id_state_id", "merchant_id", "state", "id"),
        Index("ix_buyer_shows_sku_ids", "sku_ids", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservations.id", ondelete="SET NULL")
    )
    sku_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    body: Mapped[str] = mapped_column(String(2000))
    image_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    verified: Mapped[bool] = mapped_column(Boolean, server_default="false")
    state: Mapped[str] = mapped_column(String(10), server_default="pending")
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None]
    report_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class BuyerShowReport(db.Model):
    """One abuse report per reader and show; `buyer_shows.report_count` counts them."""

    __tablename__ = "buyer_show_reports"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("buyer_shows.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
