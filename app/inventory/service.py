"""Stock rules: set and sync counts, release units of reservations (DESIGN rule 1); the hold
itself is one statement of the reserve path (app/pickup/reserving.py).

Every statement that changes several stock rows first locks them in (store_id, sku_id) order, so
two carts sharing SKUs in different orders queue instead of deadlocking; the changes themselves are
conditional UPDATEs, and the CHECK 0 <= reserved <= on_hand is the last line of defence.
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.inventory import ledger
from app.stores import lookups as stores_lookups


class OutOfStock(Conflict):
    type, title = "inventory.out_of_stock", "Not enough stock"


class BelowReserved(Conflict):
    type = "inventory.below_reserved"


STOCK_COLUMNS = "store_id, sku_id, channel, on_hand, reserved, on_hand - reserved AS available"

_LOCK = text(
    "SELECT store_id, sku_id, channel, on_hand, reserved, last_set_at FROM stock"
    " WHERE (store_id, sku_id) IN (SELECT * FROM unnest(CAST(:stores AS bigint[]),"
    " CAST(:skus AS bigint[])))"
    " ORDER BY store_id, sku_id FOR NO KEY UPDATE"
)


def lock_rows(session: Session, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """Lock these (store_id, sku_id) rows in key order: {pair: row}."""
    stores, skus = [p[0] for p in pairs], [p[1] for p in pairs]
    rows = session.execute(_LOCK, {"stores": stores, "skus": skus}).mappings()
    return {(r["store_id"], r["sku_id"]): dict(r) for r in rows}


def release_stock(
    *,
    session: Session,
    lines: list[tuple[int, int, int]],
    consume: bool = False,
    reason: str = "reservation.cancelled",
    ref: str | None = None,
) -> None:
    """Give back held units [(store_id, sku_id, qty)]; `consume` also takes them off on_hand.
    `reason` and `ref` go to the ledger."""
    totals: dict[tuple[int, int], int] = {}
    for store_id, sku_id, qty in lines:
        totals[(store_id, sku_id)] = totals.get((store_id, sku_id), 0) + qty
    pairs = sorted(totals)
    if not pairs:
        return
    ledger.tag(session, reason=reason, ref=ref)
    lock_rows(session, pairs)
    session.execute(
        text(
            "UPDATE stock SET reserved = reserved - r.qty,"
            " on_hand = on_hand - CASE WHEN :consume THEN r.qty ELSE 0 END"
            " FROM unnest(CAST(:stores AS bigint[]), CAST(:skus AS bigint[]),"
            " CAST(:qtys AS int[])) AS r(store_id, sku_id, qty)"
            " WHERE stock.store_id = r.store_id AND stock.sku_id = r.sku_id"
        ),
        {
            "consume": consume,
            "stores": [p[0] for p in pairs],
            "skus": [p[1] for p in pairs],
            "qtys": [totals[p] for p in pairs],
        },
    )


# --- merchant admin ----------------------------------------------------------------------


def get_stock(
    *, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int
) -> dict:
    """One stock row of the merchant."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    row = (
        session.execute(
            text(
                f"SELECT {STOCK_COLUMNS}, updated_at FROM stock"
                " WHERE store_id = :st AND sku_id = :sk"
            ),
            {"st": store_id, "sk": sku_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("No stock of this SKU at this store.", type="inventory.stock_not_found")
    return dict(row)
