"""Tiers: reached by rolling 12-month spend; the tier's coupon is granted once per member.

`members.tier_id` is the current tier for SQL readers (audience segments: "tier at least X" is
`JOIN membership_tiers t ON t.id = members.tier_id WHERE t.threshold_cents >= <X's threshold>`).
Writes that add spend move it up at once; spend rolling out of the 12 months lowers it when the
sweeper runs, while the shopper's own reads compute it from the receipts as of the clock.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.feed.posts import rewards
from app.members import events
from app.members.models import Member, MemberReceipt, MembershipTier, MemberTierGrant

WINDOW = timedelta(days=365)


def spend(session: Session, member_id: int, at: datetime) -> int:
    """Cents spent in the 12 months before `at` (refunded receipts do not count)."""
    r = MemberReceipt
    return session.scalar(
        select(func.coalesce(func.sum(r.total_cents), 0)).where(
            r.member_id == member_id,
            r.refunded_at.is_(None),
            r.created_at > at - WINDOW,
            r.created_at <= at,
        )
    )


def ladder(session: Session, merchant_id: int) -> list[MembershipTier]:
    """The merchant's tiers, lowest threshold first."""
    return list(
        session.scalars(
            select(MembershipTier)
            .where(MembershipTier.merchant_id == merchant_id)
            .order_by(MembershipTier.threshold_cents)
        )
    )


def standing(session: Session, member: Member, at: datetime) -> dict:
    """Tier, spend and progress to the next tier, as of `at`."""
    cents = spend(session, member.id, at)
    tiers = ladder(session, member.merchant_id)
    reached = [t for t in tiers if t.threshold_cents <= cents]
    ahead = [t for t in tiers if t.threshold_cents > cents]
    return {
        "tier": reached[-1] if reached else None,
        "spend_12m_cents": cents,
        "next_tier": ahead[0] if ahead else None,
        "cents_to_next_tier": ahead[0].threshold_cents - cents if ahead else None,
    }


def refresh(*, session: Session, member: Member, at: datetime) -> dict | None:
    """Set the member's current tier from spend; on reaching a tier, grant its coupon (once).
    The member's row is locked by the caller. Returns the grant's outcome, if one was tried."""
    now_standing = standing(session, member, at)
    tier = now_standing["tier"]
    new_id = tier.id if tier else None
    if new_id == member.tier_id:
        return None
    before = member.tier_id
    member.tier_id, member.tier_since = new_id, at
    events.member_changed(
        session,
        "member.tier_changed",
        member,
        tier_name=tier.name if tier else None,
        spend_12m_cents=int(now_standing["spend_12m_cents"]),
        before={"tier_id": before},
    )
    if tier is None or tier.campaign_id is None:
        return None
    return _grant_once(session, member, tier, at)


def _grant_once(session: Session, member: Member, tier: MembershipTier, at) -> dict | None:
    # The grant row decides "once", even if two transactions reach the tier together.
    first = session.scalar(
        pg_insert(MemberTierGrant)
        .values(member_id=member.id, tier_id=tier.id, merchant_id=member.merchant_id, granted_at=at)
        .on_conflict_do_nothing()
        .returning(MemberTierGrant.tier_id)
    )
    if first is None:
        return None
    outcome = rewards.grant(session=session, user_id=member.user_id, campaign_id=tier.campaign_id)
    grant = session.get(MemberTierGrant, (member.id, tier.id))
    grant.coupon_id, grant.refused = outcome["coupon_id"], outcome["reason"]
    return outcome
