"""Builders for stores, products, SKUs and stock, and the rule-1 check of every pickup test."""

import itertools

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import text

from app import invariants
from app.catalog.models import Product, Sku
from app.extensions import db
from app.inventory.models import Stock
from app.stores.models import Store

_seq = itertools.count(1)
TAIPEI = (25.0330, 121.5654)


def store(
    session,
    merchant,
    *,
    lat: float = TAIPEI[0],
    lng: float = TAIPEI[1],
    pickup_enabled: bool = True,
    is_active: bool = True,
    hold_minutes: int = 120,
) -> Store:
    n = next(_seq)
    s = Store(
        merchant_id=merchant.id,
        name=f"Store {n}",
        address=f"{n} Test Road",
        city="Taipei",
        location=WKTElement(f"POINT({lng} {lat})", srid=4326),
        timezone="Asia/Taipei",
        pickup_enabled=pickup_enabled,
        pickup_hold_minutes=hold_minutes,
        is_active=is_active,
    )
    session.add(s)
    session.flush()  # id for the caller
    return s


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


RULE_1 = text(invariants.RULE_1)


# Rule 1 since the ledger (issue 13): on_hand and reserved are what their ledger rows add up to.
LEDGER = text(
    """
    SELECT k.store_id, k.sku_id, k.on_hand, k.reserved, l.on_hand AS ledger_on_hand,
           l.reserved AS ledger_reserved
    FROM stock k
    LEFT JOIN (
        SELECT store_id, sku_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
        FROM stock_changes GROUP BY store_id, sku_id
    ) l ON l.store_id = k.store_id AND l.sku_id = k.sku_id
    WHERE k.on_hand <> COALESCE(l.on_hand, 0) OR k.reserved <> COALESCE(l.reserved, 0)
    """
)


def assert_rule_1(conn) -> None:
    """Rule 1 on every stock row: reserved == units of active holds, 0 <= reserved <= on_hand,
    and both equal the sums of the row's ledger."""
    broken = conn.execute(RULE_1).all()
    assert broken == [], f"stock rows breaking rule 1: {broken}"
    unbalanced = conn.execute(LEDGER).all()
    assert unbalanced == [], f"stock rows that differ from their ledger: {unbalanced}"


@pytest.fixture(autouse=True)
def rule_1_holds(request, app, _isolated):
    """After every test of the module: rule 1 holds (committed tests: before the clean-up)."""
    if _isolated is None:
        request.getfixturevalue("committed")  # set up first, so its clean-up runs after this check
    yield
    if _isolated is not None:
        assert_rule_1(_isolated)
        return
    with app.app_context(), db.engine.connect() as conn:
        assert_rule_1(conn)
