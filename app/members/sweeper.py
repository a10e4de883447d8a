"""The members' sweeper: write the `available` and `expire` rows of lots whose time has come,
and lower tiers whose spend rolled out of the 12 months. Reads never wait for it (they apply the
same times themselves); it makes the plain ledger sum and `members.tier_id` agree. Safe to run
many at once: each row is unique per lot, and members are taken FOR UPDATE SKIP LOCKED. Each
expired lot is a `member.points_expired` event in the same transaction (becoming available is
not: `member.points_earned` said when)."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.events import service as events_service
from app.members import tiers
from app.members.models import Member

_AVAILABLE = text("""
INSERT INTO member_points (merchant_id, member_id, lot_id, kind, points, created_at)
SELECT e.merchant_id, e.member_id, e.id, 'available', 0, :at FROM member_points e
WHERE e.kind = 'earn' AND e.available_at <= :at AND e.available_at > :at - interval '400 days'
  AND NOT EXISTS (SELECT 1 FROM member_points a WHERE a.lot_id = e.id AND a.kind = 'available')
ON CONFLICT DO NOTHING
""")
# Expiring lots of members nobody else is writing for right now (the others: next sweep).
_EXPIRE = text("""
WITH due AS (
  SELECT e.id, e.merchant_id, e.member_id,
         (SELECT sum(p.points) FROM member_points p WHERE p.id = e.id OR p.lot_id = e.id) AS rest
  FROM member_points e
  WHERE e.kind = 'earn' AND e.expires_at <= :at
    AND NOT EXISTS (SELECT 1 FROM member_points x WHERE x.lot_id = e.id AND x.kind = 'expire')
    AND (SELECT sum(p.points) FROM member_points p WHERE p.id = e.id OR p.lot_id = e.id) > 0
  LIMIT :batch),
locked AS (SELECT id FROM members WHERE id IN (SELECT member_id FROM due)
           FOR UPDATE SKIP LOCKED)
INSERT INTO member_points (merchant_id, member_id, lot_id, kind, points, created_at)
SELECT merchant_id, member_id, id, 'expire', -rest, :at FROM due
WHERE member_id IN (SELECT id FROM locked)
ON CONFLICT DO NOTHING
RETURNING merchant_id, member_id, lot_id, -points AS points
""")

_TIERED = text("""
SELECT m.id FROM members m WHERE m.tier_id IS NOT NULL ORDER BY m.id
FOR UPDATE SKIP LOCKED LIMIT :batch OFFSET :offset
""")


def sweep(*, session: Session, at: datetime, batch_size: int = 5000) -> dict:
    """One pass; how many lots became available, expired, and tiers were re-read."""
    made = session.execute(_AVAILABLE, {"at": at}).rowcount
    expired = session.execute(_EXPIRE, {"at": at, "batch": batch_size}).all()
    _emit_expired(session, expired)
    checked, offset = 0, 0
    while ids := session.scalars(_TIERED, {"batch": batch_size, "offset": offset}).all():
        for member in session.query(Member).filter(Member.id.in_(ids)):
            tiers.refresh(session=session, member=member, at=at)
        checked, offset = checked + len(ids), offset + batch_size
    return {"available": made, "expired": len(expired), "tiers_checked": checked}


def _emit_expired(session: Session, rows) -> None:
    """One `member.points_expired` per expired lot, one statement per merchant."""
    by_merchant = defaultdict(list)
    for r in rows:
        data = {"member_id": r.member_id, "points": r.points, "lot_id": r.lot_id}
        by_merchant[r.merchant_id].append((f"member:{r.member_id}", data))
    for merchant_id, items in sorted(by_merchant.items()):
        events_service.emit_many(
            session=session, type="member.points_expired", merchant_id=merchant_id, items=items
        )
