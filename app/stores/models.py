"""Stores of a merchant, located with a geography point."""

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Store(db.Model):
    __tablename__ = "stores"
    __table_args__ = (
        Index("uq_stores_merchant_code", "merchant_id", "code", unique=True),
        CheckConstraint("pickup_hold_minutes BETWEEN 5 AND 10080", name="pickup_hold_minutes"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(80))
    # GiST index via spatial_index=True: the nearby KNN scan (`<->`) and ST_DWithin use it.
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    pickup_enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    pickup_hold_minutes: Mapped[int] = mapped_column(Integer, server_default="120")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
