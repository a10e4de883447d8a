"""Accounts rules: registration, passwords, token rotation, merchants and staff."""

import hashlib
import re
import secrets
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import current_app
from flask_jwt_extended import create_access_token
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Merchant, RefreshToken, Staff, User
from app.clock import now as _now
from app.errors import Conflict, Invalid, NotFound, Unauthorized
from app.stores import lookups as stores_lookups


class RefreshReused(Unauthorized):
    """A rotated refresh token came back: the caller commits the revocation, then answers 401."""

    type = "accounts.refresh_reused"


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _hasher().hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_user(
    *, session: Session, email: str, password: str, display_name: str, phone: str | None = None
) -> User:
    """A new shopper account; emails are unique whatever their case."""
    user = User(
        email=email.strip(),
        password_hash=hash_password(password),
        display_name=display_name,
        phone=phone,
    )
    try:
        with session.begin_nested():  # a savepoint: the unique index decides, not a prior read
            session.add(user)
    except IntegrityError:
        raise Conflict("An account with this email exists.", type="accounts.email_taken") from None
    return user


def get_user_by_email(*, session: Session, email: str) -> User | None:
    """The user with this email, any case."""
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(*, session: Session, email: str, password: str) -> User:
    """The user whose password matches, else 401 (same answer for unknown emails)."""
    user = get_user_by_email(session=session, email=email)
    hasher = _hasher()
    try:
        # Unknown emails still pay for one hash, so timing does not tell which emails exist.
        hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except VerificationError:
        user = None
    if user is None:
        raise Unauthorized("Wrong email or password.", type="accounts.bad_credentials")
    return user


_DUMMY: dict[tuple, str] = {}


def _dummy_hash() -> str:
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    if key not in _DUMMY:
        _DUMMY[key] = hash_password(secrets.token_hex(16))
    return _DUMMY[key]


def issue_tokens(*, session: Session, user_id: int, family_id: str | None = None) -> dict:
    """An access JWT and a new refresh token in the login's family."""
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or str(uuid.uuid4()),
            token_hash=_token_hash(refresh),
            expires_at=_now() + timedelta(days=current_app.config["REFRESH_TOKEN_DAYS"]),
        )
    )
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(identity=str(user_id)),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def _locked_refresh(session: Session, token: str) -> RefreshToken:
    row = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _token_hash(token)).with_for_update()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= _now():
        raise Unauthorized("Invalid or expired refresh token.", type="accounts.invalid_refresh")
    return row


def rotate_refresh_token(*, session: Session, token: str) -> dict:
    """New tokens for a live refresh token; a rotated one presented again revokes its login."""
    row = _locked_refresh(session, token)
    if row.used_at is not None:
        revoke_family(session=session, family_id=row.family_id)
        raise RefreshReused("Refresh token reused; this login is revoked.")
    row.used_at = _now()
    return issue_tokens(session=session, user_id=row.user_id, family_id=row.family_id)


def revoke_family(*, session: Session, family_id: str) -> None:
    """Revoke every refresh token of one login."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def logout(*, session: Session, token: str) -> None:
    """Revoke the login a refresh token belongs to."""
    row = _locked_refresh(session, token)
    revoke_family(session=session, family_id=row.family_id)


def get_user(*, session: Session, user_id: int) -> User:
    """A user by id, 404 when gone."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def update_user(*, session: Session, user_id: int, changes: dict) -> User:
    """Apply profile changes (display name, phone, language)."""
    user = get_user(session=session, user_id=user_id)
    for key, value in changes.items():
        setattr(user, key, value)
    return user


# --- merchants and staff -------------------------------------------------------------------


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "merchant"


def create_merchant(
    *, session: Session, name: str, owner_email: str
) -> tuple[Merchant, str | None]:
    """A merchant with its first owner; a new owner account gets a one-time password."""
    merchant = Merchant(name=name, slug=f"{_slugify(name)}-{secrets.token_hex(3)}")
    session.add(merchant)
    password = None
    user = get_user_by_email(session=session, email=owner_email)
    if user is None:
        password = secrets.token_urlsafe(12)
        user = register_user(
            session=session,
            email=owner_email,
            password=password,
            display_name=owner_email.split("@")[0][:80],
        )
    session.add(Staff(merchant=merchant, user=user, role="owner", store_ids=[]))
    session.flush()  # ids for the caller to print
    return merchant, password


def get_merchant(*, session: Session, merchant_id: int) -> Merchant:
    """A merchant by id, 404 when unknown."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("Merchant not found.")
    return merchant


def update_merchant(*, session: Session, merchant_id: int, changes: dict) -> Merchant:
    """Apply changes to the merchant's profile."""
    merchant = get_merchant(session=session, merchant_id=merchant_id)
    for key, value in changes.items():
        setattr(merchant, key, value)
    return merchant


def list_staff(*, session: Session, merchant_id: int) -> list[Staff]:
    """Staff of a merchant, oldest first."""
    return list(
        session.scalars(select(Staff).where(Staff.merchant_id == merchant_id).order_by(Staff.id))
    )


def _check_store_scope(session: Session, merchant_id: int, role: str, store_ids: list[int]) -> None:
    if role != "store_manager":
        if store_ids:
            raise Invalid("store_ids", "Only store managers are scoped to stores.")
        return
    if not store_ids:
        raise Invalid("store_ids", "A store manager needs at least one store.")
    stores_lookups.require_merchant_stores(
        session=session, merchant_id=merchant_id, store_ids=store_ids, detail="Stores not found"
    )


def add_staff(
    *, session: Session, merchant_id: int, email: str, role: str, store_ids: list[int]
) -> Staff:
    """Make an existing account staff of the merchant."""
    user = get_user_by_email(session=session, email=email)
    if user is None:
        raise Invalid("email", "No account with this email; ask them to register first.")
    _check_store_scope(session, merchant_id, role, store_ids)
    staff = Staff(
        merchant_id=merchant_id, user_id=user.id, role=role, store_ids=sorted(set(store_ids))
    )
    try:
        with session.begin_nested():
            session.add(staff)
    except IntegrityError:
        raise Conflict(
            "This account is already staff here.", type="accounts.staff_exists"
        ) from None
    return staff


def get_staff(*, session: Session, merchant_id: int, user_id: int, lock: bool = False) -> Staff:
    """One staff member of the merchant; other merchants' staff are 404."""
    query = select(Staff).where(Staff.merchant_id == merchant_id, Staff.user_id == user_id)
    staff = session.scalar(query.with_for_update() if lock else query)
    if staff is None:
        raise NotFound("Staff member not found.")
    return staff


def _lock_owners(session: Session, merchant_id: int) -> int:
    # Locking the merchant row serialises owner changes: two owners removing each other at once
    # cannot leave the merchant with none.
    session.execute(select(Merchant.id).where(Merchant.id == merchant_id).with_for_update())
    return session.scalar(
        select(func.count())
        .select_from(Staff)
        .where(Staff.merchant_id == merchant_id, Staff.role == "owner")
    )


def change_staff(*, session: Session, merchant_id: int, user_id: int, changes: dict) -> Staff:
    """Change a staff member's role or store scope; the last owner stays an owner."""
    owners = _lock_owners(session, merchant_id)
    staff = get_staff(session=session, merchant_id=merchant_id, user_id=user_id)
    role = changes.get("role", staff.role)
    store_ids = changes.get("store_ids", staff.store_ids if role == "store_manager" else [])
    if staff.role == "owner" and role != "owner" and owners <= 1:
        raise Conflict("The last owner cannot be demoted.", type="accounts.last_owner")
    _check_store_scope(session, merchant_id, role, store_ids)
    staff.role, staff.store_ids = role, sorted(set(store_ids))
    return staff


def remove_staff(*, session: Session, merchant_id: int, user_id: int) -> None:
    """Remove a staff member; the last owner cannot be removed."""
    owners = _lock_owners(session, merchant_id)
    staff = get_staff(session=session, merchant_id=merchant_id, user_id=user_id)
    if staff.role == "owner" and owners <= 1:
        raise Conflict("The last owner cannot be removed.", type="accounts.last_owner")
    session.delete(staff)


def memberships(*, session: Session, user_id: int) -> list[Staff]:
    """Every merchant a user is staff of."""
    return list(session.scalars(select(Staff).where(Staff.user_id == user_id)))
