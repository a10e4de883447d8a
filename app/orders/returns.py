"""After-sales: units of a collected (or shipped) order brought back to any store of the merchant.

The order's row lock serialises returns of the same order, so two returns of one line racing
each other can never give back more units than were bought: the second one sees the first and
gets a 409 for what is left over. The units go back into the receiving store's shared stock
(a ledger row, reason `order.returned`); the money back through the provider for an online
order (a refund row the worker sends), at the till for one paid at the store. A coupon or
points that paid for part of the order spread over its lines by list value: a returned line gives
back its share of the money paid, and takes back its share of the points the pickup earned (what
is left of them); the coupon and the points spent stay used."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, Invalid
from app.inventory import ledger
from app.members import order_points
from app.orders import service as orders_service
from app.orders import wallet
from app.orders.models import Order, OrderRefund, OrderReturn
from app.stores import lookups as stores_lookups

RETURNABLE = ("picked_up", "shipped")

_RESTOCK = text(
    "INSERT INTO stock (store_id, sku_id, merchant_id, channel, on_hand, reserved)"
    " SELECT :store, r.sku_id, :merchant, 'shared', r.qty, 0"
    " FROM unnest(CAST(:skus AS bigint[]), CAST(:qtys AS int[])) AS r(sku_id, qty)"
    " ORDER BY r.sku_id"
    " ON CONFLICT (store_id, sku_id) DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand"
)


def restock(session: Session, store_id: int, merchant_id: int, units: dict, *, reason, ref):
    """Units arrive in the store's shared stock (a ledger row each, with `reason`)."""
    skus = sorted(units)
    ledger.tag(session, reason=reason, ref=ref)
    session.execute(
        _RESTOCK,
        {
            "store": store_id,
            "merchant": merchant_id,
            "skus": skus,
            "qtys": [units[s] for s in skus],
        },
    )


class AlreadyReturned(Conflict):
    type = "orders.already_returned"


class WindowClosed(Conflict):
    type = "orders.return_window_closed"


def _returned(session: Session, order_id: int) -> dict[int, int]:
    """{sku_id: units} returned of the order so far."""
    counts: dict[int, int] = {}
    for lines in session.scalars(select(OrderReturn.lines).where(OrderReturn.order_id == order_id)):
        for line in lines:
            counts[line["sku_id"]] = counts.get(line["sku_id"], 0) + line["qty"]
    return counts


def _check(session: Session, order: Order, lines: dict[int, int], at) -> dict[int, int]:
    """409/422 unless these lines may come back now; {sku_id: units} returned before."""
    state = order.state(at)
    if state not in RETURNABLE:
        raise orders_service.InvalidTransition(f"A {state} order has nothing to return.")
    handed_over = order.shipped_at or order.reservation.picked_up_at
    days = current_app.config["ORDER_RETURN_DAYS"]
    if handed_over + timedelta(days=days) < at:
        raise WindowClosed(f"Returns are taken within {days} days.", days=days)
    bought = {i.sku_id: i.qty for i in order.reservation.items}
    foreign = sorted(set(lines) - {s for s, q in bought.items() if q})
    if foreign:
        raise Invalid("lines", f"The order has no units of SKUs {foreign}.")
    returned = _returned(session, order.id)
    over = sorted(s for s, q in lines.items() if returned.get(s, 0) + q > bought[s])
    if over:
        left = [{"sku_id": s, "returnable": bought[s] - returned.get(s, 0)} for s in over]
        raise AlreadyReturned("More units than are left to return.", lines=left)
    return returned


def _list_value(order: Order, units: dict[int, int]) -> int:
    return sum(order.unit_prices[str(s)] * q for s, q in units.items())


def _give_back(session: Session, order: Order, returned: dict, wanted: dict, store_id, at):
    """(money, points taken back) for these lines: their share of the order's list value, of
    what was paid in money and of what the pickup earned. Shares are counted over every return
    of the order so far, so rounding never gives back more than was paid or earned."""
    subtotal = _list_value(order, {i.sku_id: i.qty for i in order.reservation.items})
    before = _list_value(order, returned)
    after = before + _list_value(order, wanted)
    money = order.amount_cents * after // subtotal - order.amount_cents * before // subtotal
    points = order_points.take_back_returned(
        session=session,
        merchant_id=order.merchant_id,
        user_id=order.user_id,
        ref=wallet.points_ref(order.reservation.public_id),
        share_before=(before, subtotal),
        share_after=(after, subtotal),
        at=at,
        store_id=store_id,
    )
    return money, points


def return_lines(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    staff_user_id: int,
    order_id: str,
    lines: list[dict],
    reason: str,
) -> dict:
    """Take back lines of an order at this store: restocked here, the money given back."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    order = orders_service.find(
        session, Order.public_id == order_id, Order.merchant_id == merchant_id, lock=True
    )
    at = clock.now()
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line["sku_id"]] = wanted.get(line["sku_id"], 0) + line["qty"]
    returned = _check(session, order, wanted, at)
    skus = sorted(wanted)
    restock(session, store_id, merchant_id, wanted, reason="order.returned", ref=order.public_id)
    amount, points = _give_back(session, order, returned, wanted, store_id, at)
    refund = None
    if order.payment_method == "online" and amount:
        refund = OrderRefund(
            order_id=order.id,
            merchant_id=merchant_id,
            kind="return",
            amount_cents=amount,
            reason=f"Returned: {reason}"[:200],
        )
        session.add(refund)
        session.flush()  # the refund's id for the return row
    record = OrderReturn(
        order_id=order.id,
        merchant_id=merchant_id,
        store_id=store_id,
        staff_user_id=staff_user_id,
        lines=[{"sku_id": s, "qty": wanted[s]} for s in skus],
        amount_cents=amount,
        refund_method="provider" if refund else "till",
        refund_id=refund.id if refund else None,
        reason=reason,
        created_at=at,
    )
    session.add(record)
    session.flush()  # the return's id, for the answer and the event
    session.expire(order, ["refunds"])
    orders_service.emit(session, order, "order.returned")
    return {
        "id": record.id,
        "order_id": order.public_id,
        "store_id": store_id,
        "lines": record.lines,
        "amount_cents": amount,
        "currency": order.currency,
        "refund_method": record.refund_method,
        "points_taken_back": points,
        "reason": reason,
        "created_at": at,
    }
