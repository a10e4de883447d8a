"""The pickup pass: a short-lived signed token naming one reservation at one store, and its QR.

The token is signed with the app's key (itsdangerous, as cursors are) and carries the time it was
made; it is accepted for PICKUP_PASS_SECONDS, so a screenshot taken earlier is refused, and only
at the reservation's store. It works once because a collected reservation is no longer `ready`.
"""

import io
from datetime import timedelta

import segno
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import Invalid
from app.pickup.models import ACTIVE_STATES, Reservation
from app.pickup.service import InvalidTransition, find, now

_SALT = "pickup-pass"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue(*, public_id: str, store_id: int, at) -> dict:
    """A new pass for the reservation: the token, when it stops working, and its QR as SVG."""
    token = _serializer().dumps([public_id, store_id])
    buffer = io.BytesIO()
    segno.make(token, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    seconds = current_app.config["PICKUP_PASS_SECONDS"]
    return {
        "token": token,
        "expires_at": at + timedelta(seconds=seconds),
        "qr_svg": buffer.getvalue().decode(),
    }


def read(token: str, *, store_id: int) -> str:
    """The reservation a pass names, if it is fresh, genuine and for this store; else 422."""
    seconds = current_app.config["PICKUP_PASS_SECONDS"]
    try:
        public_id, pass_store = _serializer().loads(token, max_age=seconds)
    except SignatureExpired:
        raise Invalid("pass", "This pass has expired: ask the shopper to open it again.") from None
    except (BadSignature, ValueError, TypeError):
        raise Invalid("pass", "Not a pickup pass.") from None
    if pass_store != store_id:
        raise Invalid("pass", "This pass is for another store.")
    return public_id


def own_pass(*, session, user_id: int, public_id: str) -> dict:
    """A fresh pass for one of the shopper's active reservations; others' are 404."""
    reservation = find(session, Reservation.public_id == public_id, Reservation.user_id == user_id)
    at = now()
    state = reservation.effective_state(at)
    if state not in ACTIVE_STATES:
        raise InvalidTransition(f"A {state} reservation has no pickup pass.", state=state)
    return issue(public_id=reservation.public_id, store_id=reservation.store_id, at=at)
