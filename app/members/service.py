"""Membership: the program, joining with consent, the shopper's views, the pickup hook."""

import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.clock import now
from app.errors import Invalid
from app.feed.posts import rewards
from app.members import codes, events, ledger, service_cards, tiers, till
from app.members.models import Member, MembershipProgram, MembershipTier
from app.pagination import decode_cursor, encode_cursor

# --- the merchant's program --------------------------------------------------------------------


def get_program(*, session: Session, merchant_id: int) -> dict:
    """The merchant's program with its tiers; 404 before one is set up."""
    program = session.get(MembershipProgram, merchant_id)
    if program is None:
        raise till.ProgramNotFound("No membership program yet.")
    return {**_columns(program), "tiers": tiers.ladder(session, merchant_id)}


def _columns(program: MembershipProgram) -> dict:
    names = ("merchant_id", "enabled", "currency", "points_per_unit", "pending_days")
    return {n: getattr(program, n) for n in (*names, "expiry_days", "updated_at")}


def put_program(*, session: Session, merchant_id: int, data: dict) -> dict:
    """Set up or replace the program; tiers are matched by name (members keep a renamed-away
    tier until their tier is next computed)."""
    ladder = data.pop("tiers")
    if data["expiry_days"] is not None and data["expiry_days"] <= data["pending_days"]:
        raise Invalid("expiry_days", "Must be longer than pending_days.")
    for i, tier in enumerate(ladder):
        if tier["campaign_id"] is not None:
            rewards.check_campaign(
                session=session,
                merchant_id=merchant_id,
                campaign_id=tier["campaign_id"],
                field=f"tiers.{i}.campaign_id",
            )
    for field in ("name", "threshold_cents"):
        if len({t[field] for t in ladder}) != len(ladder):
            raise Invalid("tiers", f"Each tier needs its own {field}.")
    session.merge(MembershipProgram(merchant_id=merchant_id, **data))
    session.flush()  # the program row the tiers point at
    session.execute(
        delete(MembershipTier).where(
            MembershipTier.merchant_id == merchant_id,
            MembershipTier.name.not_in([t["name"] for t in ladder]),
        )
    )
    for tier in ladder:
        stmt = pg_insert(MembershipTier).values(merchant_id=merchant_id, **tier)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["merchant_id", "name"],
                set_={k: stmt.excluded[k] for k in ("threshold_cents", "benefit", "campaign_id")},
            )
        )
    session.expire_all()
    return get_program(session=session, merchant_id=merchant_id)


# --- the shopper -------------------------------------------------------------------------------


def join(*, session: Session, user_id: int, merchant_id: int, consent: bool) -> tuple[bool, dict]:
    """Join with explicit consent (again after leaving: the same number and ledger);
    (created, membership)."""
    if consent is not True:
        raise Invalid("consent", "Joining needs your explicit consent.")
    till.active_program(session, merchant_id)
    at = now()
    stmt = pg_insert(Member).values(
        merchant_id=merchant_id,
        user_id=user_id,
        member_number=f"{secrets.randbelow(10**12):012d}",
        consent_at=at,
        joined_at=at,
    )
    created = session.scalar(
        stmt.on_conflict_do_nothing(index_elements=["merchant_id", "user_id"]).returning(Member.id)
    )
    member = session.scalar(
        select(Member)
        .where(Member.merchant_id == merchant_id, Member.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rejoined = member.state == "left"
    if rejoined:
        member.state, member.left_at, member.consent_at, member.joined_at = "active", None, at, at
        created = member.id
    if created is not None:
        events.member_changed(session, "member.joined", member, rejoined=rejoined)
    return created is not None, view(session, member, at)


def own_member(session: Session, user_id: int, member_id: int, *, active: bool = False) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.user_id != user_id or (active and member.state != "active"):
        raise till.MemberNotFound("Membership not found.")
    return member


def view(session: Session, member: Member, at) -> dict:
    """A membership as its shopper sees it: balance, tier, progress to the next tier."""
    return {
        "id": member.id,
        "merchant_id": member.merchant_id,
        "member_number": member.member_number,
        "state": member.state,
        "joined_at": member.joined_at,
        "left_at": member.left_at,
        "points": ledger.balance(session=session, member_id=member.id, at=at),
        **tiers.standing(session, member, at),
    }


def get_own(*, session: Session, user_id: int, member_id: int) -> dict:
    """One of the shopper's memberships."""
    return view(session, own_member(session, user_id, member_id), now())


def list_own(*, session: Session, user_id: int, limit: int, cursor: str | None):
    """The shopper's memberships, newest first."""
    after = decode_cursor("members.mine", cursor)
    query = select(Member).where(Member.user_id == user_id)
    if after is not None:
        query = query.where(Member.id < after)
    rows = list(session.scalars(query.order_by(Member.id.desc()).limit(limit + 1)))
    more, rows, at = len(rows) > limit, rows[:limit], now()
    return [view(session, m, at) for m in rows], (
        encode_cursor("members.mine", rows[-1].id) if more else None
    )


def ledger_page(*, session: Session, user_id: int, member_id: int, limit: int, cursor):
    """The membership's ledger rows, newest first."""
    member = own_member(session, user_id, member_id)
    rows = ledger.history(
        session, member.id, after=decode_cursor("members.ledger", cursor), limit=limit
    )
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor("members.ledger", rows[-1].id) if more else None


def leave(*, session: Session, user_id: int, member_id: int) -> None:
    """Stop earning (the ledger stays for the merchant's records)."""
    member = own_member(session, user_id, member_id, active=True)
    member.state, member.left_at = "left", now()
    events.member_changed(session, "member.left", member)


def member_code(*, session: Session, user_id: int, member_id: int) -> dict:
    """A fresh rotating code for the till, with its QR."""
    member = own_member(session, user_id, member_id, active=True)
    code, expires_at = codes.issue(member_id=member.id, at=now())
    return {"code": code, "expires_at": expires_at, "qr_svg": codes.qr_svg(code)}


# --- the pickup hook ---------------------------------------------------------------------------


def on_pickup(*, session: Session, reservation) -> None:
    """A reservation was picked up: its points (if its buyer is a member) and service cards,
    in the pickup's transaction."""
    till.earn_for_pickup(session=session, reservation=reservation, at=now())
    service_cards.issue_for_pickup(session=session, reservation=reservation, at=now())
