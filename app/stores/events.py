"""The store domain's outbox events (key `store:<id>`), written in the caller's transaction:
`store.created|updated|deleted` carry the store as it is now, `store.hours_changed` the weekly
hours or the one date whose hours were set or cleared."""

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.events import service as events_service

# The rows as stored (one statement for an import of up to 1000): every column but the derived
# ones, with the location as {lat, lng}.
_STORES = text(
    "SELECT id, merchant_id, to_jsonb(s) - 'location' - 'open_minutes'"
    " || jsonb_build_object('location', jsonb_build_object("
    "    'lat', ST_Y(location::geometry), 'lng', ST_X(location::geometry))) AS data"
    " FROM stores s WHERE id = ANY(:ids) ORDER BY id"
)


def stores_changed(session: Session, event_type: str, merchant_id: int, ids: list[int]) -> None:
    """One `event_type` event per store in `ids`, with the row as this transaction sees it."""
    if not ids:
        return
    session.flush()  # pending attribute changes are in the rows read below
    rows = session.execute(_STORES, {"ids": ids}).all()
    events_service.emit_many(
        session=session,
        type=event_type,
        merchant_id=merchant_id,
        items=[(f"store:{r.id}", r.data) for r in rows],
    )


def hours_changed(
    session: Session,
    merchant_id: int,
    store_id: int,
    *,
    hours: dict | None = None,
    day: dt.date | None = None,
    exception: dict | None = None,
) -> None:
    """`store.hours_changed`: the new weekly `hours`, or the `day` with its exception (None:
    back to the weekly hours)."""
    data = {"store_id": store_id}
    if day is None:
        data |= {"scope": "weekly", "hours": hours}
    else:
        data |= {"scope": "date", "date": day, "exception": exception}
    events_service.emit(
        session=session,
        type="store.hours_changed",
        merchant_id=merchant_id,
        ordering_key=f"store:{store_id}",
        data=data,
    )
