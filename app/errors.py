"""problem+json (RFC 9457) errors: the one place exceptions become HTTP responses."""

import logging
import time
import traceback
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import marshmallow as ma
import psycopg2
import sqlalchemy.exc
from flask import Flask, current_app, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from app import i18n

log = logging.getLogger("shopnear.errors")
PROBLEM = "application/problem+json"


class ApiError(Exception):
    """A domain error: services raise these; the handler renders them."""

    status = 400
    type = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, type: str | None = None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if type:
            self.type = type
        self.extra = extra


class NotFound(ApiError):
    status, type, title = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, type, title = 409, "conflict", "Conflict"


class Forbidden(ApiError):
    status, type, title = 403, "forbidden", "Forbidden"


class Unauthorized(ApiError):
    status, type, title = 401, "unauthorized", "Unauthorized"


class Invalid(ApiError):
    """Input that is well-formed but breaks a rule; names the offending field."""

    status, type, title = 422, "validation_error", "Validation failed"

    def __init__(self, field: str, message: str, **extra):
        super().__init__(f"{field}: {message}", errors={field: [message]}, **extra)


class ProblemSchema(ma.Schema):  # plain strings: a problem echoes what the client sent
    """RFC 9457 problem details (documentation only); a problem may carry extension members
    (e.g. `sku_ids` of the SKUs not found)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"example": "validation_error"})
    title = ma.fields.String(metadata={"example": "Validation failed"})
    status = ma.fields.Integer(metadata={"example": 422})
    detail = ma.fields.String(metadata={"example": "lat: Must be between -90 and 90."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"example": {"lat": ["Must be greater than or equal to -90."]}},
    )
    request_id = ma.fields.String()


def problem(
    status: int, title: str, *, type: str, detail: str | None = None, headers=None, **extra
):
    """Build a problem+json response tuple (title and detail in the reader's language)."""
    title, detail = i18n.translate(title), i18n.translate(detail or title)
    body = {"type": type, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    body["request_id"] = g.get("request_id")
    hdrs = {"Content-Type": PROBLEM, "Content-Language": i18n.reader_language()}
    hdrs.update(headers or {})
    return body, status, hdrs


_LOCATIONS = {"json", "query", "form", "files", "headers", "view_args", "cookies"}


def field_errors(messages) -> dict[str, list[str]]:
    """webargs messages ({location: {field: msgs}}) → {"items.0.qty": [msgs]}."""
    if isinstance(messages, dict) and messages and set(messages) <= _LOCATIONS:
        merged: dict = {}
        for location_messages in messages.values():
            if isinstance(location_messages, dict):
                merged.update(location_messages)
            else:
                merged.setdefault("_body", []).extend(location_messages)
        messages = merged
    return _flatten(messages)


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        values = messages if isinstance(messages, list | tuple) else [messages]
        return {prefix or "_body": [str(v) for v in values]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())


class ProblemApi(Api):
    """flask-smorest Api whose error bodies are problem+json."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the errors it can answer
    # (app/contract.py), so a client knows them all and an undeclared status is a bug.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        """The named error responses (NOT_FOUND, …) as problem+json, lazily registered."""
        for status in HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
                prepare_response(response, self.spec, PROBLEM)
                self.spec.components.response(status.name, response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        # The exception's own headers (Allow on a 405, …) without its HTML content type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        extra = {}
        if error.code == 429:
            wait = _retry_after(error)
            headers.setdefault("Retry-After", str(wait))
            extra["try_again_at"] = (
                datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=wait)
            ).isoformat()
        messages = data.get("errors") or data.get("messages")
        if messages:
            errors = field_errors(messages)
            return problem(
                error.code,
                _title(error.code),
                type=_type(error.code),
                detail=_summary(errors),
                errors=errors,
                headers=headers,
            )
        detail = data.get("message") or error.description
        return problem(
            error.code, error.name, type=_type(error.code), detail=detail, headers=headers, **extra
        )


def _retry_after(error) -> int:
    """Seconds until the breached window resets (the limiter knows when), else its length."""
    from app.extensions import limiter  # extensions imports this module

    current = limiter.current_limit
    if current is not None and current.breached:
        return max(1, int(current.reset_at - time.time()) + 1)
    limit = getattr(error, "limit", None)
    try:
        return max(1, int(limit.limit.get_expiry()))
    except AttributeError:
        return 60


_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def _type(status: int) -> str:
    return _TYPES.get(status, "http_error")


def _title(status: int) -> str:
    return "Validation failed" if status == 422 else _type(status).replace("_", " ").capitalize()


def handle_api_error(error: ApiError):
    """Domain errors raised by services."""
    return problem(error.status, error.title, type=error.type, detail=error.detail, **error.extra)


def handle_unexpected(error: Exception):
    """Anything else: logged with its trace, answered without one."""
    if isinstance(error, HTTPException):
        return error
    if isinstance(error, sqlalchemy.exc.StatementError):
        # PostgreSQL's message quotes the offending values (codes, positions): log the
        # statement with its placeholders and where it failed, not what it said.
        log.error(
            "unhandled database error on %s %s",
            request.method,
            request.path,
            extra={"fields": _statement_failure(error)},
        )
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(
        500,
        "Internal server error",
        type="internal_error",
        detail="Something went wrong on our side; quote the request id.",
    )


# The database failing us is not the client's fault and not a bug: 503 with Retry-After, so
# clients and load balancers retry (docs/RELIABILITY.md). Raw psycopg2 errors come from
# app/prepared.py, which talks to the driver directly.
DATABASE_FAILURES = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)
_PG_CODES = {
    "57014": ("database.timeout", "The query ran longer than allowed."),
    "55P03": ("database.lock_timeout", "Waited too long for a lock held by another request."),
    "40P01": ("database.conflict", "Another request changed the same rows; retry."),
    "40001": ("database.conflict", "Another request changed the same rows; retry."),
}


def _release_dead_session(_error: BaseException | None) -> None:
    """End the request's session before Flask-SQLAlchemy does: when the database went away during
    the request, the rollback of the closing session fails too ("connection already closed"), and
    that failure, raised after the answer was made, would replace the 503 with gunicorn's 500."""
    from app.extensions import db  # app.extensions imports this module

    try:
        db.session.remove()
    except DATABASE_FAILURES:
        with suppress(*DATABASE_FAILURES):
            db.session().invalidate()  # the pool forgets the dead connection and opens a new one
        db.session.registry.clear()
        log.warning("dropped a dead database connection at the end of a request")


def register_session_teardown(app) -> None:
    """Run after Flask-SQLAlchemy's teardown is registered (teardowns run newest first)."""
    app.teardown_appcontext(_release_dead_session)


def handle_database_failure(error: Exception):
    """The database is down, cut off, too slow or the pool is full: 503, retry later."""
    if isinstance(error, sqlalchemy.exc.TimeoutError):
        type_, detail = "database.busy", "Every database connection is in use."
    else:
        code = getattr(getattr(error, "orig", error), "pgcode", None)
        type_, detail = _PG_CODES.get(
            code, ("database.unavailable", "The database is unreachable.")
        )
    # The class and code only: the message would quote the SQL and its parameters (positions).
    log.warning(
        "database failure on %s %s: %s", request.method, request.path, type_,
        extra={"fields": {"error": type(error).__name__}},
    )  # fmt: skip
    retry_after = str(current_app.config.get("DB_RETRY_AFTER_SECONDS", 2))
    return problem(
        503, "Service unavailable", type=type_, detail=detail, headers={"Retry-After": retry_after}
    )


def _statement_failure(error: sqlalchemy.exc.StatementError) -> dict:
    return {
        "error": type(getattr(error, "orig", None) or error).__name__,
        "pgcode": getattr(getattr(error, "orig", None), "pgcode", None),
        "statement": error.statement,
        "trace": "".join(traceback.format_tb(error.__traceback__)),
    }


def register_error_handlers(app: Flask) -> None:
    """Wire ApiError and unexpected exceptions into problem+json."""
    app.register_error_handler(ApiError, handle_api_error)
    for failure in DATABASE_FAILURES:
        app.register_error_handler(failure, handle_database_failure)
    app.register_error_handler(Exception, handle_unexpected)


class Unsupported(ApiError):
    status, type, title = 415, "unsupported_media_type", "Unsupported media type"
