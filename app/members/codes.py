"""The rotating member code shown at the till, and its QR as SVG.

A code is stateless: 8 random bytes, then the member id and the expiry encrypted with a keystream
(HMAC-SHA256 of the nonce under a key derived from SECRET_KEY), then a 12-byte HMAC tag over both.
It reveals nothing (neither the member nor the merchant) and cannot be forged or altered; it is
valid MEMBER_CODE_SECONDS (60 by default) and may be scanned again within that time (a till
re-scan). Base32 keeps it in the QR's compact alphanumeric mode.
"""

import base64
import hashlib
import hmac
import io
import secrets
import struct
from datetime import UTC, datetime, timedelta

import segno
from flask import current_app

from app.errors import ApiError

PREFIX = "SNM1"
_PLAIN = struct.Struct(">QQ")  # member id, expiry (unix seconds)


class InvalidCode(ApiError):
    status, type, title = 422, "members.invalid_code", "Invalid member code"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"code": [detail]})


class CodeExpired(InvalidCode):
    type, title = "members.code_expired", "Member code expired"


def _key(purpose: str) -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"members.code.{purpose}".encode(), hashlib.sha256).digest()


def _mask(nonce: bytes) -> bytes:
    return hmac.new(_key("enc"), nonce, hashlib.sha256).digest()[: _PLAIN.size]


def _tag(body: bytes) -> bytes:
    return hmac.new(_key("mac"), body, hashlib.sha256).digest()[:12]


def issue(*, member_id: int, at: datetime) -> tuple[str, datetime]:
    """A fresh code for the member and when it stops working."""
    expires_at = at + timedelta(seconds=current_app.config.get("MEMBER_CODE_SECONDS", 60))
    nonce = secrets.token_bytes(8)
    plain = _PLAIN.pack(member_id, int(expires_at.timestamp()))
    body = nonce + bytes(a ^ b for a, b in zip(plain, _mask(nonce), strict=True))
    raw = base64.b32encode(body + _tag(body)).decode().rstrip("=")
    return PREFIX + raw, expires_at.replace(microsecond=0)


def read(*, code: str, at: datetime) -> int:
    """The member id a genuine, unexpired code names; else 422 saying which."""
    code = code.strip().upper()
    if not code.startswith(PREFIX):
        raise InvalidCode("Not a member code.")
    try:
        raw = base64.b32decode(code[len(PREFIX) :] + "=" * (-len(code[len(PREFIX) :]) % 8))
    except ValueError:
        raise InvalidCode("Not a member code.") from None
    body, tag = raw[:-12], raw[-12:]
    if len(body) != 8 + _PLAIN.size or not hmac.compare_digest(tag, _tag(body)):
        raise InvalidCode("Not a member code.")
    nonce, cipher = body[:8], body[8:]
    member_id, expires = _PLAIN.unpack(
        bytes(a ^ b for a, b in zip(cipher, _mask(nonce), strict=True))
    )
    if datetime.fromtimestamp(expires, UTC) <= at:
        raise CodeExpired("This member code has expired; show a fresh one.")
    return member_id


def qr_svg(code: str) -> str:
    """The code as a QR image (SVG markup)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return out.getvalue().decode()
