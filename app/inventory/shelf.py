"""What a store holds, as shoppers see it: its SKUs with units on the shelf, by SKU id."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Product, Sku
from app.inventory.models import Stock
from app.pagination import decode_cursor, encode_cursor
from app.stores import lookups as stores_lookups
from app.stores.models import Store


def store_shelf(
    *, session: Session, store_id: int, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """An active store's SKUs in stock (online-only stock is not on its shelves)."""
    pickup = session.scalar(
        select(Store.pickup_enabled).where(Store.id == store_id, Store.is_active)
    )
    if pickup is None:
        raise stores_lookups.StoreNotFound("Store not found.")
    available = (Stock.on_hand - Stock.reserved).label("available")
    query = (
        select(Sku, Product.title.label("product_title"), Stock.channel, available)
        .join(Stock, Stock.sku_id == Sku.id)
        .join(Product, Product.id == Sku.product_id)
        .where(Stock.store_id == store_id, Stock.channel != "online_only", available > 0)
        .where(Sku.is_active, Product.is_active)
    )
    if (after := decode_cursor("stores.shelf", cursor)) is not None:
        query = query.where(Sku.id > after)
    rows = session.execute(query.order_by(Sku.id).limit(limit + 1)).all()
    items = [
        {
            "sku_id": row.Sku.id,
            "product_id": row.Sku.product_id,
            "product_title": row.product_title,
            "code": row.Sku.code,
            "title": row.Sku.title,
            "price_cents": row.Sku.price_cents,
            "currency": row.Sku.currency,
            "available": row.available,
            "reservable": row.channel == "shared" and pickup,
        }
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return items, encode_cursor("stores.shelf", items[-1]["sku_id"]) if more else None
