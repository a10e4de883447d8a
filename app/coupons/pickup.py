"""Coupons on pickup reservations: priced in the quote, held by a reservation, used at hand-over,
back in the wallet when the reservation is cancelled or expires.

The pickup service calls these inside its own transaction; each state change is one conditional
UPDATE, so a coupon is held by one reservation at most and used at most once (rule 2).
"""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog.models import Sku
from app.coupons import events, lookups
from app.coupons.models import Coupon, sql_now
from app.coupons.redemption import price_with_coupon, take_unused, why_not_redeemable
from app.errors import Conflict


def _basket(session: Session, lines: dict[int, int]) -> tuple[int, list[dict], str | None]:
    """The cart at list prices: (subtotal, items as {sku_id, amount_cents}, currency)."""
    rows = session.execute(
        select(Sku.id, Sku.price_cents, Sku.currency).where(Sku.id.in_(list(lines)))
    ).all()
    items = [{"sku_id": r.id, "amount_cents": r.price_cents * lines[r.id]} for r in rows]
    currency = rows[0].currency if rows else None
    return sum(i["amount_cents"] for i in items), items, currency


def _discount_at(session, coupon: Coupon, store_id: int, merchant_id: int, basket) -> dict:
    if coupon.merchant_id != merchant_id:
        raise Conflict("This coupon is not valid at this store.", type="coupons.wrong_store")
    if coupon.current_state != "unused":
        raise why_not_redeemable(session, coupon)
    subtotal, items, currency = basket
    discount = price_with_coupon(
        coupon=coupon, store_id=store_id, basket_cents=subtotal, items=items, currency=currency
    )
    total = subtotal - discount
    return {"subtotal_cents": subtotal, "discount_cents": discount, "total_cents": total}


def quote_coupon(
    *, session: Session, user_id: int, coupon_id: int, stores: list[dict], lines: dict[int, int]
) -> dict:
    """What the shopper's coupon takes off this cart, and at which of the quoted stores."""
    coupon = lookups.wallet_coupon(session=session, user_id=user_id, coupon_id=coupon_id)
    basket = _basket(session, lines)
    subtotal = basket[0]
    quote = {"coupon_id": coupon.id, "subtotal_cents": subtotal, "discount_cents": 0}
    quote |= {"total_cents": subtotal, "store_ids": [], "reason": None}
    for store in stores:
        try:
            priced = _discount_at(session, coupon, store["id"], store["merchant_id"], basket)
        except Conflict as refused:  # the quote informs; the reservation is where it is enforced
            quote["reason"] = quote["reason"] or refused.type
            continue
        quote |= priced
        quote["store_ids"].append(store["id"])
    if quote["store_ids"]:
        quote["reason"] = None
    return quote


def price_coupon(
    *,
    session: Session,
    user_id: int,
    coupon_id: int,
    store_id: int,
    merchant_id: int,
    lines: dict[int, int],
) -> dict:
    """What the shopper's unused coupon takes off this cart at this store; else 409 why not
    (an order prices it before asking the payment provider, and holds it after the stock)."""
    coupon = lookups.wallet_coupon(session=session, user_id=user_id, coupon_id=coupon_id)
    priced = _discount_at(session, coupon, store_id, merchant_id, _basket(session, lines))
    return {"coupon_id": coupon.id, **priced}


def hold_coupon(
    *,
    session: Session,
    user_id: int,
    coupon_id: int,
    store_id: int,
    merchant_id: int,
    reservation_id: int,
    lines: dict[int, int],
) -> dict:
    """Lock the shopper's unused coupon to a reservation, with its discount; else 409 why not."""
    priced = price_coupon(
        session=session,
        user_id=user_id,
        coupon_id=coupon_id,
        store_id=store_id,
        merchant_id=merchant_id,
        lines=lines,
    )
    coupon = session.get(Coupon, coupon_id)  # loaded by the pricing: no query
    take_unused(
        session,
        coupon,
        state="held",
        reservation_id=reservation_id,
        basket_cents=priced["subtotal_cents"],
        discount_cents=priced["discount_cents"],
    )
    return priced


def use_held_coupon(
    *, session: Session, reservation_id: int, store_id: int, staff_user_id: int
) -> None:
    """The reservation was picked up: its held coupon (if any) is used, there and then."""
    now = sql_now()
    used = session.scalars(
        update(Coupon)
        .where(Coupon.reservation_id == reservation_id, Coupon.state == "held")
        .values(
            state="used",
            redeemed_at=now,
            redeemed_store_id=store_id,
            redeemed_by_user_id=staff_user_id,
        )
        .returning(Coupon.id)
        .execution_options(synchronize_session=False)
    ).all()
    for coupon_id in used:
        coupon = session.get(Coupon, coupon_id, populate_existing=True)
        events.coupon_changed(session, "coupon.redeemed", coupon)


def release_held_coupons(*, session: Session, reservation_ids: list[int]) -> None:
    """Cancelled or expired reservations give their coupons back to the wallet (expired ones
    then read as expired)."""
    session.execute(
        update(Coupon)
        .where(Coupon.reservation_id.in_(reservation_ids), Coupon.state == "held")
        .values(state="unused", reservation_id=None, basket_cents=None, discount_cents=None)
        .execution_options(synchronize_session=False)
    )


def held_for(*, session: Session, reservation_ids: list[int]) -> dict[int, dict]:
    """{reservation_id: {coupon_id, discount_cents}} of the coupons these reservations hold/used."""
    rows = session.execute(
        select(Coupon.reservation_id, Coupon.id, Coupon.discount_cents).where(
            Coupon.reservation_id.in_(reservation_ids)
        )
    )
    return {r.reservation_id: {"coupon_id": r.id, "discount_cents": r.discount_cents} for r in rows}
