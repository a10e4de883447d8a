"""Orders, the refunds they are owed, and the provider events already applied."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.pickup.models import Reservation

# What a shopper or staff see; derived from the hold's state and the payment (see `state`).
STATES = (
    "pending_payment",
    "placed",
    "paid",
    "preparing",
    "ready",
    "picked_up",
    "cancelled",
    "expired",
    "offered",
    "accepted",
    "shipped",
    "transfer_requested",
    "in_transit",
)
PAYMENT_METHODS = ("online", "at_store")
FULFILMENTS = ("pickup", "ship_from_store")
# A shipped order's hold, read as the dispatch sees it (see `Order.state`).
SHIPPING_STATES = {"reserved": "offered", "preparing": "accepted", "picked_up": "shipped"}
PAYMENT_STATES = ("unpaid", "paid", "refunding", "refunded")
# An endless-aisle order collected here from another store's stock: held there, on its way, here.
TRANSFER_STATES = ("requested", "in_transit", "received")


class Order(db.Model):
    """An order's stock is held by its reservation (rule 1 counts it as any other hold)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"fulfilment IN {FULFILMENTS!r}", name="fulfilment"),
        CheckConstraint("fulfilment = 'pickup' OR delivery IS NOT NULL", name="delivery"),
        CheckConstraint(f"payment_method IN {PAYMENT_METHODS!r}", name="payment_method"),
        CheckConstraint(f"payment_state IN {PAYMENT_STATES!r}", name="payment_state"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
        CheckConstraint("discount_cents >= 0", name="discount_cents"),
        CheckConstraint("points_spent >= 0", name="points_spent"),
        CheckConstraint(
            f"transfer_state IS NULL OR transfer_state IN {TRANSFER_STATES!r}",
            name="transfer_state",
        ),
        Index("ix_orders_user_id_id", "user_id", "id"),
        Index(
            "ix_orders_transfer_from_store_id_id",
            "transfer_from_store_id",
            "id",
            postgresql_where=text("transfer_from_store_id IS NOT NULL"),
        ),
        Index("ix_orders_store_id_id", "store_id", "id"),
        Index("ix_orders_open", "reservation_id", postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(UUID(as_uuid=False), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), unique=True
    )
    fulfilment: Mapped[str] = mapped_column(String(16), server_default="pickup")
    payment_method: Mapped[str] = mapped_column(String(16))
    payment_state: Mapped[str] = mapped_column(String(16), server_default="unpaid")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # What the wallet coupon (held by the order's reservation) and the points took off the list
    # price; `amount_cents` is what is left to pay in money.
    discount_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    points_spent: Mapped[int] = mapped_column(Integer, server_default="0")
    # The endless aisle: staff who placed it, and the store its units come from (collect here).
    placed_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    transfer_from_store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE")
    )
    transfer_state: Mapped[str | None] = mapped_column(String(16))
    transfer_sent_at: Mapped[datetime | None]
    transfer_received_at: Mapped[datetime | None]
    # The pickup code's hash for the hold the collecting store makes on receipt (its id is
    # `transfers.hold_id(public_id)`): the shopper collects with the code given when placing.
    transfer_code_hash: Mapped[str | None] = mapped_column(String(64))
    intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    paid_at: Mapped[datetime | None]
    # Dispatch (ship_from_store): where it goes, each store it was offered to, the parcel.
    delivery: Mapped[dict | None] = mapped_column(JSONB)
    # {sku_id: price_cents} as sold: what a returned unit gives back.
    unit_prices: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    offers: Mapped[list] = mapped_column(JSONB, server_default="[]")
    accepted_at: Mapped[datetime | None]
    tracking_ref: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None]
    # Set once, by whoever first sees the hold end (the settle sweep or the order's own path).
    ended_state: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    reservation: Mapped[Reservation] = relationship(lazy="selectin")
    refunds: Mapped[list["OrderRefund"]] = relationship(
        back_populates="order", order_by="OrderRefund.id", lazy="selectin"
    )

    def state(self, now: datetime) -> str:
        """The order's state: the hold's, read through the payment."""
        held = self.reservation.effective_state(now)
        if self.transfer_state == "in_transit":
            return "in_transit"  # the source's hold ended when the units left it
        if self.transfer_state == "requested" and held == "reserved":
            return "transfer_requested"
        if held == "reserved":
            if self.reservation.awaiting_payment:
                return "pending_payment"
            if self.fulfilment == "ship_from_store" and self.payment_state == "paid":
                return "offered"
            return "paid" if self.payment_method == "online" else "placed"
        if self.fulfilment == "ship_from_store":
            return SHIPPING_STATES.get(held, held)
        return held


class OrderRefund(db.Model):
    """Money owed back; a worker asks the provider after the commit (rule 8)."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        CheckConstraint("kind IN ('order', 'return')", name="kind"),
        CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name="state"),
        CheckConstraint("amount_cents > 0", name="amount_cents"),
        # The whole order is refunded at most once, whoever asks first.
        Index(
            "uq_order_refunds_whole_order",
            "order_id",
            unique=True,
            postgresql_where=text("kind = 'order'"),
        ),
        Index(
            "ix_order_refunds_pending", "retry_after", postgresql_where=text("state = 'pending'")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    retry_after: Mapped[datetime] = mapped_column(server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    done_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="refunds")


class OrderReturn(db.Model):
    """Units of an order brought back to a store: they go back into its stock, the money back."""

    __tablename__ = "order_returns"
    __table_args__ = (
        CheckConstraint("refund_method IN ('provider', 'till')", name="refund_method"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list] = mapped_column(JSONB)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    refund_method: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_refunds.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PaymentEvent(db.Model):
    """A provider event once applied: a duplicate delivery finds its id here and changes nothing."""

    __tablename__ = "payment_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    intent_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
