"""Points on orders: spent when a pickup order is placed, given back when it ends uncollected,
and what its returned lines earned taken back.

All of one order's points rows carry the receipt reference its pickup earns under
(`pickup:<reservation id>`, app/members/till.py), so the earning can leave out what was paid in
points. Every write locks the member's row first (ledger.lock_member): two orders spending the
same points at once queue there, and the second sees the first's rows."""

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.members import events, ledger
from app.members.models import Member, MemberPoints, MemberReceipt


def _locked_member(session: Session, merchant_id: int, user_id: int) -> Member | None:
    member_id = session.scalar(
        select(Member.id).where(
            Member.merchant_id == merchant_id, Member.user_id == user_id, Member.state == "active"
        )
    )
    if member_id is None:
        return None
    ledger.lock_member(session, member_id)
    return session.get(Member, member_id, populate_existing=True)


def spend_on_order(
    *, session: Session, merchant_id: int, user_id: int, points: int, ref: str, store_id: int, at
) -> None:
    """Take `points` from the shopper's available points for an order; 409 when too few."""
    member = _locked_member(session, merchant_id, user_id)
    if member is None:
        raise ledger.NotEnoughPoints(
            "You have no points with this merchant.", available=0, requested=points
        )
    ledger.spend(session=session, member=member, points=points, at=at, receipt_ref=ref)
    balance = ledger.balance(session=session, member_id=member.id, at=at)
    events.points_changed(
        session,
        "member.points_redeemed",
        member,
        points=points,
        receipt_ref=ref,
        store_id=store_id,
        balance=balance,
    )


def spent_on(session: Session, member_id: int, ref: str) -> int:
    """The points an order spent (as a positive number)."""
    rows = session.scalars(
        select(MemberPoints.points).where(
            MemberPoints.member_id == member_id,
            MemberPoints.receipt_ref == ref,
            MemberPoints.kind == "redeem",
        )
    )
    return -sum(rows)


def give_back(*, session: Session, merchant_id: int, user_id: int, ref: str, at: datetime) -> int:
    """An order that ended uncollected gives its spent points back: one new lot per lot it took
    from, available now and expiring when that lot would have (an expired lot gives nothing)."""
    member = _locked_member(session, merchant_id, user_id)
    if member is None:
        return 0
    p = MemberPoints
    mine = (p.member_id == member.id, p.receipt_ref == ref)
    if session.scalar(select(p.id).where(*mine, p.kind == "earn").limit(1)) is not None:
        return 0  # given back already (or earned by a pickup: then nothing is owed)
    spent = session.execute(
        select(p.lot_id, p.points, p.store_id).where(*mine, p.kind == "redeem").order_by(p.id)
    ).all()
    lots = {r.id: r.expires_at for r in session.execute(
        select(p.id, p.expires_at).where(p.id.in_([s.lot_id for s in spent]))
    )}  # fmt: skip
    rows = [
        {
            "merchant_id": merchant_id,
            "member_id": member.id,
            "kind": "earn",
            "points": -s.points,
            "receipt_ref": ref,
            "created_at": at,
            "available_at": at,
            "expires_at": lots[s.lot_id],
        }
        for s in spent
        if lots[s.lot_id] is None or lots[s.lot_id] > at
    ]
    if rows:
        session.execute(insert(MemberPoints), rows)
        restored = sum(r["points"] for r in rows)
        events.points_changed(
            session, "member.points_restored", member, points=restored, receipt_ref=ref
        )
    return sum(r["points"] for r in rows)


def take_back_returned(
    *,
    session: Session,
    merchant_id: int,
    user_id: int,
    ref: str,
    share_before: tuple[int, int],
    share_after: tuple[int, int],
    at: datetime,
    store_id: int,
) -> int:
    """Returned lines take back their share of what the order's pickup earned (the share of
    its list value, before and after this return): only what is left of that lot, so points
    spent or expired meanwhile stay where they went. How many points were taken."""
    member = _locked_member(session, merchant_id, user_id)
    receipt = session.get(MemberReceipt, (merchant_id, ref)) if member else None
    if receipt is None or receipt.lot_id is None:
        return 0
    due = receipt.points * share_after[0] // share_after[1]
    due -= receipt.points * share_before[0] // share_before[1]
    taken = ledger.take_back(
        session=session,
        member=member,
        lot_id=receipt.lot_id,
        at=at,
        up_to=due,
        receipt_ref=ref,
        store_id=store_id,
    )
    if not taken:
        return 0
    events.points_changed(
        session,
        "member.points_refunded",
        member,
        points=taken,
        receipt_ref=ref,
        store_id=store_id,
        lot_id=receipt.lot_id,
    )
    return taken
