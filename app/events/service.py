"""The outbox and the merchant's webhook endpoints.

`emit` is what every domain calls, inside its own transaction, right after the change: the event
row (and, by the fan-out trigger, its deliveries) commits or rolls back with the change. Stock
levels are emitted by the triggers on `stock` instead (migration 0008), so no code path can
forget them."""

from datetime import datetime, timedelta

import orjson
from flask import current_app, has_app_context
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from app import prepared
from app.clock import now as _now
from app.errors import NotFound
from app.events import signing, urls
from app.events.models import WebhookEndpoint
from app.pagination import commit_order_page, page_by_id

EVENT_TYPES = (
    "reservation.created",
    "reservation.extended",
    "reservation.ready",
    "reservation.picked_up",
    "reservation.cancelled",
    "reservation.expired",
    "order.created",
    "order.paid",
    "order.offered",
    "order.accepted",
    "order.shipped",
    "order.preparing",
    "order.ready",
    "order.picked_up",
    "order.cancelled",
    "order.expired",
    "order.refunded",
    "order.returned",
    "order.transfer_sent",
    "order.transfer_received",
    "inventory.level.updated",
    "coupon.claimed",
    "coupon.redeemed",
    "coupon.voided",
    "campaign.created",
    "campaign.updated",
    "campaign.ended",
    "post.published",
    "buyer_show.submitted",
    "buyer_show.approved",
    "buyer_show.rejected",
    "store.created",
    "store.updated",
    "store.deleted",
    "store.hours_changed",
    "member.joined",
    "member.left",
    "member.tier_changed",
    "member.points_earned",
    "member.points_redeemed",
    "member.points_refunded",
    "member.points_restored",
    "member.points_expired",
)
# What an endpoint may subscribe to: every type, a whole domain ("reservation.*"), or one type.
SUBSCRIPTIONS = ("*", *sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES}), *EVENT_TYPES)

# Prepared once per connection (app/prepared.py), like the reservation writes they ride with:
# planned once, not on every create and cancel.
_EMIT = text(
    "INSERT INTO events (merchant_id, type, ordering_key, sequence, schema_version, data)"
    " VALUES (CAST(:merchant AS bigint), CAST(:type AS varchar), CAST(:key AS varchar),"
    " next_event_sequence(CAST(:merchant AS bigint), CAST(:key AS text)),"
    " CAST(:version AS smallint), CAST(:data AS jsonb)) RETURNING id"
)


_EMIT_MANY = text(
    "INSERT INTO events (merchant_id, type, ordering_key, sequence, schema_version, data)"
    " SELECT CAST(:merchant AS bigint), CAST(:type AS varchar), x->>'key',"
    " next_event_sequence(CAST(:merchant AS bigint), x->>'key'), CAST(:version AS smallint),"
    " x->'data' FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS t(x, n)"
    " ORDER BY n RETURNING id"
)


class EndpointNotFound(NotFound):
    type = "events.webhook_not_found"


def _outbox_off() -> bool:
    # Only the bench's "without outbox" run turns it off; a job without an app context (a
    # sweeper called from a script or test) still writes its events.
    return has_app_context() and current_app.config["BENCH_WITHOUT_OUTBOX"]


def emit(
    *,
    session: Session,
    type: str,
    merchant_id: int,
    ordering_key: str,
    data: dict,
    schema_version: int = 1,
) -> None:
    """Write one event in the caller's transaction (it goes out only if that commits)."""
    if _outbox_off():
        return
    prepared.write(
        session,
        _EMIT,
        {
            "merchant": merchant_id,
            "type": type,
            "key": ordering_key,
            "version": schema_version,
            "data": orjson.dumps(data).decode(),
        },
    )


def emit_many(
    *,
    session: Session,
    type: str,
    merchant_id: int,
    items: list[tuple[str, dict]],
    schema_version: int = 1,
) -> None:
    """Write one event per (ordering_key, data) in one statement, in the caller's transaction."""
    if _outbox_off() or not items:
        return
    prepared.write(
        session,
        _EMIT_MANY,
        {
            "merchant": merchant_id,
            "type": type,
            "version": schema_version,
            "items": orjson.dumps([{"key": k, "data": d} for k, d in items]).decode(),
        },
    )


def row_data(row, *, exclude: tuple[str, ...] = ()) -> dict:
    """An ORM row's columns as an event's `data` (unloaded ones are read: the row as it is now)."""
    return {
        attr.key: getattr(row, attr.key)
        for attr in inspect(row).mapper.column_attrs
        if attr.key not in exclude
    }


def list_events(
    *, session: Session, merchant_id: int, types: list[str] | None, limit: int, after: str | None
) -> dict:
    """The merchant's events of the retention window, in commit order (a resumable feed)."""
    where = "merchant_id = :merchant AND occurred_at > now() - make_interval(days => :days)"
    params = {"merchant": merchant_id, "days": current_app.config["EVENTS_RETENTION_DAYS"]}
    if types:
        where += " AND type = ANY(:types)"
        params["types"] = types
    rows, next_cursor, resume = commit_order_page(
        session,
        table="events",
        columns="id, public_id, type, merchant_id, ordering_key, sequence, schema_version,"
        " occurred_at, data",
        where=where,
        params=params,
        kind="events",
        limit=limit,
        after=after,
    )
    return {
        "items": [message(r) for r in rows],
        "next_cursor": next_cursor,
        "resume_cursor": resume,
    }


def message(event) -> dict:
    """An event as it is sent and listed (`id` is also the `webhook-id` of every delivery)."""
    e = event  # a dict or a RowMapping
    return {
        "id": f"evt_{e['public_id']}",
        "type": e["type"],
        "merchant_id": e["merchant_id"],
        "ordering_key": e["ordering_key"],
        "sequence": e["sequence"],
        "schema_version": e["schema_version"],
        "occurred_at": e["occurred_at"],
        "timestamp": e["occurred_at"],
        "data": e["data"],
    }


def purge_events(*, session: Session, days: int) -> int:
    """Forget events (with their deliveries) older than `days`; returns how many."""
    return session.execute(
        text("DELETE FROM events WHERE occurred_at < now() - make_interval(days => :days)"),
        {"days": days},
    ).rowcount


# --- endpoints ---------------------------------------------------------------------------------


def _check_url(url: str) -> None:
    urls.check_url(url, allow_loopback=current_app.config["WEBHOOK_ALLOW_LOOPBACK"])


def get_endpoint(*, session: Session, merchant_id: int, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint of the merchant; another merchant's is 404."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.merchant_id != merchant_id:
        raise EndpointNotFound("Webhook endpoint not found.")
    return endpoint


def list_endpoints(*, session: Session, merchant_id: int, limit: int, cursor: str | None):
    """The merchant's endpoints, newest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == merchant_id)
    return page_by_id(
        session, query, id_column=WebhookEndpoint.id, kind="webhooks", limit=limit, cursor=cursor
    )


def create_endpoint(*, session: Session, merchant_id: int, data: dict) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows it once)."""
    _check_url(data["url"])
    endpoint = WebhookEndpoint(
        merchant_id=merchant_id,
        url=data["url"],
        description=data.get("description"),
        event_types=sorted(set(data["event_types"])),
        enabled=True,
        secret=signing.new_secret(),
        consecutive_failures=0,
    )
    session.add(endpoint)
    session.flush()  # the id and defaults for the answer
    return endpoint


def update_endpoint(
    *, session: Session, merchant_id: int, endpoint_id: int, changes: dict
) -> WebhookEndpoint:
    """Change URL, description or event types."""
    endpoint = get_endpoint(session=session, merchant_id=merchant_id, endpoint_id=endpoint_id)
    if "url" in changes:
        _check_url(changes["url"])
    if "event_types" in changes:
        changes = {**changes, "event_types": sorted(set(changes["event_types"]))}
    for field, value in changes.items():
        setattr(endpoint, field, value)
    session.flush()  # updated_at for the answer
    return endpoint


def delete_endpoint(*, session: Session, merchant_id: int, endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log."""
    session.delete(get_endpoint(session=session, merchant_id=merchant_id, endpoint_id=endpoint_id))


def rotate_secret(
    *, session: Session, merchant_id: int, endpoint_id: int, overlap_hours: int
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (beside it) for `overlap_hours`."""
    endpoint = get_endpoint(session=session, merchant_id=merchant_id, endpoint_id=endpoint_id)
    endpoint.previous_secret = endpoint.secret if overlap_hours else None
    endpoint.previous_secret_expires_at = (
        _now() + timedelta(hours=overlap_hours) if overlap_hours else None
    )
    endpoint.secret = signing.new_secret()
    return endpoint


def set_enabled(
    *, session: Session, merchant_id: int, endpoint_id: int, enabled: bool
) -> WebhookEndpoint:
    """Enable (the failure run starts again from 0) or disable an endpoint."""
    endpoint = get_endpoint(session=session, merchant_id=merchant_id, endpoint_id=endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "Disabled by staff."
    if enabled:
        endpoint.consecutive_failures = 0
    return endpoint


def signing_secrets(
    *, secret: str, previous_secret: str | None, previous_expires_at: datetime | None, at: datetime
) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its overlap."""
    if previous_secret and previous_expires_at and previous_expires_at > at:
        return [secret, previous_secret]
    return [secret]
