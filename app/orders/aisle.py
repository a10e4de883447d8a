"""The endless aisle: what the merchant's other stores, and the online-only pool, hold of a SKU,
seen from one store (so its staff can order for the shopper in front of them)."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.inventory import service as inventory_service

NEAREST = 20
# KNN from this store's own location over the merchant's active stores holding shared units.
_STORES = text(
    "SELECT s.id, s.name, s.address, s.city, k.on_hand - k.reserved AS available,"
    " ST_Distance(s.location, here.location) AS distance"
    " FROM stock k JOIN stores s ON s.id = k.store_id,"
    " (SELECT location FROM stores WHERE id = :store) here"
    " WHERE k.sku_id = :sku AND k.channel = 'shared' AND k.on_hand - k.reserved > 0"
    " AND s.merchant_id = :merchant AND s.is_active AND s.id <> :store"
    f" ORDER BY s.location <-> here.location LIMIT {NEAREST}"
)
_ONLINE = text(
    "SELECT coalesce(sum(on_hand - reserved), 0) FROM stock"
    " WHERE sku_id = :sku AND merchant_id = :merchant AND channel = 'online_only'"
)


def look(*, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int) -> dict:
    """The nearest other stores with shared units of the SKU, and the online-only pool."""
    inventory_service.get_merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, store_scope=store_scope
    )
    inventory_service.require_merchant_sku(session, merchant_id, sku_id)
    params = {"store": store_id, "sku": sku_id, "merchant": merchant_id}
    rows = session.execute(_STORES, params)
    return {
        "sku_id": sku_id,
        "stores": [
            {
                "store": {"id": r.id, "name": r.name, "address": r.address, "city": r.city},
                "distance_m": round(r.distance),
                "available": r.available,
            }
            for r in rows
        ],
        "online_only": int(session.scalar(_ONLINE, params)),
    }
