"""Store staff's side of reservations: list by state, prepare, hand over with the code, cancel."""

import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.inventory import service as inventory_service
from app.pagination import decode_cursor, encode_cursor, page_by_id
from app.pickup import notices, passes
from app.pickup.models import ACTIVE_STATES, Reservation
from app.pickup.service import (
    CODE_ATTEMPTS,
    CodeLocked,
    InvalidTransition,
    WrongCode,
    close,
    code_hash,
    emit_change,
    find,
    now,
    require_transition,
    staff_view,
)
from app.stores import lookups as stores_lookups

SHORTABLE = ("reserved", "preparing")


class LineNotFound(NotFound):
    type = "pickup.line_not_found"


def _store(session: Session, merchant_id: int, store_scope, store_id: int) -> None:
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )


def _state_filter(state: str, at):
    if state in ACTIVE_STATES:
        return (Reservation.state == state) & (Reservation.expires_at > at)
    if state == "expired":
        overdue = Reservation.state.in_(ACTIVE_STATES) & (Reservation.expires_at <= at)
        return or_(Reservation.state == "expired", overdue)
    return Reservation.state == state


def _no_shows(session: Session, user_ids: set[int], at) -> dict[int, int]:
    """{user_id: holds that ran out uncollected in the no-show window} (the same rule as the
    reserve path's cap in reserving.HOLD)."""
    days = current_app.config["PICKUP_NO_SHOW_DAYS"]
    rows = session.execute(
        select(Reservation.user_id, func.count())
        .where(
            Reservation.user_id.in_(user_ids),
            Reservation.expires_at <= at,
            Reservation.expires_at > at - timedelta(days=days),
            or_(Reservation.state == "expired", Reservation.state.in_(ACTIVE_STATES)),
        )
        .group_by(Reservation.user_id)
    )
    return dict(rows.all())


def _with_no_shows(session: Session, reservations: list[Reservation], at) -> list[dict]:
    counts = _no_shows(session, {r.user_id for r in reservations}, at)
    return [{**staff_view(r, at), "no_shows": counts.get(r.user_id, 0)} for r in reservations]


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
    return _with_no_shows(session, rows, at), next_cursor


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
    return _with_no_shows(session, [reservation], now())[0]


def mark_preparing(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """Staff started picking the items (the shopper sees `preparing`)."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    require_transition(reservation, "preparing", at)
    reservation.state, reservation.preparing_at = "preparing", at
    return staff_view(reservation, at)


def mark_ready(
    *, session: Session, merchant_id: int, store_scope, store_id: int, public_id: str
) -> dict:
    """The items are prepared at the counter; the shopper is told in the same transaction."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    require_transition(reservation, "ready", at)
    reservation.state, reservation.ready_at = "ready", at
    notices.tell_ready(session, reservation)
    emit_change(session, reservation, "reservation.ready")
    return staff_view(reservation, at)


def mark_short(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    public_id: str,
    sku_id: int,
    missing: int,
) -> dict:
    """Staff cannot find `missing` units of a line: exactly those go back to stock, the rest
    stays held, and the shopper is told (and may cancel); a hold left empty is cancelled."""
    reservation = _locked_at_store(session, merchant_id, store_scope, store_id, public_id)
    at = now()
    if reservation.effective_state(at) not in SHORTABLE:
        raise InvalidTransition(
            "Lines can be marked short only before the order is ready.",
            state=reservation.effective_state(at),
        )
    line = next((i for i in reservation.items if i.sku_id == sku_id), None)
    if line is None or line.qty == 0:
        raise LineNotFound("This reservation holds no units of that SKU.")
    if missing > line.qty:
        raise Invalid("missing", f"The line holds only {line.qty} units.")
    inventory_service.release_stock(session=session, lines=[(store_id, sku_id, missing)])
    line.qty, line.short_qty = line.qty - missing, line.short_qty + missing
    title = notices.sku_title(session, sku_id)
    if not any(i.qty for i in reservation.items):
        reason = "Nothing of this order could be found in store."
        close(session, reservation, state="cancelled", by=None, reason=reason, at=at)
        notices.tell(session, reservation, "reservation_cancelled", reason=reason)
    else:
        notices.tell(session, reservation, "reservation_short", sku_title=title, short_qty=missing)
    return staff_view(reservation, at)


def pick_list(
    *, session: Session, merchant_id: int, store_scope, store_id: int, limit: int, cursor
) -> tuple[list[dict], str | None]:
    """Units to pull per SKU for the oldest `limit` reservations not yet ready (then the next)."""
    _store(session, merchant_id, store_scope, store_id)
    at = now()
    after = decode_cursor("picklist", cursor) or 0
    rows = list(
        session.scalars(
            select(Reservation)
            .where(
                Reservation.store_id == store_id,
                Reservation.state.in_(SHORTABLE),
                Reservation.awaiting_payment.is_(False),  # an unpaid order is not picked yet
                Reservation.expires_at > at,
                Reservation.id > after,
            )
            .order_by(Reservation.id)
            .limit(limit + 1)
        )
    )
    more, rows = len(rows) > limit, rows[:limit]
    lines: dict[int, dict] = {}
    for reservation in rows:
        for item in reservation.items:
            if not item.qty:
                continue
            entry = lines.setdefault(
                item.sku_id, {"sku_id": item.sku_id, "units": 0, "reservations": []}
            )
            entry["units"] += item.qty
            entry["reservations"].append(
                {
                    "id": reservation.public_id,
                    "qty": item.qty,
                    "state": reservation.state,
                    "created_at": reservation.created_at,
                }
            )
    titles = notices.titles(session, list(lines))
    items = [{**e, "title": titles.get(e["sku_id"], "")} for e in lines.values()]
    return items, encode_cursor("picklist", rows[-1].id) if more else None


def collect_with_pass(
    *, session: Session, merchant_id: int, store_scope, store_id: int, staff_user_id: int, token
) -> dict:
    """Picked up: staff scanned the shopper's pickup pass, fresh and for this store."""
    _store(session, merchant_id, store_scope, store_id)
    public_id = passes.read(token, store_id=store_id)
    reservation = find(
        session, Reservation.public_id == public_id, Reservation.store_id == store_id, lock=True
    )
    at = now()
    require_transition(reservation, "picked_up", at)
    reason = "Picked up with the pickup pass."
    close(session, reservation, state="picked_up", by=staff_user_id, reason=reason, at=at)
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
    notices.tell(session, reservation, "reservation_cancelled", reason=reason)
    return staff_view(reservation, at)
