"""Shopper reads: nearby stores, one store, the map. Each is one SQL statement.

These are the hot paths: they select only the columns shown and build plain dicts from rows,
because ORM objects and schema dumps cost several times the query itself (PERF-ANCHOR).
"""

import datetime as dt
import hashlib
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import prepared
from app.errors import Invalid
from app.pagination import decode_cursor, encode_cursor
from app.stores.lookups import StoreNotFound

# The shopper's point: the driver inlines :lat/:lng as literals, so PostgreSQL folds this into
# one constant at planning; it is never re-parsed per row.
POINT = "ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography"
MAP_LIMIT = 500

# Nearest first by the distance shown: the geodesic on the WGS84 spheroid (ST_Distance), then id.
# The GiST index orders by `<->`, the great-circle distance on a sphere, which differs from the
# spheroid's by at most 0.6 % (the radii of curvature lie within 6 335..6 400 km of the sphere's
# 6 371 km). So the KNN scan takes the page's first `limit` stores by `<->` (the index stops
# there); the farthest of them, at spheroid distance D, bounds the page: any store nearer by the
# spheroid lies within D × 1.01 on the sphere. The outer query takes exactly those (an index
# range scan, ST_DWithin on the sphere), orders them by (spheroid distance, id) and keeps `limit`
# of them; the cursor pages on that same pair, so pages never repeat or skip and `distance_m`
# never decreases. The open state runs only for the rows returned.
NEAREST_BOUND = 1.01
NEARBY = """
WITH knn AS (
  SELECT ST_Distance(s.location, {point}) AS distance
  FROM stores AS s
  WHERE s.is_active AND ST_DWithin(s.location, {point}, :radius){filters}
  ORDER BY s.location <-> {point}
  LIMIT :limit
)
SELECT n.id, n.name, n.merchant_id, m.name AS merchant_name, n.address,
       ST_Y(n.location::geometry) AS lat, ST_X(n.location::geometry) AS lng,
       n.distance, st.open_now, st.next_change, n.timezone, n.pickup_enabled
FROM (
  SELECT s.id, s.name, s.merchant_id, s.address, s.location, s.timezone, s.pickup_enabled,
         s.open_minutes, ST_Distance(s.location, {point}) AS distance
  FROM stores AS s
  WHERE s.is_active AND ST_DWithin(s.location, {point}, :radius){filters}
    AND ST_DWithin(s.location, {point}, (SELECT max(distance) FROM knn) * {bound}, false)
) AS n
JOIN merchants AS m ON m.id = n.merchant_id
CROSS JOIN LATERAL store_open_state(n.id, n.open_minutes, n.timezone, :now) AS st
WHERE (n.distance, n.id) > (CAST(:after_distance AS float8), CAST(:after_id AS bigint))
ORDER BY n.distance, n.id
LIMIT :limit
"""

DETAIL = text("""
SELECT s.id, s.name, s.merchant_id, m.name AS merchant_name, s.address, s.city,
       ST_Y(s.location::geometry) AS lat, ST_X(s.location::geometry) AS lng, s.timezone, s.phone,
       s.pickup_enabled, s.pickup_hold_minutes, s.hours, st.open_now, st.next_change,
       e.date AS exception_date, e.closed AS exception_closed, e.hours AS exception_hours,
       e.note AS exception_note
FROM stores AS s
JOIN merchants AS m ON m.id = s.merchant_id
CROSS JOIN LATERAL store_open_state(s.id, s.open_minutes, s.timezone, :now) AS st
LEFT JOIN store_hours_exceptions AS e
  ON e.store_id = s.id AND e.date = (CAST(:now AS timestamptz) AT TIME ZONE s.timezone)::date
WHERE s.id = :store_id AND s.is_active
""")

# The box picks at most 501 rows by id first; the open state is computed for those only
# (unless open_now filters, which must then be decided per candidate).
MAP = """
SELECT b.id, b.name, b.merchant_id, b.lng, b.lat, st.open_now, b.pickup_enabled
FROM (
  SELECT s.id, s.name, s.merchant_id, s.open_minutes, s.timezone, s.pickup_enabled,
         ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
  FROM stores AS s
  WHERE s.is_active AND ({boxes}){filters}
  ORDER BY s.id
  LIMIT :limit
) AS b
CROSS JOIN LATERAL store_open_state(b.id, b.open_minutes, b.timezone, :now) AS st
ORDER BY b.id
"""
BOX = "s.location::geometry && ST_MakeEnvelope(:x{i}, :y1, :x{j}, :y2, 4326)"

# The map's box as nearby-style items (store cards): the same columns as NEARBY's rows.
BOX_ITEMS = """
SELECT b.id, b.name, b.merchant_id, m.name AS merchant_name, b.address, b.lat, b.lng,
       st.open_now, st.next_change, b.timezone, b.pickup_enabled
FROM (
  SELECT s.id, s.name, s.merchant_id, s.address, s.open_minutes, s.timezone, s.pickup_enabled,
         ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
  FROM stores AS s
  WHERE s.is_active AND ({boxes})
  ORDER BY s.id
  LIMIT :limit
) AS b
JOIN merchants AS m ON m.id = b.merchant_id
CROSS JOIN LATERAL store_open_state(b.id, b.open_minutes, b.timezone, :now) AS st
ORDER BY b.id
"""

FILTERS = {
    "open_now": (
        " AND EXISTS (SELECT FROM store_open_state(s.id, s.open_minutes, s.timezone, :now) AS o"
        " WHERE o.open_now = :open_now)"
    ),
    "pickup": " AND s.pickup_enabled = :pickup",
    "merchant_id": " AND s.merchant_id = :merchant_id",
    "q": " AND strpos(lower(s.name), lower(:q)) > 0",
}


@cache
def _nearby_sql(filter_keys: tuple[str, ...]) -> text:
    filters = "".join(FILTERS[key] for key in filter_keys)
    filters += " AND (ST_Distance(s.location, {point}), s.id) > (:after_distance, :after_id)"
    return text(
        NEARBY.format(filters=filters.format(point=POINT), point=POINT, bound=NEAREST_BOUND)
    )


def _boxes(crosses_antimeridian: bool) -> str:
    if crosses_antimeridian:
        return f"{BOX.format(i=1, j=3)} OR {BOX.format(i=4, j=2)}"
    return BOX.format(i=1, j=2)


@cache
def _map_sql(filter_keys: tuple[str, ...], crosses_antimeridian: bool) -> text:
    filters = "".join(FILTERS[key] for key in filter_keys)
    return text(MAP.format(boxes=_boxes(crosses_antimeridian), filters=filters))


@cache
def _box_items_sql(crosses_antimeridian: bool) -> text:
    return text(BOX_ITEMS.format(boxes=_boxes(crosses_antimeridian)))


def _box_params(bbox: tuple[float, float, float, float]) -> tuple[dict, bool]:
    min_lng, min_lat, max_lng, max_lat = bbox
    params = {"x1": min_lng, "x2": max_lng, "x3": 180.0, "x4": -180.0, "y1": min_lat}
    return {**params, "y2": max_lat}, min_lng > max_lng


def store_items_in_bbox(
    *, session: Session, bbox: tuple[float, float, float, float], limit: int, now: dt.datetime
) -> tuple[list[dict], bool]:
    """Active stores in a lng/lat box as nearby-style items (by id, at most `limit`), and
    whether there were more."""
    params, crosses = _box_params(bbox)
    rows = prepared.fetch(
        session, _box_items_sql(crosses), {**params, "limit": limit + 1, "now": now}
    )
    return [_store_item(row) for row in rows[:limit]], len(rows) > limit


def _active(filters: dict) -> dict:
    return {key: value for key, value in filters.items() if value is not None}


# ZoneInfo keeps only its last 8 zones strongly; a nearby page spans more, and a page's
# `next_change_at`s reloaded zone files from disk (390 loads in 600 nearby calls, cProfile).
_zone = cache(ZoneInfo)


def _local_iso(moment: dt.datetime | None, zone: str) -> str | None:
    return moment.astimezone(_zone(zone)).isoformat() if moment else None


def _store_item(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "merchant": {"id": row.merchant_id, "name": row.merchant_name},
        "address": row.address,
        "location": {"lat": row.lat, "lng": row.lng},
        "open_now": row.open_now,
        "next_change_at": _local_iso(row.next_change, row.timezone),
        "pickup_enabled": row.pickup_enabled,
    }


def _fingerprint(lat: float, lng: float, radius_m: int, filters: dict) -> str:
    """Ties a cursor to the search it came from."""
    key = repr((lat, lng, radius_m, sorted(filters.items())))
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def stores_near(
    *,
    session: Session,
    lat: float,
    lng: float,
    radius_m: int,
    limit: int,
    cursor: str | None,
    filters: dict,
    now: dt.datetime,
) -> dict:
    """Active stores within radius_m of a point, nearest first, a page at a time."""
    filters = _active(filters)
    fingerprint = _fingerprint(lat, lng, radius_m, filters)
    after = decode_cursor("stores.nearby", cursor)
    params = {"lat": lat, "lng": lng, "radius": radius_m, "limit": limit + 1, "now": now}
    params.update(after_distance=-1.0, after_id=0)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 3 and after[2] == fingerprint):
            raise Invalid("cursor", "This cursor belongs to another search.")
        params.update(after_distance=after[0], after_id=after[1])
    statement = _nearby_sql(tuple(sorted(filters)))
    rows = prepared.fetch(session, statement, {**params, **filters}, generic=True)
    items = [{**_store_item(row), "distance_m": round(row.distance)} for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor("stores.nearby", [last.distance, last.id, fingerprint])
    return {"items": items, "next_cursor": next_cursor}


def _exception(row) -> dict | None:
    if row.exception_date is None:
        return None
    return {
        "date": row.exception_date.isoformat(),
        "closed": row.exception_closed,
        "hours": row.exception_hours,
        "note": row.exception_note,
    }


def store_detail(*, session: Session, store_id: int, now: dt.datetime) -> dict:
    """One active store with its week's hours and today's exception (in its own zone)."""
    rows = prepared.fetch(session, DETAIL, {"store_id": store_id, "now": now})
    row = rows[0] if rows else None
    if row is None:
        raise StoreNotFound("Store not found.")
    return {
        **_store_item(row),
        "city": row.city,
        "timezone": row.timezone,
        "phone": row.phone,
        "pickup_hold_minutes": row.pickup_hold_minutes,
        "hours": row.hours,
        "today_exception": _exception(row),
    }


def detail_fresh_for(detail: dict, now: dt.datetime) -> float:
    """Seconds a store detail built at `now` stays true: until the store next opens or closes,
    or its local day (and so today's exception) ends."""
    local = now.astimezone(_zone(detail["timezone"]))
    until = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if detail["next_change_at"]:
        until = min(until, dt.datetime.fromisoformat(detail["next_change_at"]))
    return (until - now).total_seconds()


def stores_in_bbox(
    *, session: Session, bbox: tuple[float, float, float, float], filters: dict, now: dt.datetime
) -> dict:
    """A GeoJSON FeatureCollection of active stores in a lng/lat box (at most 500)."""
    filters = _active(filters)
    params, crosses = _box_params(bbox)
    params.update(limit=MAP_LIMIT + 1, now=now, **filters)
    rows = prepared.fetch(session, _map_sql(tuple(sorted(filters)), crosses), params)
    features = [
        {
            "type": "Feature",
            "id": row.id,
            "geometry": {"type": "Point", "coordinates": [row.lng, row.lat]},
            "properties": {
                "id": row.id,
                "name": row.name,
                "merchant_id": row.merchant_id,
                "open_now": row.open_now,
                "pickup_enabled": row.pickup_enabled,
            },
        }
        for row in rows[:MAP_LIMIT]
    ]
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) > MAP_LIMIT}
