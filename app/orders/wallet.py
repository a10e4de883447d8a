"""The shopper's coupon and points on a pickup order.

The coupon is priced before the payment provider is asked (the intent is for what is left to
pay) and held by the order's reservation once the stock is held, by the same conditional UPDATE
a reservation's coupon takes: of two orders using one coupon at once, one holds it and the other
gets the 409 saying why. The reservation engine then uses it at hand-over or gives it back to
the wallet when the hold is cancelled or runs out. Points are spent in the same transaction
(app/members/order_points.py: exact under the member's row lock, 409 when too few) and given
back when the order ends uncollected."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.coupons import pickup as coupon_holds
from app.errors import Invalid
from app.members import order_points, till
from app.orders.models import Order


def points_ref(reservation_public_id: str) -> str:
    """The receipt reference the order's points rows share with what its pickup earns."""
    return f"pickup:{reservation_public_id}"


def price(
    session: Session,
    *,
    user_id: int,
    merchant_id: int,
    store_id: int,
    lines: dict[int, int],
    subtotal: int,
    coupon_id: int | None,
    points: int,
    online: bool,
) -> int:
    """What the coupon and the points take off `subtotal` (the discount, in cents); 409 when
    the coupon cannot be used here, 422 when the points pay for more than is left."""
    discount = 0
    if coupon_id is not None:
        discount = coupon_holds.price_coupon(
            session=session,
            user_id=user_id,
            coupon_id=coupon_id,
            store_id=store_id,
            merchant_id=merchant_id,
            lines=lines,
        )["discount_cents"]
    if points * till.point_value_cents() > subtotal - discount:
        raise Invalid("points", "More points than the order costs after the coupon.")
    discount += points * till.point_value_cents()
    if online and discount >= subtotal:
        raise Invalid("payment_method", "Nothing is left to pay online: pay at the store.")
    return discount


def hold(
    session: Session, *, order: Order, coupon_id: int | None, lines: dict[int, int], at: datetime
) -> None:
    """The held order takes its coupon and spends its points (all in the caller's transaction)."""
    reservation = order.reservation
    if coupon_id is not None:
        coupon_holds.hold_coupon(
            session=session,
            user_id=order.user_id,
            coupon_id=coupon_id,
            store_id=order.store_id,
            merchant_id=order.merchant_id,
            reservation_id=reservation.id,
            lines=lines,
        )
    if order.points_spent:
        order_points.spend_on_order(
            session=session,
            merchant_id=order.merchant_id,
            user_id=order.user_id,
            points=order.points_spent,
            ref=points_ref(reservation.public_id),
            store_id=order.store_id,
            at=at,
        )


def release(session: Session, order: Order, at: datetime) -> None:
    """An order ended uncollected: its points go back (its coupon went back with the hold)."""
    if order.points_spent:
        order_points.give_back(
            session=session,
            merchant_id=order.merchant_id,
            user_id=order.user_id,
            ref=points_ref(order.reservation.public_id),
            at=at,
        )
