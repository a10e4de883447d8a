"""Which request body media types a view takes: JSON unless it says otherwise (else 415)."""

from flask import current_app, request

from app.errors import Unsupported

JSON_ONLY = ("application/json",)


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
