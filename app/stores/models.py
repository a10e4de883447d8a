"""Stores of a merchant, located with a geography point, with weekly hours and date exceptions."""

import datetime as dt

from geoalchemy2 import Geography
from geoalchemy2.shape import to_shape
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INT4MULTIRANGE, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

# Weekly hours as the merchant typed them: {"mon": [{"opens": "09:00", "closes": "18:00"}], ...};
# a missing day is closed, `closes` before `opens` runs past midnight, 00:00-24:00 is all day.
# `open_minutes` is the same week as minutes since Monday 00:00 local time, derived in SQL by
# store_week_minutes() so "open now" is a range lookup inside the nearby query (migration 0002).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Store(db.Model):
    __tablename__ = "stores"
    __table_args__ = (
        Index("uq_stores_merchant_code", "merchant_id", "code", unique=True),
        # The map's lat/lng boxes: a planar index on the same points (geography boxes are 3D).
        Index("ix_stores_location_geometry", text("(location::geometry)"), postgresql_using="gist"),
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
    # How orders at this store may be paid (app/orders): at the till, and/or online.
    pay_at_store: Mapped[bool] = mapped_column(Boolean, server_default="true")
    pay_online: Mapped[bool] = mapped_column(Boolean, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    hours: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    open_minutes = mapped_column(
        INT4MULTIRANGE, Computed("store_week_minutes(hours)", persisted=True)
    )
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    exceptions: Mapped[list["StoreHoursException"]] = relationship(
        back_populates="store", order_by="StoreHoursException.date", passive_deletes=True
    )

    @property
    def position(self) -> dict[str, float]:
        """The location as {lat, lng}."""
        point = to_shape(self.location)
        return {"lat": point.y, "lng": point.x}


class StoreHoursException(db.Model):
    """A date whose hours differ: closed, or special ranges that replace the whole day's hours."""

    __tablename__ = "store_hours_exceptions"
    __table_args__ = (
        CheckConstraint("closed = (jsonb_array_length(hours) = 0)", name="closed_means_no_hours"),
    )

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)  # every merchant-owned row carries it
    closed: Mapped[bool] = mapped_column(Boolean)
    hours: Mapped[list] = mapped_column(JSONB, server_default="[]")
    # Minutes since the date's midnight (up to 2880: the last range may run past midnight).
    open_minutes = mapped_column(
        INT4MULTIRANGE, Computed("store_day_minutes(hours)", persisted=True)
    )
    note: Mapped[str | None] = mapped_column(String(200))

    store: Mapped[Store] = relationship(back_populates="exceptions")
