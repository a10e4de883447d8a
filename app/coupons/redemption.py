"""Using coupons: the discount they give, redemption at the till, and voiding a redemption.

Money is integer minor units. A percent discount rounds *up* to the next minor unit (the shopper
gets the fraction: 15 % of 1 999 is 300, not 299.85 → 299), is capped by the campaign's
`max_discount_cents`, and no discount ever exceeds the amount it applies to.
"""

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.coupons import events, lookups
from app.coupons.models import Coupon, sql_now
from app.errors import Conflict, Invalid
from app.stores import lookups as stores_lookups

VOID_HOURS = 24  # a till mistake is noticed the same day; later it is a refund, not a void


def discount_for(*, coupon: Coupon, eligible_cents: int) -> int:
    """The discount a coupon gives on `eligible_cents` (see the module's rounding rule)."""
    campaign = coupon.campaign
    if campaign.kind == "percent_off":
        off = -(-eligible_cents * campaign.percent_off // 100)  # ceiling division
        if campaign.max_discount_cents is not None:
            off = min(off, campaign.max_discount_cents)
    else:
        off = coupon.amount_cents or 0
    return max(0, min(off, eligible_cents))


def _eligible(coupon: Coupon, basket_cents: int, items: list[dict] | None) -> int:
    sku_ids = coupon.campaign.sku_ids
    if sku_ids is None:
        return basket_cents
    if items is None:
        raise Invalid("items", "Required: this coupon applies to some SKUs only.")
    return sum(item["amount_cents"] for item in items if item["sku_id"] in sku_ids)


def price_with_coupon(
    *,
    coupon: Coupon,
    store_id: int,
    basket_cents: int,
    items: list[dict] | None = None,
    currency: str | None = None,
) -> int:
    """The discount this coupon gives on this basket at this store, or 409 saying why none."""
    campaign = coupon.campaign
    if campaign.store_ids is not None and store_id not in campaign.store_ids:
        raise Conflict("This coupon is not valid at this store.", type="coupons.wrong_store")
    if currency is not None and currency != campaign.currency:
        raise Invalid("currency", f"This coupon is in {campaign.currency}.")
    eligible = _eligible(coupon, basket_cents, items)
    if eligible == 0:
        raise Conflict("Nothing in the basket is covered.", type="coupons.not_applicable")
    if eligible < campaign.min_spend_cents:
        raise Conflict(
            "The basket is below the coupon's minimum spend.",
            type="coupons.min_spend_not_met",
            min_spend_cents=campaign.min_spend_cents,
        )
    return discount_for(coupon=coupon, eligible_cents=eligible)


def _by_code(session: Session, merchant_id: int, code: str) -> Coupon:
    coupon = session.scalar(
        select(Coupon).where(Coupon.code == code.upper(), Coupon.merchant_id == merchant_id)
    )
    if coupon is None:
        raise lookups.CouponNotFound("No such coupon.")
    return coupon


def why_not_redeemable(session: Session, coupon: Coupon) -> Conflict:
    """The 409 for a coupon a conditional UPDATE just refused (read back fresh)."""
    session.refresh(coupon)
    if coupon.state == "used":
        return Conflict(
            "This coupon has been used.",
            type="coupons.already_used",
            redeemed_at=coupon.redeemed_at,
            redeemed_store_id=coupon.redeemed_store_id,
        )
    if coupon.state == "held":
        return Conflict("This coupon is held by a pickup reservation.", type="coupons.held")
    if coupon.current_state == "expired":
        return Conflict("This coupon has expired.", type="coupons.expired")
    return Conflict(
        "This coupon is not valid yet.", type="coupons.not_yet_valid", valid_from=coupon.valid_from
    )


def take_unused(session: Session, coupon: Coupon, **values) -> None:
    """Move an unused coupon that is valid right now on (used, held) in one conditional UPDATE:
    of two tills or reservations at once, one wins; the other gets the 409 saying why."""
    now = sql_now()
    taken = session.scalar(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            Coupon.state == "unused",
            Coupon.expires_at > now,
            func.coalesce(Coupon.valid_from, now) <= now,
        )
        .values(**values)
        .returning(Coupon.id)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise why_not_redeemable(session, coupon)


def redeem_coupon(
    *,
    session: Session,
    merchant_id: int,
    store_id: int,
    staff_user_id: int,
    code: str,
    basket_cents: int,
    items: list[dict] | None = None,
    currency: str | None = None,
) -> Coupon:
    """Use a coupon at the till: checks store, SKUs, minimum spend and validity; once only."""
    stores_lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    coupon = _by_code(session, merchant_id, code)
    discount = price_with_coupon(
        coupon=coupon, store_id=store_id, basket_cents=basket_cents, items=items, currency=currency
    )
    take_unused(
        session,
        coupon,
        state="used",
        redeemed_at=sql_now(),
        redeemed_store_id=store_id,
        redeemed_by_user_id=staff_user_id,
        basket_cents=basket_cents,
        discount_cents=discount,
    )
    session.refresh(coupon)
    events.coupon_changed(session, "coupon.redeemed", coupon)
    return coupon


def void_redemption(
    *, session: Session, merchant_id: int, store_id: int, coupon_id: int, reason: str
) -> Coupon:
    """Undo a till redemption at this store within VOID_HOURS; the coupon returns to the wallet."""
    stores_lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    coupon = session.scalar(
        select(Coupon).where(Coupon.id == coupon_id, Coupon.merchant_id == merchant_id)
    )
    if coupon is None:
        raise lookups.CouponNotFound("No such coupon.")
    voided = session.scalar(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            Coupon.state == "used",
            Coupon.redeemed_store_id == store_id,
            Coupon.reservation_id.is_(None),
            Coupon.redeemed_at > sql_now() - timedelta(hours=VOID_HOURS),
        )
        .values(
            state="unused",
            redeemed_at=None,
            redeemed_store_id=None,
            redeemed_by_user_id=None,
            basket_cents=None,
            discount_cents=None,
            voided_at=sql_now(),
            void_reason=reason,
        )
        .returning(Coupon.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(coupon)
    if voided is None:
        raise Conflict(
            f"Only a till redemption at this store in the last {VOID_HOURS} h can be voided.",
            type="coupons.not_voidable",
        )
    events.coupon_changed(session, "coupon.voided", coupon)
    return coupon
