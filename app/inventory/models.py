"""Stock of one SKU at one store, in one channel."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

CHANNELS = ("online_only", "offline_only", "shared")


class Stock(db.Model):
    """`reserved` counts units held by active reservations; only `shared` stock is reservable.

    The table has fillfactor 90 and neither `on_hand` nor `reserved` is in any index, so the
    reserve/release UPDATEs stay HOT (PERF-ANCHOR: 57 % HOT on a full-page table)."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        Index("ix_stock_sku_id", "sku_id"),
        {"postgresql_with": {"fillfactor": 90}},
    )

    store_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
