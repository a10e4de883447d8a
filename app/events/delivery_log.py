"""What a merchant sees of deliveries (each with its attempts) and the manual redelivery."""

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.events import service as events_service
from app.events.models import WebhookAttempt, WebhookDelivery
from app.pagination import page_by_id


class DeliveryNotFound(NotFound):
    type = "events.delivery_not_found"


class EndpointDisabled(Conflict):
    type = "events.webhook_disabled"


# --- deliveries --------------------------------------------------------------------------------


def list_deliveries(
    *,
    session: Session,
    merchant_id: int,
    endpoint_id: int,
    status: str | None,
    limit: int,
    cursor: str | None,
):
    """An endpoint's deliveries, newest first, each with its attempts."""
    events_service.get_endpoint(session=session, merchant_id=merchant_id, endpoint_id=endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    rows, next_cursor = page_by_id(
        session, query, id_column=WebhookDelivery.id, kind="deliveries", limit=limit, cursor=cursor
    )
    views = _delivery_view(session, rows)
    return [views[d.id] for d in rows], next_cursor


def _delivery_view(session: Session, deliveries) -> dict[int, dict]:
    ids = [d.id for d in deliveries]
    events = dict(
        session.execute(
            text("SELECT id, json_build_array(public_id, type) FROM events WHERE id = ANY(:ids)"),
            {"ids": [d.event_id for d in deliveries]},
        ).all()
    )
    attempts: dict[int, list] = {i: [] for i in ids}
    for a in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.id)
    ):
        attempts[a.delivery_id].append(a)
    return {
        d.id: {
            "id": d.id,
            "event_id": f"evt_{events[d.event_id][0]}",
            "event_type": events[d.event_id][1],
            "ordering_key": d.ordering_key,
            "sequence": d.sequence,
            "status": d.status,
            "attempt_count": d.attempts,
            "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
            "created_at": d.created_at,
            "finished_at": d.finished_at,
            "attempts": attempts[d.id],
        }
        for d in deliveries
    }


def redeliver(*, session: Session, merchant_id: int, endpoint_id: int, delivery_id: int) -> dict:
    """Send a delivery's event again, as a new delivery (same webhook-id), as soon as possible."""
    endpoint = events_service.get_endpoint(
        session=session, merchant_id=merchant_id, endpoint_id=endpoint_id
    )
    old = session.get(WebhookDelivery, delivery_id)
    if old is None or old.endpoint_id != endpoint.id:
        raise DeliveryNotFound("Delivery not found.")
    if not endpoint.enabled:
        raise EndpointDisabled("The endpoint is disabled; enable it first.")
    again = WebhookDelivery(
        merchant_id=merchant_id,
        endpoint_id=endpoint.id,
        event_id=old.event_id,
        ordering_key=old.ordering_key,
        sequence=old.sequence,
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )
    session.add(again)
    session.flush()  # its id and defaults for the answer
    return _delivery_view(session, [again])[again.id]
