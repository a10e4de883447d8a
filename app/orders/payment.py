"""Money coming in: the shopper's confirm call, the provider's webhooks, paid exactly once.

Whichever arrives first — the answer to our confirm call, or the provider's webhook (which may
come before that answer, or twice, or together with another copy) — takes the order's row lock
and moves `payment_state` from `unpaid` to `paid`; every later one finds it paid and changes
nothing. No lock is held while the provider is called, so a webhook sent during our call is
applied at once instead of waiting on us. A payment for an order that ended meanwhile is
recorded and refunded whole."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.orders import dispatch, lifecycle, refunds
from app.orders.models import Order, PaymentEvent
from app.orders.service import InvalidTransition, _own, emit, find, lock_hold, view
from app.payments.provider import Event, Provider
from app.pickup.models import ACTIVE_STATES
from app.stores.models import Store


def pay_own(
    *, session: Session, user_id: int, public_id: str, payment_method: str, provider: Provider
) -> dict:
    """Confirm the order's intent with the shopper's payment method; paid once it succeeds."""
    order = _own(session, user_id, public_id)
    state = order.state(clock.now())
    if order.payment_state != "unpaid":
        return view(order, clock.now())  # paid already (by a webhook, or an earlier call)
    if state != "pending_payment":
        raise InvalidTransition(f"A {state} order cannot be paid.", state=state)
    # Nothing is locked yet: a webhook sent while the provider answers is applied at once.
    intent = provider.confirm_intent(
        intent_id=order.intent_id,
        payment_method=payment_method,
        idempotency_key=f"confirm:{public_id}:{payment_method}",
    )
    if intent.status == "succeeded":
        record_success(session=session, intent_id=intent.id, amount_cents=intent.amount_cents)
    return view(find(session, Order.public_id == public_id, lock=True), clock.now())


def record_success(*, session: Session, intent_id: str, amount_cents: int | None) -> Order | None:
    """The intent succeeded: its order is paid (once); None when no order has this intent."""
    order = session.scalar(
        select(Order)
        .where(Order.intent_id == intent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None or order.payment_state != "unpaid":
        return order
    at = clock.now()
    reservation = lock_hold(session, order)
    order.payment_state, order.paid_at = "paid", at
    if reservation.awaiting_payment and reservation.effective_state(at) in ACTIVE_STATES:
        reservation.awaiting_payment = False
        if order.fulfilment == "ship_from_store":
            dispatch.offer(session, order, at)
        else:
            hold = session.scalar(
                select(Store.pickup_hold_minutes).where(Store.id == order.store_id)
            )
            reservation.expires_at = at + timedelta(minutes=hold)
        emit(session, order, "order.paid")
        return order
    emit(session, order, "order.paid")
    # Paid too late (expired, or cancelled meanwhile): the money goes back whole.
    refunds.request_whole(session=session, order=order, reason="Paid after the order ended.")
    lifecycle.end(session, order, reservation.effective_state(at), at)
    return order


def apply_event(*, session: Session, event: Event) -> bool:
    """Apply a verified provider event once; False when this event id was applied before."""
    fresh = session.execute(
        insert(PaymentEvent)
        .values(id=event.id, type=event.type, intent_id=event.intent_id)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(PaymentEvent.id)
    ).scalar()
    if fresh is None:
        return False
    if event.type == "payment_intent.succeeded" and event.intent_id:
        record_success(session=session, intent_id=event.intent_id, amount_cents=event.amount_cents)
    return True
