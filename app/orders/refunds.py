"""Money going back: refund rows written with the change, sent by a worker after the commit.

A refund is a row first (rule 8: nothing leaves inside a request); `send_batch` claims pending
rows `FOR UPDATE SKIP LOCKED` and asks the provider with the row's id as the Idempotency-Key, so
a worker that dies after the provider answered sends the same key again and gets the same refund.
An order's whole amount is refunded at most once (a unique index on kind = 'order')."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.orders import service as orders_service
from app.orders.models import Order, OrderRefund
from app.payments.provider import Provider, ProviderUnavailable


def request_whole(*, session: Session, order: Order, reason: str) -> bool:
    """Owe the shopper the whole paid amount (once); False when it was asked for already."""
    if order.payment_state != "paid" or order.payment_method != "online":
        return False
    made = session.execute(
        insert(OrderRefund)
        .values(
            order_id=order.id,
            merchant_id=order.merchant_id,
            kind="order",
            amount_cents=order.amount_cents,
            reason=reason[:200],
        )
        .on_conflict_do_nothing(index_elements=["order_id"], index_where=text("kind = 'order'"))
        .returning(OrderRefund.id)
    ).scalar()
    if made is None:
        return False
    order.payment_state = "refunding"
    session.expire(order, ["refunds"])
    return True


def send_batch(*, session: Session, provider: Provider, batch_size: int = 50) -> int:
    """Ask the provider for up to `batch_size` pending refunds; returns how many were tried."""
    rows = list(
        session.scalars(
            select(OrderRefund)
            .where(OrderRefund.state == "pending", OrderRefund.retry_after <= clock.now())
            .order_by(OrderRefund.retry_after)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    limit = current_app.config["ORDER_REFUND_MAX_ATTEMPTS"]
    for row in rows:
        order = row.order
        try:
            refund = provider.refund(
                intent_id=order.intent_id,
                amount_cents=row.amount_cents,
                idempotency_key=f"refund:{row.id}",
            )
        except ProviderUnavailable as error:
            row.attempts += 1
            row.last_error = str(error)[:500]
            # Backing off 1, 2, 4... minutes (capped at an hour): the provider may be down.
            row.retry_after = clock.now() + timedelta(minutes=min(2 ** (row.attempts - 1), 60))
            if row.attempts >= limit:
                row.state = "failed"
            continue
        row.state, row.provider_refund_id, row.done_at = "succeeded", refund.id, clock.now()
        if row.kind == "order":
            order.payment_state = "refunded"
        orders_service.emit(session, order, "order.refunded")
    return len(rows)
