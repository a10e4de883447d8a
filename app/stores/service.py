"""Store rules for merchant staff: create, read, change, deactivate, import, hours exceptions."""

import datetime as dt
from contextlib import contextmanager

from geoalchemy2 import WKTElement
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import cache
from app.errors import Conflict, NotFound
from app.geo import point_ewkt
from app.stores import events, lookups
from app.stores.models import Store, StoreHoursException

# What a store manager may change on their own stores; everything else is for owners/operators.
MANAGER_FIELDS = frozenset({"hours", "pickup_enabled", "pickup_hold_minutes"})
# An imported row describes the whole store: what it leaves out goes back to these.
IMPORT_DEFAULTS = {
    "phone": None,
    "pickup_enabled": True,
    "pickup_hold_minutes": 120,
    "hours": {},
    "is_active": True,
}


def _columns(data: dict) -> dict:
    """API fields → column values (the location becomes a geography point)."""
    values = dict(data)
    location = values.pop("location", None)
    if location is not None:
        values["location"] = WKTElement(point_ewkt(location["lat"], location["lng"]), extended=True)
    return values


def create_store(*, session: Session, merchant_id: int, data: dict) -> Store:
    """A new store of the merchant."""
    store = Store(merchant_id=merchant_id, **_columns(data))
    with _unique_code(session):
        session.add(store)
    events.stores_changed(session, "store.created", merchant_id, [store.id])
    return store


@contextmanager
def _unique_code(session: Session):
    # A savepoint: the unique index on (merchant_id, code) decides, not a prior read.
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict("Another store of yours has this code.", type="stores.code_taken") from None


def list_stores(
    *,
    session: Session,
    merchant_id: int,
    store_ids: tuple[int, ...] | None,
    after_id: int | None,
    limit: int,
    include_inactive: bool = True,
) -> tuple[list[Store], int | None]:
    """A page of the merchant's stores by id (only `store_ids` when given), and the next id."""
    query = (
        select(Store).where(Store.merchant_id == merchant_id).order_by(Store.id).limit(limit + 1)
    )
    if store_ids is not None:
        query = query.where(Store.id.in_(store_ids))
    if after_id is not None:
        query = query.where(Store.id > after_id)
    if not include_inactive:
        query = query.where(Store.is_active)
    stores = list(session.scalars(query))
    more = len(stores) > limit
    return stores[:limit], stores[limit - 1].id if more else None


def update_store(*, session: Session, merchant_id: int, store_id: int, changes: dict) -> Store:
    """Apply changes to a store of the merchant."""
    store = lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    cache.invalidate(session, "store", store_id)
    with _unique_code(session):  # flushing also recomputes open_minutes from new hours
        for key, value in _columns(changes).items():
            setattr(store, key, value)
    if changes:  # an empty PATCH changed nothing: no event
        events.stores_changed(session, "store.updated", merchant_id, [store_id])
    if "hours" in changes:
        events.hours_changed(session, merchant_id, store_id, hours=changes["hours"])
    return store


def deactivate_store(*, session: Session, merchant_id: int, store_id: int) -> None:
    """Hide a store from shoppers; its history stays (PATCH is_active=true brings it back)."""
    store = lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    cache.invalidate(session, "store", store_id)
    store.is_active = False
    events.stores_changed(session, "store.deleted", merchant_id, [store_id])


def import_stores(*, session: Session, merchant_id: int, rows: list[dict]) -> dict:
    """Insert or update (by code) up to 1000 validated stores in one statement."""
    values = [{**IMPORT_DEFAULTS, **_columns(row), "merchant_id": merchant_id} for row in rows]
    stmt = insert(Store).values(values)
    updatable = set(values[0]) - {"merchant_id", "code"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["merchant_id", "code"],
        set_={**{key: stmt.excluded[key] for key in updatable}, "updated_at": func.now()},
    ).returning(Store.code, Store.id, literal_column("xmax = 0").label("created"))
    items = [dict(row._mapping) for row in session.execute(stmt)]
    for item in items:
        cache.invalidate(session, "store", item["id"])
    for kind, made in (("store.created", True), ("store.updated", False)):
        ids = [item["id"] for item in items if item["created"] is made]
        events.stores_changed(session, kind, merchant_id, ids)
    created = sum(item["created"] for item in items)
    return {"created": created, "updated": len(items) - created, "items": items}


def list_exceptions(
    *, session: Session, merchant_id: int, store_id: int, since: dt.date
) -> list[StoreHoursException]:
    """A store's date exceptions from `since` on."""
    lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    return list(
        session.scalars(
            select(StoreHoursException)
            .where(StoreHoursException.store_id == store_id, StoreHoursException.date >= since)
            .order_by(StoreHoursException.date)
        )
    )


def put_exception(
    *, session: Session, merchant_id: int, store_id: int, day: dt.date, data: dict
) -> StoreHoursException:
    """Set the hours of one date (closed, or special ranges), replacing any earlier setting."""
    lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    cache.invalidate(session, "store", store_id)
    values = {"store_id": store_id, "date": day, "merchant_id": merchant_id, **data}
    stmt = insert(StoreHoursException).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["store_id", "date"],
        set_={key: stmt.excluded[key] for key in ("closed", "hours", "note")},
    )
    session.execute(stmt)
    exception = session.get(StoreHoursException, (store_id, day), populate_existing=True)
    events.hours_changed(
        session,
        merchant_id,
        store_id,
        day=day,
        exception={"closed": exception.closed, "hours": exception.hours, "note": exception.note},
    )
    return exception


def delete_exception(*, session: Session, merchant_id: int, store_id: int, day: dt.date) -> None:
    """Back to the regular hours on that date."""
    lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    cache.invalidate(session, "store", store_id)
    exception = session.get(StoreHoursException, (store_id, day))
    if exception is None:
        raise NotFound("No exception on that date.", type="stores.exception_not_found")
    session.delete(exception)
    events.hours_changed(session, merchant_id, store_id, day=day, exception=None)
