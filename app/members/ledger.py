"""The points ledger: balances as of a moment, earning a lot, spending across lots, taking back.

A balance is what the member's rows add up to, lot by lot, read at `at`: a lot is pending before
its `available_at`, spendable until its `expires_at` and worth nothing after (whether or not the
sweeper has written its `available`/`expire` rows yet). Every write here runs with the member's
row locked (`lock_member`), so concurrent tills queue and no balance is read stale.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.members.models import Member, MemberPoints, MembershipProgram

_LOTS = text("""
SELECT coalesce(p.lot_id, p.id) AS lot, sum(p.points) AS left,
       max(p.available_at) AS available_at, max(p.expires_at) AS expires_at
FROM member_points p WHERE p.member_id = :member
GROUP BY 1 HAVING sum(p.points) > 0
""")


class NotEnoughPoints(Conflict):
    type = "members.not_enough_points"


def lots(session: Session, member_id: int) -> list:
    """The member's lots with points left: (lot, left, available_at, expires_at)."""
    return list(session.execute(_LOTS, {"member": member_id}))


def _state(lot, at: datetime) -> str:
    if lot.expires_at is not None and lot.expires_at <= at:
        return "expired"
    return "pending" if lot.available_at > at else "available"


def balance(*, session: Session, member_id: int, at: datetime) -> dict:
    """{available, pending} points as of `at`."""
    out = {"available": 0, "pending": 0}
    for lot in lots(session, member_id):
        state = _state(lot, at)
        if state != "expired":
            out[state] += lot.left
    return out


def _row(member: Member, **values):
    return {"merchant_id": member.merchant_id, "member_id": member.id, **values}


def earn(
    *,
    session: Session,
    member: Member,
    program: MembershipProgram,
    points: int,
    at: datetime,
    **where,
) -> int:
    """A new lot of `points` (pending for the program's days); its id."""
    available_at = at + timedelta(days=program.pending_days)
    expires_at = at + timedelta(days=program.expiry_days) if program.expiry_days else None
    return session.scalar(
        insert(MemberPoints)
        .values(
            _row(
                member,
                kind="earn",
                points=points,
                created_at=at,
                available_at=available_at,
                expires_at=expires_at,
                **where,
            )
        )
        .returning(MemberPoints.id)
    )


def spend(*, session: Session, member: Member, points: int, at: datetime, **where) -> list[dict]:
    """Take `points` from the available lots, soonest to expire first; 409 if too few."""
    usable = [lot for lot in lots(session, member.id) if _state(lot, at) == "available"]
    have = sum(lot.left for lot in usable)
    if have < points:
        raise NotEnoughPoints(
            f"Only {have} points are available.", available=have, requested=points
        )
    rows, due = [], points
    far = datetime.max.replace(tzinfo=at.tzinfo)
    for lot in sorted(usable, key=lambda lot: (lot.expires_at or far, lot.lot)):
        take = min(due, lot.left)
        rows.append(_row(member, kind="redeem", lot_id=lot.lot, points=-take, created_at=at))
        rows[-1].update(where)
        due -= take
        if not due:
            break
    session.execute(insert(MemberPoints), rows)
    return rows


def take_back(
    *,
    session: Session,
    member: Member,
    lot_id: int,
    at: datetime,
    up_to: int | None = None,
    **where,
) -> int:
    """What is left of one lot (not spent, not expired), at most `up_to`, is taken back; how
    many points."""
    lot = next((lot for lot in lots(session, member.id) if lot.lot == lot_id), None)
    if lot is None or _state(lot, at) == "expired":
        return 0
    taken = lot.left if up_to is None else min(up_to, lot.left)
    if taken <= 0:
        return 0
    session.execute(
        insert(MemberPoints).values(
            _row(member, kind="refund", lot_id=lot_id, points=-taken, created_at=at, **where)
        )
    )
    return taken


def lock_member(session: Session, member_id: int) -> None:
    """Serialise every points write of one member (the only lock these writes take first)."""
    session.execute(
        select(literal(1)).select_from(Member).where(Member.id == member_id).with_for_update()
    )


def history(session: Session, member_id: int, *, after: int | None, limit: int) -> list:
    """Ledger rows newest first (keyset on id)."""
    query = select(MemberPoints).where(MemberPoints.member_id == member_id)
    if after is not None:
        query = query.where(MemberPoints.id < after)
    return list(session.scalars(query.order_by(MemberPoints.id.desc()).limit(limit + 1)))


def total(session: Session, member_id: int) -> int:
    """The plain sum of the member's rows (equals the balance once the sweeper has run)."""
    return session.scalar(
        select(func.coalesce(func.sum(MemberPoints.points), 0)).where(
            MemberPoints.member_id == member_id
        )
    )
