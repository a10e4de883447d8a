"""At the till: resolving a member code, receipts that earn points, redeeming, refunds; and the
points a picked-up reservation earns. Every write locks the member's row first (ledger.lock_member).
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.catalog.models import Sku
from app.clock import now
from app.coupons import claims
from app.coupons import pickup as coupon_holds
from app.errors import Conflict, Invalid, NotFound
from app.members import codes, events, ledger, order_points, service_cards, tiers
from app.members.models import Member, MemberReceipt, MemberRedemption, MembershipProgram
from app.pickup.models import ACTIVE_STATES, Reservation
from app.stores import lookups as stores_lookups


def point_value_cents() -> int:
    """What one point pays for on an order, in minor units (ORDER_POINT_VALUE_CENTS)."""
    return current_app.config["ORDER_POINT_VALUE_CENTS"]


class ProgramNotFound(NotFound):
    type = "members.program_not_found"


class MemberNotFound(NotFound):
    type = "members.not_found"


class ReceiptNotFound(NotFound):
    type = "members.receipt_not_found"


def active_program(session: Session, merchant_id: int) -> MembershipProgram:
    """The merchant's enabled program, else 404."""
    program = session.get(MembershipProgram, merchant_id)
    if program is None or not program.enabled:
        raise ProgramNotFound("This merchant has no membership program.")
    return program


def _member(session: Session, merchant_id: int, member_id: int, *, lock: bool) -> Member:
    if lock:
        ledger.lock_member(session, member_id)
    member = session.get(Member, member_id, populate_existing=lock)
    if member is None or member.merchant_id != merchant_id or member.state != "active":
        raise MemberNotFound("Member not found.")
    return member


def resolve(*, session: Session, merchant_id: int, store_scope, store_id: int, code: str) -> dict:
    """Who a scanned code names: name, tier, points, coupons and reservations for this store."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    at = now()
    member = _member(session, merchant_id, codes.read(code=code, at=at), lock=False)
    standing = tiers.standing(session, member, at)
    reservations = session.scalars(
        select(Reservation).where(
            Reservation.user_id == member.user_id,
            Reservation.store_id == store_id,
            Reservation.state.in_(ACTIVE_STATES),
            Reservation.expires_at > at,
        )
    )
    return {
        "id": member.id,
        "member_number": member.member_number,
        "name": session.scalar(select(User.display_name).where(User.id == member.user_id)),
        "tier": standing["tier"],
        "points": ledger.balance(session=session, member_id=member.id, at=at),
        "coupons": [
            {"id": c.id, "code": c.code, "title": c.campaign.title, "expires_at": c.expires_at}
            for c in claims.usable_at_store(
                session=session, user_id=member.user_id, merchant_id=merchant_id, store_id=store_id
            )
        ],
        "reservations": [
            {"id": r.public_id, "state": r.state, "expires_at": r.expires_at} for r in reservations
        ],
    }


def _receipt_view(receipt: MemberReceipt, **extra) -> dict:
    names = ("receipt_ref", "member_id", "store_id", "total_cents", "currency", "points")
    return {
        **{n: getattr(receipt, n) for n in names},
        "created_at": receipt.created_at,
        "refunded_at": receipt.refunded_at,
        "refunded_points": receipt.refunded_points,
        **extra,
    }


def _earn(session, member, program, *, ref, total_cents, currency, at, **where):
    """The receipt row (once per merchant and reference) and its lot; None when already there."""
    points = total_cents * program.points_per_unit // 100
    created = session.scalar(
        pg_insert(MemberReceipt)
        .values(
            merchant_id=member.merchant_id,
            receipt_ref=ref,
            member_id=member.id,
            total_cents=total_cents,
            currency=currency,
            points=points,
            created_at=at,
            **where,
        )
        .on_conflict_do_nothing()
        .returning(MemberReceipt.receipt_ref)
    )
    if created is None:
        return None
    receipt = session.get(MemberReceipt, (member.merchant_id, ref))
    if points:
        receipt.lot_id = ledger.earn(
            session=session,
            member=member,
            program=program,
            points=points,
            at=at,
            receipt_ref=ref,
            store_id=where.get("store_id"),
        )
        events.points_changed(
            session,
            "member.points_earned",
            member,
            points=points,
            receipt_ref=ref,
            store_id=where.get("store_id"),
            reservation_id=where.get("reservation_id"),
            total_cents=total_cents,
            currency=currency,
            lot_id=receipt.lot_id,
            available_at=at + timedelta(days=program.pending_days),
        )
    grant = tiers.refresh(session=session, member=member, at=at)
    return receipt, grant


def record_receipt(
    *, session: Session, merchant_id: int, store_scope, store_id: int, member_id: int, data: dict
) -> tuple[bool, dict]:
    """A till receipt earns points (pending first), once per merchant and reference; a repeat
    answers the first. (created, receipt)."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    program = active_program(session, merchant_id)
    if data["currency"] != program.currency:
        raise Invalid("currency", f"This program earns on {program.currency}.")
    member = _member(session, merchant_id, member_id, lock=True)
    at = now()
    earned = _earn(
        session,
        member,
        program,
        ref=data["receipt_ref"],
        total_cents=data["total_cents"],
        currency=data["currency"],
        at=at,
        store_id=store_id,
    )
    if earned is None:
        return False, _replayed(session, merchant_id, member.id, data)
    receipt, grant = earned
    cards = service_cards.issue_for_skus(
        session=session,
        merchant_id=merchant_id,
        user_id=member.user_id,
        sku_ids=data.get("sku_ids") or [],
        at=at,
        store_id=store_id,
        receipt_ref=receipt.receipt_ref,
    )
    return True, _receipt_view(receipt, tier_coupon=grant, service_card_ids=cards)


def _replayed(session: Session, merchant_id: int, member_id: int, data: dict) -> dict:
    receipt = session.get(MemberReceipt, (merchant_id, data["receipt_ref"]))
    if receipt.member_id != member_id or receipt.total_cents != data["total_cents"]:
        raise Conflict(
            "This receipt was already recorded with other details.", type="members.receipt_exists"
        )
    return _receipt_view(receipt, tier_coupon=None, service_card_ids=[])


def refund_receipt(
    *, session: Session, merchant_id: int, store_scope, store_id: int, member_id: int, ref: str
) -> dict:
    """Take back what is left of the receipt's points (spent ones stay spent); its spend leaves
    the tier count."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    member = _member(session, merchant_id, member_id, lock=True)
    at = now()
    r = MemberReceipt
    lot_id = session.execute(
        update(r)
        .where(r.merchant_id == merchant_id, r.receipt_ref == ref, r.member_id == member.id)
        .where(r.refunded_at.is_(None))
        .values(refunded_at=at)
        .returning(r.lot_id)
        .execution_options(synchronize_session=False)
    ).first()
    receipt = session.get(MemberReceipt, (merchant_id, ref), populate_existing=True)
    if receipt is None or receipt.member_id != member.id:
        raise ReceiptNotFound("No such receipt of this member.")
    if lot_id is None:
        raise Conflict("This receipt was refunded already.", type="members.already_refunded")
    taken = 0
    if lot_id.lot_id is not None:
        taken = ledger.take_back(
            session=session, member=member, lot_id=lot_id.lot_id, at=at, receipt_ref=ref
        )
    receipt.refunded_points = taken
    events.points_changed(
        session,
        "member.points_refunded",
        member,
        points=taken,
        receipt_ref=ref,
        store_id=store_id,
        lot_id=lot_id.lot_id,
    )
    tiers.refresh(session=session, member=member, at=at)
    return _receipt_view(receipt)


def redeem(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    staff_user_id: int,
    member_id: int,
    points: int,
    receipt_ref: str,
) -> tuple[bool, dict]:
    """Spend available points on a receipt, atomically; once per merchant and reference."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    member = _member(session, merchant_id, member_id, lock=True)
    at = now()
    first = session.scalar(
        pg_insert(MemberRedemption)
        .values(
            merchant_id=merchant_id,
            receipt_ref=receipt_ref,
            member_id=member.id,
            points=points,
            store_id=store_id,
            staff_user_id=staff_user_id,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(MemberRedemption.receipt_ref)
    )
    if first is None:
        done = session.get(MemberRedemption, (merchant_id, receipt_ref))
        if done.member_id != member.id or done.points != points:
            raise Conflict(
                "Points were already redeemed on this receipt.", type="members.redemption_exists"
            )
    else:
        ledger.spend(
            session=session,
            member=member,
            points=points,
            at=at,
            receipt_ref=receipt_ref,
            store_id=store_id,
            staff_user_id=staff_user_id,
        )
    balance = ledger.balance(session=session, member_id=member.id, at=at)
    if first is not None:
        events.points_changed(
            session,
            "member.points_redeemed",
            member,
            points=points,
            receipt_ref=receipt_ref,
            store_id=store_id,
            balance=balance,
            before={"available": balance["available"] + points, "pending": balance["pending"]},
        )
    return first is not None, {"receipt_ref": receipt_ref, "points": points, "balance": balance}


def earn_for_pickup(*, session: Session, reservation: Reservation, at: datetime) -> None:
    """A member's picked-up reservation earns points on what was paid (SKU prices less the
    coupon and the points its order spent), as receipt `pickup:<reservation id>`."""
    program = session.get(MembershipProgram, reservation.merchant_id)
    member_id = session.scalar(
        select(Member.id).where(
            Member.merchant_id == reservation.merchant_id,
            Member.user_id == reservation.user_id,
            Member.state == "active",
        )
    )
    if program is None or not program.enabled or member_id is None:
        return
    qty = {i.sku_id: i.qty for i in reservation.items}
    prices = session.execute(
        select(Sku.id, Sku.price_cents, Sku.currency).where(Sku.id.in_(list(qty)))
    ).all()
    if any(p.currency != program.currency for p in prices):
        return  # points are earned in the program's currency only
    held = coupon_holds.held_for(session=session, reservation_ids=[reservation.id])
    discount = (held.get(reservation.id) or {}).get("discount_cents") or 0
    ref = f"pickup:{reservation.public_id}"
    member = _member(session, reservation.merchant_id, member_id, lock=True)
    # An order's points pay like its coupon: they earn nothing.
    discount += order_points.spent_on(session, member_id, ref) * point_value_cents()
    total = max(0, sum(p.price_cents * qty[p.id] for p in prices) - discount)
    _earn(
        session,
        member,
        program,
        ref=ref,
        total_cents=total,
        currency=program.currency,
        at=at,
        store_id=reservation.store_id,
        reservation_id=reservation.id,
    )
