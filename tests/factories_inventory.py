"""Builders for products, SKUs and stock (stores: tests/factories_stores.py)."""

import itertools

from app.catalog.models import Product, Sku
from app.inventory.models import Stock

_seq = itertools.count(1)


def skus(session, merchant, *, count: int = 1, price_cents: int = 1000) -> list[Sku]:
    """One product with `count` SKUs."""
    n = next(_seq)
    product = Product(merchant_id=merchant.id, title=f"Product {n}")
    product.skus = [
        Sku(merchant_id=merchant.id, code=f"P{n}-{i}", price_cents=price_cents, currency="TWD")
        for i in range(count)
    ]
    session.add(product)
    session.flush()  # ids for the caller
    return product.skus


def stock(session, store_, sku, *, on_hand: int, channel: str = "shared", reserved: int = 0):
    row = Stock(
        store_id=store_.id,
        sku_id=sku.id,
        merchant_id=store_.merchant_id,
        channel=channel,
        on_hand=on_hand,
        reserved=reserved,
    )
    session.add(row)
    session.flush()  # surfaces CHECK violations at the call site
    return row
