"""Store staff's side of reservations: list by state, prepare, hand over with the code, cancel."""

import hmac

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.inventory import service as inventory_service
from app.pagination import page_by_id
from app.pickup.models import ACTIVE_STATES, Reservation
from app.pickup.service import (
    CODE_ATTEMPTS,
    CodeLocked,
    WrongCode,
    close,
    code_hash,
    emit_change,
    find,
    now,
    require_transition,
    staff_view,
)


def _store(session: Session, merchant_id: int, store_scope, store_id: int) -> None:
    inventory_service.get_merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, store_scope=store_scope
    )


def _state_filter(state: str, at):
    if state in ACTIVE_STATES:
        return (Reservation.state == state) & (Reservation.expires_at > at)
    if state == "expired":
        overdue = Reservation.state.in_(ACTIVE_STATES) & (Reservation.expires_at <= at)
        return or_(Reservation.state == "expired", overdue)
    return Reservation.state == state


def list_at_store(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    state: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict], str | None]:
    """A store's reservations, newest first, optionally in one state (as readers see it)."""
    _store(session, merchant_id, store_scope, store_id)
    at = now()
    query = select(Reservation).where(Reservation.store_id == store_id)
    if state:
        query = query.where(_state_filter(state, at))
    rows, next_cursor = page_by_id(
        session,
        query,
        id_column=Reservation.id,
        kind="store_reservations",
        limit=limit,
        cursor=cursor,
    )
    return [staff_view(r, at) for r in rows], next_cursor


def _locked_at_store(session, merchant_id, store_scope, store_id, public_id) -> Reservation:
    _store(session, merchant_id, store_scope, store_id)
    return find(
        session, Reservation.public_id == public_id, Reservation.store_id == store_id, lock=True
    )


def get_at_store(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """One reservation of the store."""
    _store(session, merchant_id, store_scope, store_id)
    reservation = find(
        session, Reservation.public_id == public_id, Reservation.store_id == store_id
    )
    return staff_view(reservation, now())


def mark_ready(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """The items are prepared at the counter."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    require_transition(reservation, "ready", at)
    reservation.state, reservation.ready_at = "ready", at
    emit_change(session, reservation, "reservation.ready")
    return staff_view(reservation, at)


def hand_over(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    code: str | None,
    override_reason: str | None,
) -> dict:
    """Picked up: the code matches, or after 5 wrong codes a manager overrides with a reason."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    require_transition(reservation, "picked_up", at)
    locked_out = reservation.failed_code_attempts >= CODE_ATTEMPTS
    if override_reason is not None:
        if not locked_out:
            raise CodeLocked("An override is only for a code locked after 5 wrong tries.")
        reason = f"Manager override: {override_reason}"
    elif locked_out:
        raise CodeLocked("Too many wrong codes: a manager override is needed.")
    elif not hmac.compare_digest(
        code_hash(reservation.public_id, code or ""), reservation.pickup_code_hash
    ):
        reservation.failed_code_attempts += 1
        left = CODE_ATTEMPTS - reservation.failed_code_attempts
        raise WrongCode(f"Wrong pickup code; {left} tries left.", attempts_left=left)
    else:
        reason = "Picked up with code."
    close(session, reservation, state="picked_up", by=staff_user_id, reason=reason, at=at)
    return staff_view(reservation, at)


def cancel_at_store(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    staff_user_id: int,
    reason: str,
) -> dict:
    """Staff cancel a hold with a reason; its units go back on sale."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    require_transition(reservation, "cancelled", at)
    close(session, reservation, state="cancelled", by=staff_user_id, reason=reason, at=at)
    return staff_view(reservation, at)
