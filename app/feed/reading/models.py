"""Follows, and follower counts kept beside merchants.

`merchant_follower_counts.followers` moves only in the transaction that inserts or deletes the
follow it counts, and only when that insert or delete really happened.
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Follow(db.Model):
    __tablename__ = "follows"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MerchantFollowerCount(db.Model):
    """Follower counts kept beside merchants (accounts owns that table)."""

    __tablename__ = "merchant_follower_counts"
    __table_args__ = (CheckConstraint("followers >= 0", name="followers"),)

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    followers: Mapped[int] = mapped_column(Integer, server_default="0")
