"""Stock near me and the pickup quote: hot reads, one KNN statement each.

Both take the SKU's merchant's stores within the radius (the merchant index AND the GiST
location index), sort those few by the geodesic distance shown (`ST_Distance` on the spheroid:
ordering by `<->`, the sphere's distance, let "1 203 m" come above "1 201 m"), then probe the
stock primary key (store_id, sku_id) in that order until the page is full. Rows become plain
dicts, not ORM objects: this is the hottest read and object building would cost more than the
query.
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import prepared
from app.catalog import lookups as catalog_lookups
from app.coupons import pickup as coupon_holds
from app.errors import Invalid, Unauthorized
from app.geo import point_ewkt
from app.pagination import decode_cursor, encode_cursor

QUOTE_STORES = 5
_PT = "ST_GeogFromText(:pt)"

_AFTER = (
    # Resume after the cursor: stores tied with the last one's distance are told apart by the
    # ids already shown (a second sort key would cost a sort of every candidate).
    f" ST_Distance(s.location, {_PT}) >= CAST(:after_distance AS float8)"
    f" AND NOT (ST_Distance(s.location, {_PT}) = CAST(:after_distance AS float8)"
    " AND s.id = ANY(CAST(:shown AS bigint[])))"
)
# The candidates are the stores of the SKU's merchant within the radius (merchant index AND
# location index), sorted by distance behind OFFSET 0; stock is then probed by its key in that
# order until the page is full. Walking *all* stores nearest first instead visits every other
# merchant's stores too: ~11 000 probes in a dense city for a SKU of a small merchant.
# The SKU (active, of an active product) LEFT JOINed to its stores: no row at all says the SKU
# is unknown (404) in the same statement, one row of NULLs that none nearby holds it. (The
# separate lookup ran on most calls: a random SKU is rarely stocked near a random point.)
_NEARBY = text(
    "SELECT n.* FROM skus JOIN products p ON p.id = skus.product_id LEFT JOIN LATERAL ("
    "SELECT s.id, s.name, s.address, s.city, s.pickup_enabled, k.channel,"
    f" k.on_hand - k.reserved AS available, s.geodesic, ST_Distance(s.location, {_PT}) AS distance"
    " FROM (SELECT s.id, s.name, s.address, s.city, s.pickup_enabled, s.location,"
    f" ST_Distance(s.location, {_PT}) AS geodesic FROM stores s"
    " WHERE s.merchant_id = skus.merchant_id"
    f" AND s.is_active AND ST_DWithin(s.location, {_PT}, :radius) AND {_AFTER}"
    " ORDER BY geodesic OFFSET 0) s"
    " JOIN stock k ON k.store_id = s.id AND k.sku_id = :sku"
    " WHERE k.channel <> 'online_only' AND k.on_hand - k.reserved >= :qty"
    " ORDER BY s.geodesic LIMIT :limit) n ON true"
    " WHERE skus.id = :sku AND skus.is_active AND p.is_active"
)


def _store(row) -> dict:
    return {"id": row.id, "name": row.name, "address": row.address, "city": row.city}


def _item(row) -> dict:
    return {
        "store": _store(row),
        "distance_m": round(row.distance),
        "channel": row.channel,
        "available": row.available,
        "reservable": row.channel == "shared" and row.pickup_enabled,
    }


# The nearest store holding one unit, for each of several SKUs in one statement (the products of
# a page of posts): the single-SKU walk above, run per SKU in a LATERAL.
_NEAREST_EACH = text(
    "SELECT q.sku_id, n.* FROM unnest(CAST(:skus AS bigint[])) AS q(sku_id) CROSS JOIN LATERAL"
    " (SELECT s.id, s.name, s.address, s.city, s.pickup_enabled, k.channel,"
    " k.on_hand - k.reserved AS available, s.geodesic AS distance"
    " FROM (SELECT s.id, s.name, s.address, s.city, s.pickup_enabled, s.location,"
    f" ST_Distance(s.location, {_PT}) AS geodesic FROM stores s"
    " WHERE s.merchant_id = (SELECT merchant_id FROM skus WHERE id = q.sku_id AND is_active)"
    f" AND s.is_active AND ST_DWithin(s.location, {_PT}, :radius)"
    " ORDER BY geodesic OFFSET 0) s"
    " JOIN stock k ON k.store_id = s.id AND k.sku_id = q.sku_id"
    " WHERE k.channel <> 'online_only' AND k.on_hand - k.reserved >= 1"
    " ORDER BY s.geodesic LIMIT 1) n"
)


def nearest_holding(
    *, session: Session, sku_ids: list[int], lat: float, lng: float, radius_m: int
) -> dict[int, dict]:
    """For each SKU, the nearest store within the radius holding one (as in stock near me);
    SKUs none holds are left out."""
    if not sku_ids:
        return {}
    rows = prepared.fetch(
        session,
        _NEAREST_EACH,
        {"pt": point_ewkt(lat, lng), "skus": list(sku_ids), "radius": radius_m},
    )
    return {r.sku_id: _item(r) for r in rows}


def skus_nearby(
    *,
    session: Session,
    sku_id: int,
    lat: float,
    lng: float,
    qty: int,
    radius_m: int,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict], str | None]:
    """Nearest stores holding `qty` of a SKU, in store or for pickup; sold-out ones left out."""
    after = decode_cursor("sku_nearby", cursor) or [-1.0, []]
    rows = prepared.fetch(
        session,
        _NEARBY,
        {
            "pt": point_ewkt(lat, lng),
            "sku": sku_id,
            "radius": radius_m,
            "qty": qty,
            "after_distance": after[0],
            "shown": after[1],
            "limit": limit + 1,
        },
    )
    if not rows:
        raise catalog_lookups.SkuNotFound("SKU not found.")
    rows = [r for r in rows if r.id is not None]
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_item(r) for r in rows]
    last = rows[-1].geodesic if rows else None
    shown = [r.id for r in rows if r.geodesic == last] + (after[1] if last == after[0] else [])
    next_cursor = encode_cursor("sku_nearby", [last, shown]) if more else None
    return items, next_cursor


_CART = (
    " FROM unnest(CAST(:skus AS bigint[]), CAST(:qtys AS int[])) AS r(sku_id, qty)"
    " CROSS JOIN LATERAL (SELECT COALESCE((SELECT k.on_hand - k.reserved FROM stock k"
    " WHERE k.store_id = s.id AND k.sku_id = r.sku_id AND k.channel = 'shared'), 0) AS n) a"
)
# As for one SKU: the merchant's pickup stores within the radius, nearest first, then the cart
# is checked store by store in that order until QUOTE_STORES are found.
_STORES = (
    "SELECT s.id, s.name, s.address, s.city, ST_Distance(s.location, " + _PT + ") AS distance"
    "{extra} FROM (SELECT s.id, s.name, s.address, s.city, s.location,"
    f" ST_Distance(s.location, {_PT}) AS geodesic FROM stores s"
    " WHERE s.merchant_id = :merchant AND s.is_active AND s.pickup_enabled"
    " AND NOT (s.id = ANY (CAST(:exclude AS bigint[])))"
    f" AND ST_DWithin(s.location, {_PT}, :radius) ORDER BY geodesic OFFSET 0) s {{lateral}}"
    f" WHERE {{condition}} ORDER BY s.geodesic LIMIT {QUOTE_STORES}"
)
_FULL = text(
    _STORES.format(
        extra="",
        lateral="",
        condition=f"(SELECT bool_and(a.n >= r.qty) {_CART})",
    )
)
_PARTIAL = text(
    _STORES.format(
        extra=", m.missing",
        lateral=(
            "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE a.n >= r.qty) AS fulfilled,"
            " json_agg(json_build_object('sku_id', r.sku_id, 'requested', r.qty,"
            " 'available', GREATEST(a.n, 0)) ORDER BY r.sku_id) FILTER (WHERE a.n < r.qty)"
            f" AS missing {_CART}) m"
        ),
        condition="m.fulfilled > 0",
    )
)


def quote_cart(
    *,
    session: Session,
    lat: float,
    lng: float,
    items: list[dict],
    radius_m: int,
    coupon_id: int | None = None,
    user_id: int | None = None,
    exclude_store_ids: tuple[int, ...] = (),
) -> dict:
    """Nearest pickup stores that hold the whole cart; else the nearest with what each lacks
    (a dispatched order passes the stores it was offered to already in `exclude_store_ids`).

    At most three statements whatever the cart size: the SKUs, the full match, the partial one."""
    merchants = catalog_lookups.active_sku_merchants(
        session=session, sku_ids=[i["sku_id"] for i in items]
    )
    unknown = sorted({i["sku_id"] for i in items} - set(merchants))
    if unknown:
        raise catalog_lookups.SkuNotFound(f"SKUs not found: {unknown}.", sku_ids=unknown)
    if len(set(merchants.values())) > 1:
        raise Invalid("items", "All SKUs of a cart must be of one merchant.")
    params = {
        "pt": point_ewkt(lat, lng),
        "radius": radius_m,
        "merchant": next(iter(merchants.values())),
        "skus": [i["sku_id"] for i in items],
        "qtys": [i["qty"] for i in items],
        "exclude": list(exclude_store_ids),
    }
    full = prepared.fetch(session, _FULL, params)
    partial = [] if full else prepared.fetch(session, _PARTIAL, params)
    quote = {
        "stores": [{"store": _store(r), "distance_m": round(r.distance)} for r in full],
        "partial": [
            {"store": _store(r), "distance_m": round(r.distance), "missing": r.missing}
            for r in partial
        ],
    }
    if coupon_id is not None:
        quote["coupon"] = _coupon_quote(session, user_id, coupon_id, params, full or partial)
    return quote


def _coupon_quote(session: Session, user_id, coupon_id: int, params: dict, rows) -> dict:
    if user_id is None:
        raise Unauthorized("Sign in to price a cart with a coupon.")
    return coupon_holds.quote_coupon(
        session=session,
        user_id=user_id,
        coupon_id=coupon_id,
        stores=[{"id": r.id, "merchant_id": params["merchant"]} for r in rows],
        lines=dict(zip(params["skus"], params["qtys"], strict=True)),
    )
