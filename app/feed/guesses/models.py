"""One guess per shopper and price-guess post; rank and reward are written once, at closing."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PriceGuess(db.Model):
    __tablename__ = "price_guesses"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_cents"),
        Index("ix_price_guesses_post_id_rank", "post_id", "rank"),
    )

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    price_cents: Mapped[int] = mapped_column(Integer)
    # The moment of the guess itself (ties go to the earliest), not its transaction's start.
    created_at: Mapped[datetime] = mapped_column(server_default=sql_text("clock_timestamp()"))
    rank: Mapped[int | None] = mapped_column(Integer)
    won: Mapped[bool] = mapped_column(Boolean, server_default="false")
    reward_coupon_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupons.id", ondelete="SET NULL")
    )
    reward_reason: Mapped[str | None] = mapped_column(String(64))
