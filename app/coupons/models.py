"""Coupon campaigns, the coupons shoppers claim from them, and the counters that keep limits."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    and_,
    any_,
    cast,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db

KINDS = ("amount_off", "percent_off", "red_packet")
CAMPAIGN_STATES = ("active", "paused", "ended")
# `expired` is never stored by a request: an unused coupon past `expires_at` reads as expired.
COUPON_STATES = ("unused", "held", "used", "expired")
# A phone's fix is uncertain: its `accuracy_m` widens a geofence by at most this much, so a
# claimed accuracy of 10 km cannot turn a 300 m fence into a city-wide one.
ACCURACY_CAP_M = 100


class CouponCampaign(db.Model):
    """What a merchant hands out; `claimed_qty`/`spent_cents` change only by conditional UPDATE."""

    __tablename__ = "coupon_campaigns"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"state IN {CAMPAIGN_STATES!r}", name="state"),
        CheckConstraint("claimed_qty >= 0 AND claimed_qty <= total_qty", name="claimed_qty"),
        CheckConstraint(
            "spent_cents >= 0 AND (budget_cents IS NULL OR spent_cents <= budget_cents)",
            name="budget",
        ),
        CheckConstraint("claim_starts_at < claim_ends_at", name="claim_window"),
        CheckConstraint("(valid_to IS NULL) <> (valid_days_after_claim IS NULL)", name="validity"),
        CheckConstraint("percent_off IS NULL OR percent_off BETWEEN 1 AND 100", name="percent_off"),
        CheckConstraint("shake_weight BETWEEN 0 AND 1000", name="shake_weight"),
        Index("ix_coupon_campaigns_merchant_id_id", "merchant_id", "id"),
    )

    __mapper_args__ = {"eager_defaults": True}  # INSERT ... RETURNING the server defaults

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), server_default="active")
    value_cents: Mapped[int | None] = mapped_column(Integer)
    percent_off: Mapped[int | None] = mapped_column(SmallInteger)
    max_discount_cents: Mapped[int | None] = mapped_column(Integer)
    red_packet_min_cents: Mapped[int | None] = mapped_column(Integer)
    red_packet_max_cents: Mapped[int | None] = mapped_column(Integer)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    spent_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    min_spend_cents: Mapped[int] = mapped_column(Integer, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    total_qty: Mapped[int] = mapped_column(Integer)
    claimed_qty: Mapped[int] = mapped_column(Integer, server_default="0")
    per_user_limit: Mapped[int] = mapped_column(Integer, server_default="1")
    claim_starts_at: Mapped[datetime]
    claim_ends_at: Mapped[datetime]
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    valid_days_after_claim: Mapped[int | None] = mapped_column(Integer)
    # NULL means every store (SKU) of the merchant.
    store_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    sku_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    geofence_radius_m: Mapped[int | None] = mapped_column(Integer)
    daily_quota_per_store: Mapped[int | None] = mapped_column(Integer)
    # Only shoppers in one of these segments see and claim it (empty: everyone).
    segment_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    # How likely a shake picks this campaign against the others claimable there (0: never).
    shake_weight: Mapped[int] = mapped_column(Integer, server_default="1")
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    coupons: Mapped[list["Coupon"]] = relationship(back_populates="campaign")
    my_claims = None  # set for a signed-in shopper's view; not a column


class CouponUserClaims(db.Model):
    """How many coupons a user holds of a campaign: the per-user limit's conditional counter."""

    __tablename__ = "coupon_user_claims"
    __table_args__ = (CheckConstraint("claimed >= 0", name="claimed"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    claimed: Mapped[int] = mapped_column(Integer)


class CouponStoreDay(db.Model):
    """Claims attributed to one store on one local day: the per-store daily quota's counter."""

    __tablename__ = "coupon_store_days"
    __table_args__ = (CheckConstraint("claimed >= 0", name="claimed"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed: Mapped[int] = mapped_column(Integer)


class Coupon(db.Model):
    """One claimed coupon in a shopper's wallet; redeemed once by conditional UPDATE."""

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint(f"state IN {COUPON_STATES!r}", name="state"),
        CheckConstraint("(state = 'used') = (redeemed_at IS NOT NULL)", name="redeemed"),
        Index("ix_coupons_user_id_id", "user_id", "id"),
        Index("ix_coupons_campaign_id_state", "campaign_id", "state"),
        # The sweeper's reminder queue: unused coupons not yet told about, by expiry.
        Index(
            "ix_coupons_unwarned_expires_at",
            "expires_at",
            postgresql_where=text("state = 'unused' AND expiry_warned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    state: Mapped[str] = mapped_column(String(16), server_default="unused")
    # The face value fixed at claim (amount_off, the red packet's draw); NULL for percent_off.
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    claim_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    valid_from: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservations.id", ondelete="SET NULL")
    )
    redeemed_at: Mapped[datetime | None]
    redeemed_store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL")
    )
    redeemed_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    basket_cents: Mapped[int | None] = mapped_column(Integer)
    discount_cents: Mapped[int | None] = mapped_column(Integer)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(200))
    # Set once by the sweeper that told the shopper the coupon runs out within a day.
    expiry_warned_at: Mapped[datetime | None]

    campaign: Mapped[CouponCampaign] = relationship(back_populates="coupons", lazy="joined")

    @property
    def current_state(self) -> str:
        """The state as of now: an unused coupon past `expires_at` is expired, job or no job."""
        if self.state == "unused" and self.expires_at <= clock.now():
            return "expired"
        return self.state


def sql_now():
    """SQL: the statement's clock, not the transaction's start (what `now()` gives): a rule about
    "now" must not see a stale time in a long transaction."""
    return func.statement_timestamp()


def store_day(timezone):
    """SQL: today's date in a store's own time zone (the per-store daily quota's day)."""
    return cast(func.timezone(timezone, sql_now()), Date)


def store_quota_left(store_id, timezone):
    """SQL: the campaign's per-store daily quota (if any) is not used up at this store today."""
    c, d = CouponCampaign, CouponStoreDay
    used = (
        select(d.claimed)
        .where(d.campaign_id == c.id, d.store_id == store_id, d.day == store_day(timezone))
        .scalar_subquery()
    )
    return or_(c.daily_quota_per_store.is_(None), func.coalesce(used, 0) < c.daily_quota_per_store)


def claimable_now():
    """SQL: the campaign hands out coupons right now (state, window, stock, budget, validity)."""
    c, now = CouponCampaign, sql_now()
    return and_(
        c.state == "active",
        c.claim_starts_at <= now,
        c.claim_ends_at > now,
        c.claimed_qty < c.total_qty,
        or_(c.budget_cents.is_(None), c.spent_cents < c.budget_cents),
        or_(c.valid_to.is_(None), c.valid_to > now),
    )


def accuracy_allowance(accuracy_m: int) -> int:
    """How much a fix's accuracy widens a geofence, in metres (capped)."""
    return min(max(accuracy_m, 0), ACCURACY_CAP_M)


def geofence_reach(radius_m, accuracy_m: int):
    """How far from a store a claim may be, in metres: the fence widened by the capped accuracy
    (`radius_m` is a number or the column; NULL, no fence, stays NULL)."""
    return radius_m + accuracy_allowance(accuracy_m)


def claims_held(campaign_id, user_id):
    """SQL: how many coupons of the campaign the user has claimed (NULL for none)."""
    u = CouponUserClaims
    return (
        select(u.claimed)
        .where(u.campaign_id == campaign_id, u.user_id == user_id)
        .scalar_subquery()
    )


def in_store_scope(store_id):
    """SQL: the campaign applies at this store (all stores, or listed)."""
    c = CouponCampaign
    return or_(c.store_ids.is_(None), store_id == any_(c.store_ids))
