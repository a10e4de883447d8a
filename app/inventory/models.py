"""Stock of one SKU at one store, in one channel."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.events.models import Xid8
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
    # When the POS/ERP counted what the last `set` sync applied: an older count never wins.
    last_set_at: Mapped[datetime | None]


class StockChange(db.Model):
    """The stock ledger (rule 9): one row per change of on_hand or reserved, written by the
    triggers on `stock` (migration 0008), so no code path can forget it. The reason and its
    reference come from the transaction-local settings `shopnear.stock_reason` / `_ref`
    (`app.inventory.ledger.tag`). The one exception is the seed's bulk load, which writes the
    opening balance in the same statement as the stock with the insert trigger off
    (app/seeding/catalog.py). No foreign keys: the ledger outlives what it describes."""

    __tablename__ = "stock_changes"
    __table_args__ = (
        Index("ix_stock_changes_merchant_id_xact_id_id", "merchant_id", "xact_id", "id"),
        Index("ix_stock_changes_store_id_sku_id_id", "store_id", "sku_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    sku_id: Mapped[int] = mapped_column(BigInteger)
    on_hand_delta: Mapped[int] = mapped_column(Integer)
    reserved_delta: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(200))
    xact_id: Mapped[str] = mapped_column(Xid8, server_default=text("pg_current_xact_id()"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StockSyncDocument(db.Model):
    """A POS/ERP document line already applied: the same (document, store, SKU) counts once."""

    __tablename__ = "stock_sync_documents"

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_doc: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(server_default=func.now())
