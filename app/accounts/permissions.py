"""Who is asking: the login check and the one staff permission check every admin view uses."""

import time
from copy import deepcopy
from dataclasses import dataclass
from functools import wraps
from http import HTTPStatus

from flask import current_app, g, make_response, request
from flask_jwt_extended import get_jwt, get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_limiter.util import get_remote_address
from jwt import PyJWTError

from app.accounts import service as accounts_service
from app.errors import Forbidden, Invalid, NotFound, problem
from app.extensions import db
from app.stores.lookups import StoreNotFound

MERCHANT_HEADER = "X-Merchant-ID"
MAX_ID = 2**63 - 1  # bigint
ALL_ROLES = frozenset({"owner", "operator", "store_manager", "service"})


@dataclass(frozen=True)
class StaffContext:
    """The merchant an admin request acts for, and the caller's role there."""

    user_id: int
    merchant_id: int
    role: str
    store_ids: tuple[int, ...]

    @property
    def store_scope(self) -> tuple[int, ...] | None:
        """The stores the caller may touch: a store manager's own, else None (all of them)."""
        return self.store_ids if self.role == "store_manager" else None

    def require_store(self, store_id: int) -> None:
        """404 for a store outside the caller's scope, as if it did not exist."""
        if self.store_scope is not None and store_id not in self.store_scope:
            raise StoreNotFound("Store not found.")


BEARER_REQUIRED = [{"bearerAuth": []}]
# Anyone may call; a token, when sent, must be valid (else 401) and personalises the answer.
BEARER_OPTIONAL = [{}, {"bearerAuth": []}]


MERCHANT_HEADER_MARK = "x-merchant-header"
MERCHANT_HEADER_PARAMETER = {
    "in": "header",
    "name": MERCHANT_HEADER,
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "description": "The merchant to act for; needed by staff of several merchants.",
}


def _document(
    wrapper,
    *,
    error_codes: tuple[int, ...],
    merchant_header: bool = False,
    security: list[dict] = BEARER_REQUIRED,
) -> None:
    # flask-smorest reads `_apidoc` when the view is registered: add the bearer scheme and the
    # errors this check can answer (its named response components), so the contract shows them.
    doc = deepcopy(getattr(wrapper, "_apidoc", {}))
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for code in error_codes:
        responses.setdefault(code, []).append(HTTPStatus(code).name)
    manual = doc.setdefault("manual_doc", {})
    manual["security"] = security
    if merchant_header:
        # A marker, not `parameters`: flask-smorest would let a manual list replace the view's
        # own query parameters. app/contract.py turns it into the header parameter.
        manual[MERCHANT_HEADER_MARK] = True
    wrapper._apidoc = doc


# Verified access tokens by their Authorization header, per app (each has its own key): a phone
# sends the same token for up to 15 minutes, and flask-jwt-extended decodes it twice a request
# (unverified for the key, then verified), ~1 ms of a like's Python (cProfile,
# docs/PERFORMANCE.md). Access tokens are stateless (nothing revokes one before it expires), so
# a token verified once holds until its `exp`, checked on every hit as PyJWT would.
VERIFIED_TOKENS_MAX = 10_000


def _identity(*, optional: bool) -> int | None:
    """The signed-in user's id from the request's access token (None: no token, if optional);
    a missing, bad or expired token raises flask-jwt-extended's and PyJWT's errors."""
    header = request.headers.get("Authorization")
    verified = current_app.extensions.setdefault("shopnear_verified_tokens", {})
    hit = verified.get(header) if header else None
    if hit is not None and hit[1] > time.time():
        return hit[0]
    verify_jwt_in_request(optional=optional)
    identity = get_jwt_identity()
    if not identity:
        return None
    if len(verified) >= VERIFIED_TOKENS_MAX:
        verified.clear()
    verified[header] = (int(identity), get_jwt()["exp"])
    return int(identity)


def current_user_id() -> int:
    """The signed-in user's id (after login_required)."""
    return g.user_id


def per_user_key(scope: str):
    """A rate-limit key: the signed-in user, else the client's address. It runs before the
    view's own login check, so it reads the token itself (the check then finds it verified);
    a bad token counts as no token (the view then answers 401)."""

    def key() -> str:
        try:
            identity = _identity(optional=True)
        except (JWTExtendedException, PyJWTError):
            identity = None
        return f"{scope}:user:{identity}" if identity else f"{scope}:ip:{get_remote_address()}"

    return key


def login_required(func):
    """A valid access token is required; sets g.user_id."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        g.user_id = _identity(optional=False)
        return func(*args, **kwargs)

    _document(wrapper, error_codes=(401,))
    return wrapper


def optional_login(func):
    """Sign-in is optional; sets g.user_id to the user or None."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        g.user_id = _identity(optional=True)
        return func(*args, **kwargs)

    _document(wrapper, error_codes=(401,), security=BEARER_OPTIONAL)
    return wrapper


def _resolve_staff(user_id: int) -> StaffContext:
    memberships = accounts_service.memberships(session=db.session, user_id=user_id)
    if not memberships:
        raise Forbidden("You are not staff of any merchant.", type="accounts.not_staff")
    named = request.headers.get(MERCHANT_HEADER)
    if named is None:
        if len(memberships) > 1:
            raise Invalid(MERCHANT_HEADER, "Required: you are staff of several merchants.")
        staff = memberships[0]
    else:
        if not (named.isascii() and named.isdigit() and 1 <= int(named) <= MAX_ID):
            raise Invalid(MERCHANT_HEADER, "Must be a merchant id.")
        staff = next((m for m in memberships if m.merchant_id == int(named)), None)
        if staff is None:
            raise NotFound("Merchant not found.", type="accounts.merchant_not_found")
    return StaffContext(user_id, staff.merchant_id, staff.role, tuple(staff.store_ids or ()))


def staff_required(*roles: str):
    """Staff of the named merchant with one of `roles`; the view gets `staff=StaffContext`."""
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            g.user_id = _identity(optional=False)
            staff = _resolve_staff(g.user_id)
            if staff.role not in allowed:
                raise Forbidden(
                    f"Your role ({staff.role}) cannot do this.", type="accounts.role_forbidden"
                )
            return func(*args, staff=staff, **kwargs)

        _document(wrapper, error_codes=(401, 403, 404), merchant_header=True)
        return wrapper

    return decorate


def _jwt_problem(detail: str):
    body, status, headers = problem(
        401, "Unauthorized", type="accounts.invalid_token", detail=detail
    )
    return make_response(body, status, headers)


def register_jwt_problems(jwt) -> None:
    """Token failures answer 401 problem+json like every other error."""
    jwt.unauthorized_loader(lambda reason: _jwt_problem(reason))
    jwt.invalid_token_loader(lambda reason: _jwt_problem(f"Invalid token: {reason}"))
    jwt.expired_token_loader(lambda header, payload: _jwt_problem("Token has expired."))
