"""Membership programs, members, the points ledger, tiers, and digital service cards.

The points ledger (`member_points`) is append-only (a trigger refuses UPDATE): a member's points
are what its rows add up to. Each earning is a *lot* (its own row, `lot_id` NULL); every later row
about that lot names it in `lot_id`: `available` (0 points, written by the sweeper when the lot's
pending time is over), `redeem`, `refund` and `expire` (negative). A lot is pending before
`available_at`, spendable until `expires_at`, and worth nothing after: readers apply those two
times themselves, so balances are right before the sweeper runs; the sweeper then writes the rows
that make the plain sum agree.
"""

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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

MEMBER_STATES = ("active", "left")
POINT_KINDS = ("earn", "available", "redeem", "refund", "expire")


class MembershipProgram(db.Model):
    """A merchant's opt-in program: how points are earned, held back, and expire."""

    __tablename__ = "membership_programs"
    __table_args__ = (
        CheckConstraint("points_per_unit BETWEEN 0 AND 1000", name="points_per_unit"),
        CheckConstraint("pending_days BETWEEN 0 AND 365", name="pending_days"),
        CheckConstraint(
            "expiry_days IS NULL OR expiry_days > pending_days", name="expiry_after_pending"
        ),
    )

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    currency: Mapped[str] = mapped_column(String(3))
    points_per_unit: Mapped[int] = mapped_column(SmallInteger)  # per major currency unit
    pending_days: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    expiry_days: Mapped[int | None] = mapped_column(Integer)  # from earning; NULL: never
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class MembershipTier(db.Model):
    """A level reached by rolling 12-month spend; its coupon is granted once per member."""

    __tablename__ = "membership_tiers"
    __table_args__ = (
        UniqueConstraint("merchant_id", "name"),
        UniqueConstraint("merchant_id", "threshold_cents"),
        CheckConstraint("threshold_cents >= 0", name="threshold_cents"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("membership_programs.merchant_id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(40))
    threshold_cents: Mapped[int] = mapped_column(BigInteger)
    benefit: Mapped[str | None] = mapped_column(String(500))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_campaigns.id", ondelete="SET NULL")
    )


class Member(db.Model):
    """A shopper's membership of one merchant's program. `tier_id` is the current tier, kept by
    every write that changes spend and by the sweeper as spend rolls out of the 12 months."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("merchant_id", "user_id"),
        UniqueConstraint("merchant_id", "member_number"),
        CheckConstraint(f"state IN {MEMBER_STATES!r}", name="state"),
        Index("ix_members_user_id_id", "user_id", "id"),
        Index("ix_members_tier_id", "tier_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("membership_programs.merchant_id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    member_number: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8), server_default="active")
    consent_at: Mapped[datetime]
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership_tiers.id", ondelete="SET NULL")
    )
    tier_since: Mapped[datetime | None]


class MemberPoints(db.Model):
    """One row of the append-only points ledger (see the module docstring)."""

    __tablename__ = "member_points"
    __table_args__ = (
        CheckConstraint(f"kind IN {POINT_KINDS!r}", name="kind"),
        CheckConstraint(
            "(kind = 'earn' AND points > 0 AND lot_id IS NULL AND available_at IS NOT NULL)"
            " OR (kind = 'available' AND points = 0 AND lot_id IS NOT NULL)"
            " OR (kind IN ('redeem', 'refund', 'expire') AND points < 0 AND lot_id IS NOT NULL)",
            name="points_by_kind",
        ),
        Index("ix_member_points_member_id_id", "member_id", "id"),
        Index("ix_member_points_lot_id", "lot_id"),
        # The sweeper writes each of these once per lot, however many sweepers run.
        Index(
            "uq_member_points_lot_available",
            "lot_id",
            unique=True,
            postgresql_where=text("kind = 'available'"),
        ),
        Index(
            "uq_member_points_lot_expire",
            "lot_id",
            unique=True,
            postgresql_where=text("kind = 'expire'"),
        ),
        # The sweeper's queues: lots by when they become available and when they expire.
        Index(
            "ix_member_points_available_at", "available_at", postgresql_where=text("kind = 'earn'")
        ),
        Index("ix_member_points_expires_at", "expires_at", postgresql_where=text("kind = 'earn'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))
    points: Mapped[int] = mapped_column(Integer)
    receipt_ref: Mapped[str | None] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger)
    available_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MemberReceipt(db.Model):
    """A purchase that earned points (a till receipt or a picked-up reservation), once per
    merchant and reference; its total counts towards the member's 12-month spend."""

    __tablename__ = "member_receipts"
    __table_args__ = (Index("ix_member_receipts_member_id_created_at", "member_id", "created_at"),)

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receipt_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    reservation_id: Mapped[int | None] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    points: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL when it earned 0 points
    created_at: Mapped[datetime]
    refunded_at: Mapped[datetime | None]
    refunded_points: Mapped[int | None] = mapped_column(Integer)


class MemberRedemption(db.Model):
    """Points spent on one till receipt (once per merchant and reference)."""

    __tablename__ = "member_redemptions"

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receipt_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(Integer)
    store_id: Mapped[int] = mapped_column(BigInteger)
    staff_user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class MemberTierGrant(db.Model):
    """A tier's coupon went to a member (or was refused, with why): once per member and tier."""

    __tablename__ = "member_tier_grants"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    tier_id: Mapped[int] = mapped_column(
        ForeignKey("membership_tiers.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    coupon_id: Mapped[int | None] = mapped_column(BigInteger)
    refused: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime]


class ServiceCardTemplate(db.Model):
    """What a purchase of some SKUs comes with: services, each usable a number of times."""

    __tablename__ = "service_card_templates"
    __table_args__ = (
        CheckConstraint("validity_days BETWEEN 1 AND 3650", name="validity_days"),
        Index("ix_service_card_templates_merchant_id_id", "merchant_id", "id"),
        Index("ix_service_card_templates_sku_ids", "sku_ids", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    services: Mapped[list[dict]] = mapped_column(JSONB)  # [{"name": ..., "count": n}]
    validity_days: Mapped[int] = mapped_column(Integer)
    sku_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ServiceCard(db.Model):
    """One buyer's card, issued at pickup or on a till receipt; its services are copied in."""

    __tablename__ = "service_cards"
    __table_args__ = (Index("ix_service_cards_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_card_templates.id", ondelete="SET NULL")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    sku_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    reservation_id: Mapped[int | None] = mapped_column(BigInteger)
    receipt_ref: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ServiceCardService(db.Model):
    """What is left of one service on a card; `remaining` only moves by conditional UPDATE."""

    __tablename__ = "service_card_services"
    __table_args__ = (CheckConstraint("remaining >= 0 AND remaining <= total", name="remaining"),)

    card_id: Mapped[int] = mapped_column(
        ForeignKey("service_cards.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(SmallInteger)
    remaining: Mapped[int] = mapped_column(SmallInteger)


class ServiceCardUse(db.Model):
    """One use of a service: where, by whom, when."""

    __tablename__ = "service_card_uses"
    __table_args__ = (Index("ix_service_card_uses_card_id_id", "card_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("service_cards.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    service: Mapped[str] = mapped_column(String(60))
    store_id: Mapped[int] = mapped_column(BigInteger)
    staff_user_id: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime]
