"""Which request bodies a view takes: JSON unless it says otherwise (else 415), and how large;
and how long a request line may be."""

from functools import wraps

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge

from app.errors import Unsupported

JSON_ONLY = ("application/json",)
# Boundaries and part headers around an upload at its size limit.
MULTIPART_SLACK = 64 * 1024


def accepts(*media_types: str):
    """Mark a view method as taking these request body media types besides JSON."""

    def mark(func):
        func.accepts = (*JSON_ONLY, *media_types)
        return func

    return mark


# The longest request line our own validation can accept is ~7.5 KB (GET /v1/stores/nearby, every
# query parameter at its maximum length in 4-byte characters, percent-encoded); gunicorn takes
# any length (gunicorn.conf.py) and this answers the rest with a problem+json 414.
MAX_REQUEST_LINE = 16 * 1024


def require_short_request_line() -> None:
    """before_request: a request line beyond MAX_REQUEST_LINE bytes is a 414."""
    uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    if len(uri) > MAX_REQUEST_LINE:
        raise RequestURITooLarge(f"The request line may be at most {MAX_REQUEST_LINE:,} bytes.")


def require_accepted_body() -> None:
    """before_request: a body of a media type the view does not take is a 415."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.content_length:
        return
    if request.routing_exception is not None:
        return  # no such path or method: that (404, 405 with Allow) is the answer
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    target = getattr(view_class, request.method.lower(), view) if view_class else view
    accepted = getattr(target, "accepts", JSON_ONLY)
    mimetype = request.mimetype
    if mimetype not in accepted and not (
        mimetype.endswith("+json") and "application/json" in accepted
    ):
        raise Unsupported(f"Content-Type must be one of: {', '.join(accepted)}")


def limit_body(config_key: str):
    """Let one view take bodies up to `config[config_key]` bytes (plus multipart framing)
    instead of the app-wide MAX_CONTENT_LENGTH; an announced larger body is refused unread."""

    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            limit = current_app.config[config_key] + MULTIPART_SLACK
            request.max_content_length = limit  # also caps bodies sent without a length
            if request.content_length and request.content_length > limit:
                raise RequestEntityTooLarge(f"At most {current_app.config[config_key]:,} bytes.")
            return func(*args, **kwargs)

        return wrapper

    return decorate
