"""Segments: a merchant's saved audience rule (JSON, checked by app/segments/rules.py)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Segment(db.Model):
    """A named audience of one merchant; `rule` is evaluated by the SQL function
    `segment_rule_matches(rule, merchant_id, user_id, point)` (migration 0011)."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_merchant_id_id", "merchant_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(2000))
    rule: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
