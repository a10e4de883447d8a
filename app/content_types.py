"""Which request bodies a view takes: JSON unless it says otherwise (else 415), and how large."""

from functools import wraps

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

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


def require_accepted_body() -> None:
    """before_request: a body of a media type the view does not take is a 415."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.content_length:
        return
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
