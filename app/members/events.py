"""The membership outbox events (key `member:<id>`, so one member's events keep their order),
written in the caller's transaction: `member.joined|left|tier_changed` carry the membership as it
is now; `member.points_earned|redeemed|refunded` the ledger change (points as positive numbers)
and the receipt it belongs to."""

from sqlalchemy.orm import Session

from app.events import service as events_service
from app.members.models import Member

MEMBER_FIELDS = ("id", "user_id", "member_number", "state", "joined_at", "left_at")


def _emit(session: Session, event_type: str, member: Member, data: dict) -> None:
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=member.merchant_id,
        ordering_key=f"member:{member.id}",
        data=data,
    )


def member_changed(session: Session, event_type: str, member: Member, **extra) -> None:
    """`member.joined` / `member.left` / `member.tier_changed` with the membership now."""
    data = {n: getattr(member, n) for n in MEMBER_FIELDS}
    _emit(
        session,
        event_type,
        member,
        {**data, "tier_id": member.tier_id, "tier_since": member.tier_since, **extra},
    )


def points_changed(session: Session, event_type: str, member: Member, **data) -> None:
    """`member.points_<what>`: how many points, on which receipt, at which store."""
    _emit(session, event_type, member, {"member_id": member.id, **data})
