"""Reservation rules: all-or-nothing holds, limits per shopper, pickup codes, state changes.

Pickup codes are 6 digits, stored as HMAC-SHA256 keyed with the app's SECRET_KEY over
"<public_id>:<code>" (the random public id salts each one). argon2 would add ~50 ms to the hot
reserve path and buys little for a 10^6 space: what protects a code is that a database leak alone
cannot test guesses (the key is not in the database) and that hand-over allows 5 wrong tries.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import idempotency
from app.catalog import lookups as catalog_lookups
from app.clock import now
from app.coupons import pickup as coupon_holds
from app.errors import ApiError, Conflict, NotFound
from app.events import service as events_service
from app.inventory import ledger
from app.inventory import service as inventory_service
from app.members import service as members_service
from app.pagination import page_by_id
from app.pickup import reserving
from app.pickup.models import ACTIVE_STATES, Reservation
from app.stores import lookups as stores_lookups
from app.stores.models import Store

CODE_ATTEMPTS = 5
SOURCES = {
    "preparing": ("reserved",),
    "ready": ("reserved", "preparing"),
    "picked_up": ("ready",),
    "cancelled": ACTIVE_STATES,
}


class ReservationNotFound(NotFound):
    type = "pickup.reservation_not_found"


class InvalidTransition(Conflict):
    type = "pickup.invalid_transition"


class LimitReached(Conflict):
    type = "pickup.limit_reached"


class StoreUnavailable(Conflict):
    type = "pickup.store_unavailable"


class WrongCode(ApiError):
    """A wrong pickup code: the caller commits the attempt count, then answers 422."""

    status, type, title = 422, "pickup.wrong_code", "Wrong pickup code"


class CodeLocked(Conflict):
    type = "pickup.code_locked"


def code_hash(public_id: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def view(reservation: Reservation, at: datetime) -> dict:
    """What a shopper sees of a reservation (a plain dict: it is also stored for replays)."""
    r = reservation
    return {
        "id": r.public_id,
        "store_id": r.store_id,
        "state": r.effective_state(at),
        "items": [{"sku_id": i.sku_id, "qty": i.qty, "short_qty": i.short_qty} for i in r.items],
        "expires_at": r.expires_at,
        "extended": r.extended_at is not None,
        "created_at": r.created_at,
        "ready_at": r.ready_at,
        "picked_up_at": r.picked_up_at,
        "closed_at": r.closed_at,
        "close_reason": r.close_reason,
    }


def staff_view(reservation: Reservation, at: datetime) -> dict:
    """What store staff see: the shopper and the wrong-code count too."""
    return {
        **view(reservation, at),
        "user_id": reservation.user_id,
        "failed_code_attempts": reservation.failed_code_attempts,
    }


# --- shopper ---------------------------------------------------------------------------------


def _raise_cap(no_shows: int, cfg) -> None:
    if no_shows >= cfg["PICKUP_NO_SHOW_LIMIT"]:
        cap, days = cfg["PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS"], cfg["PICKUP_NO_SHOW_DAYS"]
        raise LimitReached(
            f"{no_shows} holds ran out uncollected in the last {days} days, so you may hold "
            f"only {cap} reservation(s) at a time for now; pick up or cancel one.",
            type="pickup.no_show_limit",
            no_shows=no_shows,
            max_active=cap,
        )
    raise LimitReached("You hold the most active reservations allowed; pick up or cancel one.")


def _raise_unless_held(verdict, lines: dict[int, int]) -> None:
    """The first rule the HOLD statement found broken, as the error the shopper sees."""
    if verdict is None:
        raise stores_lookups.StoreNotFound("Store not found.")
    if not verdict.open:
        raise StoreUnavailable("This store does not take pickup reservations now.")
    if verdict.foreign_skus:
        foreign = sorted(verdict.foreign_skus)
        raise catalog_lookups.SkuNotFound(
            f"SKUs not sold at this store: {foreign}.", sku_ids=foreign
        )
    cfg = current_app.config
    if verdict.too_many:
        _raise_cap(verdict.no_shows, cfg)
    if verdict.over_units:
        over = sorted(verdict.over_units)
        raise LimitReached(
            f"At most {cfg['PICKUP_MAX_UNITS_PER_SKU']} units per SKU may be held: {over}.",
            sku_ids=over,
        )
    if verdict.held != len(lines):  # nothing was held: the statement holds every line or none
        short = verdict.short
        if not short:  # cannot happen under the row locks
            raise inventory_service.OutOfStock("Stock changed while reserving; try again.")
        raise inventory_service.OutOfStock(
            f"{len(short)} item(s) short at this store.", short=short
        )


def _new_view(
    public_id: str,
    store_id: int,
    lines: dict[int, int],
    at: datetime,
    hold_minutes: int,
) -> dict:
    return {
        "id": public_id,
        "store_id": store_id,
        "state": "reserved",
        "items": [{"sku_id": s, "qty": q} for s, q in sorted(lines.items())],
        "expires_at": at + timedelta(minutes=hold_minutes),
        "extended": False,
        "created_at": at,
        "ready_at": None,
        "picked_up_at": None,
        "closed_at": None,
        "close_reason": None,
    }


def reserve(
    *,
    session: Session,
    user_id: int,
    store_id: int,
    items: list[dict],
    idempotency_key: str | None,
    coupon_id: int | None = None,
) -> dict:
    """Hold every item at one store or none (and the coupon, if one); the answer alone shows the
    pickup code."""
    lines = {i["sku_id"]: i["qty"] for i in items}
    payload = {
        "store_id": store_id,
        "items": sorted(lines.items()),
        "coupon_id": coupon_id,
    }
    digest = idempotency.request_hash(payload) if idempotency_key is not None else None
    key_id = reserving.claim(session, user_id=user_id, key=idempotency_key, digest=digest)
    if idempotency_key is not None and key_id is None:
        outcome = idempotency.replay(session, user_id, "pickup.reserve", idempotency_key, digest)
        reservation = _locked_own(session, user_id, outcome.body["id"])
        return {**outcome.body, "pickup_code": _issue_code(reservation)}
    held = hold_items(
        session=session,
        user_id=user_id,
        store_id=store_id,
        lines=lines,
        key_id=key_id if coupon_id is None else None,  # with a coupon, stored once it is held
    )
    reservation_id, body, verdict, code = held
    if coupon_id is not None:
        body["coupon"] = coupon_holds.hold_coupon(
            session=session,
            user_id=user_id,
            coupon_id=coupon_id,
            store_id=store_id,
            merchant_id=verdict.merchant_id,
            reservation_id=reservation_id,
            lines=lines,
        )
        if key_id is not None:
            idempotency.remember(session=session, key_id=key_id, status=201, body=body)
    _emit_view(session, "reservation.created", verdict.merchant_id, body, user_id)
    return {**body, "pickup_code": code}


def hold_items(
    *,
    session: Session,
    user_id: int,
    store_id: int,
    lines: dict[int, int],
    key_id: int | None = None,
    hold_minutes: int | None = None,
    awaiting_payment: bool = False,
    public_id: str | None = None,
):
    """Hold every line at the store or none (the caller serialised the shopper with
    `reserving.claim`); (reservation id, its view, the HOLD verdict, the pickup code).
    Orders hold through here too: `hold_minutes` overrides the store's, `awaiting_payment`
    keeps the hold from being prepared or handed over until it is paid; `public_id` is the
    hold's id when the caller fixed it beforehand (an endless-aisle transfer's)."""
    at, public_id = now(), public_id or str(uuid.uuid4())
    ledger.tag(session, reason="reservation.created", ref=public_id)
    verdict = reserving.hold(session, user_id=user_id, store_id=store_id, lines=lines, at=at)
    _raise_unless_held(verdict, lines)
    minutes = verdict.pickup_hold_minutes if hold_minutes is None else hold_minutes
    body = _new_view(public_id, store_id, lines, at, minutes)
    code = _new_code()
    reservation_id = reserving.insert(
        session,
        body=body,
        user_id=user_id,
        merchant_id=verdict.merchant_id,
        code_hash=code_hash(body["id"], code),
        key_id=key_id,
    )
    if awaiting_payment:
        session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id)
            .values(awaiting_payment=True)
        )
    return reservation_id, body, verdict, code


def _emit_view(session: Session, event_type: str, merchant_id: int, body: dict, user_id: int):
    """The event of a change the fast path made (it has the answer, not the ORM row)."""
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=merchant_id,
        ordering_key=f"reservation:{body['id']}",
        data={**body, "user_id": user_id},
    )


def reissue_code(reservation: Reservation) -> str | None:
    """A fresh pickup code for an active hold (a retried create lost the first one)."""
    return _issue_code(reservation)


def _issue_code(reservation: Reservation) -> str | None:
    # A replay gets a fresh code (the first one was never stored): the retrying client lost it.
    if reservation.effective_state(now()) not in ACTIVE_STATES:
        return None
    code = _new_code()
    reservation.pickup_code_hash = code_hash(reservation.public_id, code)
    return code


def find(session: Session, *conditions, lock: bool = False) -> Reservation:
    """The one reservation matching `conditions` (row-locked and fresh with `lock`); else 404."""
    query = select(Reservation).where(*conditions)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    reservation = session.scalar(query)
    if reservation is None:
        raise ReservationNotFound("Reservation not found.")
    return reservation


def _locked_own(session: Session, user_id: int, public_id: str) -> Reservation:
    return find(
        session,
        Reservation.public_id == public_id,
        Reservation.user_id == user_id,
        lock=True,
    )


def require_transition(reservation: Reservation, target: str, at: datetime) -> None:
    """409 unless the reservation may move to `target` now."""
    state = reservation.effective_state(at)
    if state not in SOURCES[target]:
        raise InvalidTransition(f"A {state} reservation cannot become {target}.", state=state)
    if reservation.awaiting_payment and target != "cancelled":
        raise InvalidTransition(
            f"This order is not paid yet: it cannot become {target}.", state="pending_payment"
        )


def close(
    session: Session,
    reservation: Reservation,
    *,
    state: str,
    by: int | None,
    reason: str,
    at,
) -> None:
    """End an active reservation: release its units, or take them off on_hand when picked up."""
    inventory_service.release_stock(
        session=session,
        lines=[(reservation.store_id, i.sku_id, i.qty) for i in reservation.items],
        consume=state == "picked_up",
        reason=f"reservation.{state}",
        ref=reservation.public_id,
    )
    reservation.state, reservation.closed_at = state, at
    reservation.closed_by_user_id, reservation.close_reason = by, reason
    if state == "picked_up":
        reservation.picked_up_at = at
        coupon_holds.use_held_coupon(
            session=session,
            reservation_id=reservation.id,
            store_id=reservation.store_id,
            staff_user_id=by,
        )
        members_service.on_pickup(session=session, reservation=reservation)
    else:
        coupon_holds.release_held_coupons(session=session, reservation_ids=[reservation.id])
    emit_change(session, reservation, f"reservation.{state}")


def emit_change(session: Session, reservation: Reservation, event_type: str) -> None:
    """The reservation's event (the staff view, as it is now) in this transaction's outbox."""
    session.flush()  # the reservation's row and items, for the event's data
    events_service.emit(
        session=session,
        type=event_type,
        merchant_id=reservation.merchant_id,
        ordering_key=f"reservation:{reservation.public_id}",
        data=staff_view(reservation, now()),
    )


def get_own(*, session: Session, user_id: int, public_id: str) -> dict:
    """One of the shopper's reservations; others' are 404."""
    reservation = find(session, Reservation.public_id == public_id, Reservation.user_id == user_id)
    return view(reservation, now())


def list_own(
    *, session: Session, user_id: int, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """The shopper's reservations, newest first."""
    query = select(Reservation).where(Reservation.user_id == user_id)
    rows, next_cursor = page_by_id(
        session,
        query,
        id_column=Reservation.id,
        kind="reservations",
        limit=limit,
        cursor=cursor,
    )
    at = now()
    return [view(r, at) for r in rows], next_cursor


def cancel_own(*, session: Session, user_id: int, public_id: str) -> dict:
    """The shopper lets go of a reservation; its units go back on sale."""
    at = now()
    ledger.tag(session, reason="reservation.cancelled", ref=public_id)
    row = reserving.cancel(
        session,
        user_id=user_id,
        public_id=public_id,
        reason="Cancelled by shopper.",
        at=at,
    )
    if row is None:  # not theirs (404), or no longer active (409): say which
        reservation = find(
            session, Reservation.public_id == public_id, Reservation.user_id == user_id
        )
        require_transition(reservation, "cancelled", at)
        raise InvalidTransition("This reservation changed meanwhile; try again.")
    if row.holds_coupon:
        coupon_holds.release_held_coupons(session=session, reservation_ids=[row.id])
    body = {
        "id": public_id,
        "store_id": row.store_id,
        "state": "cancelled",
        "items": row.items,
        "expires_at": row.expires_at,
        "extended": row.extended_at is not None,
        "created_at": row.created_at,
        "ready_at": row.ready_at,
        "picked_up_at": row.picked_up_at,
        "closed_at": row.closed_at,
        "close_reason": row.close_reason,
    }
    _emit_view(session, "reservation.cancelled", row.merchant_id, body, user_id)
    return body


def extend_own(*, session: Session, user_id: int, public_id: str) -> dict:
    """Once, while still `reserved`: hold it longer by the store's hold time."""
    reservation = _locked_own(session, user_id, public_id)
    at = now()
    if reservation.effective_state(at) != "reserved" or reservation.extended_at is not None:
        raise InvalidTransition(
            "Only a reserved hold that was not extended yet can be extended.",
            state=reservation.effective_state(at),
        )
    hold = session.scalar(select(Store.pickup_hold_minutes).where(Store.id == reservation.store_id))
    reservation.expires_at += timedelta(minutes=hold)
    reservation.extended_at = at
    emit_change(session, reservation, "reservation.extended")
    return view(reservation, at)
