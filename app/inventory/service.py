"""Stock rules: set and sync counts, release units of reservations (DESIGN rule 1); the hold
itself is one statement of the reserve path (app/pickup/reserving.py).

Every statement that changes several stock rows first locks them in (store_id, sku_id) order, so
two carts sharing SKUs in different orders queue instead of deadlocking; the changes themselves are
conditional UPDATEs, and the CHECK 0 <= reserved <= on_hand is the last line of defence.
"""

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import idempotency
from app.catalog.models import Sku
from app.errors import ApiError, Conflict, NotFound
from app.stores.models import Store


class OutOfStock(Conflict):
    type, title = "inventory.out_of_stock", "Not enough stock"


class BelowReserved(Conflict):
    type = "inventory.below_reserved"


class SyncRejected(ApiError):
    status, type, title = 422, "inventory.sync_rejected", "Validation failed"


STOCK_COLUMNS = "store_id, sku_id, channel, on_hand, reserved, on_hand - reserved AS available"

_LOCK = text(
    "SELECT store_id, sku_id, channel, on_hand, reserved FROM stock"
    " WHERE (store_id, sku_id) IN (SELECT * FROM unnest(CAST(:stores AS bigint[]),"
    " CAST(:skus AS bigint[])))"
    " ORDER BY store_id, sku_id FOR NO KEY UPDATE"
)


def _lock_rows(session: Session, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    stores, skus = [p[0] for p in pairs], [p[1] for p in pairs]
    rows = session.execute(_LOCK, {"stores": stores, "skus": skus}).mappings()
    return {(r["store_id"], r["sku_id"]): dict(r) for r in rows}


def release_stock(
    *, session: Session, lines: list[tuple[int, int, int]], consume: bool = False
) -> None:
    """Give back held units [(store_id, sku_id, qty)]; `consume` also takes them off on_hand."""
    totals: dict[tuple[int, int], int] = {}
    for store_id, sku_id, qty in lines:
        totals[(store_id, sku_id)] = totals.get((store_id, sku_id), 0) + qty
    pairs = sorted(totals)
    if not pairs:
        return
    _lock_rows(session, pairs)
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


def store_scope(staff) -> tuple[int, ...] | None:
    """The stores staff may touch: a store manager's own, else None (all the merchant's)."""
    return staff.store_ids if staff.role == "store_manager" else None


def get_merchant_store(
    *, session: Session, merchant_id: int, store_id: int, store_scope: tuple[int, ...] | None
) -> Store:
    """A store of the merchant within the caller's scope (None: all its stores); else 404."""
    store = session.get(Store, store_id)
    if store is None or store.merchant_id != merchant_id:
        raise NotFound("Store not found.", type="stores.not_found")
    if store_scope is not None and store_id not in store_scope:
        raise NotFound("Store not found.", type="stores.not_found")
    return store


def _merchant_sku(session: Session, merchant_id: int, sku_id: int) -> None:
    found = session.scalar(select(Sku.id).where(Sku.id == sku_id, Sku.merchant_id == merchant_id))
    if found is None:
        raise NotFound("SKU not found.", type="catalog.sku_not_found")


_INSERT_MISSING = text(
    "INSERT INTO stock (store_id, sku_id, merchant_id, channel, on_hand)"
    " SELECT r.store_id, r.sku_id, :merchant, r.channel, 0"
    " FROM unnest(CAST(:stores AS bigint[]), CAST(:skus AS bigint[]), CAST(:channels AS text[]))"
    " AS r(store_id, sku_id, channel) ORDER BY r.store_id, r.sku_id"
    " ON CONFLICT (store_id, sku_id) DO NOTHING RETURNING store_id, sku_id"
)
_SET_COUNTS = text(
    "UPDATE stock SET on_hand = r.on_hand, channel = r.channel, updated_at = now()"
    " FROM unnest(CAST(:stores AS bigint[]), CAST(:skus AS bigint[]), CAST(:channels AS text[]),"
    " CAST(:on_hands AS int[])) AS r(store_id, sku_id, channel, on_hand)"
    " WHERE stock.store_id = r.store_id AND stock.sku_id = r.sku_id"
    " AND stock.reserved <= r.on_hand AND (r.channel = 'shared' OR stock.reserved = 0)"
)


def _row_error(row: dict, current: dict, delta_mode: bool) -> tuple[str, str, int] | None:
    on_hand = current["on_hand"] + row["delta"] if delta_mode else row["on_hand"]
    if on_hand < current["reserved"]:
        return (
            "on_hand",
            f"Would leave {on_hand} on hand, below the {current['reserved']} reserved.",
            on_hand,
        )
    if row["channel"] != "shared" and current["reserved"]:
        return (
            "channel",
            f"{current['reserved']} units are reserved: the stock must stay shared.",
            on_hand,
        )
    return None


def apply_counts(
    *, session: Session, merchant_id: int, rows: list[dict], delta_mode: bool
) -> tuple[int, dict[int, tuple[str, str]]]:
    """Set (or shift by `delta`) on_hand and channel of many rows: (rows created, {index: error}).

    Missing rows are inserted first (they are then ours alone until commit), then every row is
    locked in (store_id, sku_id) order and checked against what is reserved; on any error the
    caller raises, so the transaction rolls back and nothing is half-written."""
    pairs = sorted({(r["store_id"], r["sku_id"]) for r in rows})
    channel_of = {(r["store_id"], r["sku_id"]): r.get("channel") or "shared" for r in rows}
    created = session.execute(
        _INSERT_MISSING,
        {
            "merchant": merchant_id,
            "stores": [p[0] for p in pairs],
            "skus": [p[1] for p in pairs],
            "channels": [channel_of[p] for p in pairs],
        },
    ).all()
    locked = _lock_rows(session, pairs)
    errors, final = {}, {}
    for index, row in enumerate(rows):
        current = locked[(row["store_id"], row["sku_id"])]
        row = {**row, "channel": row.get("channel") or current["channel"]}
        error = _row_error(row, current, delta_mode)
        if error:
            errors[index] = error[:2]
        else:
            on_hand = current["on_hand"] + row["delta"] if delta_mode else row["on_hand"]
            final[(row["store_id"], row["sku_id"])] = (row["channel"], on_hand)
    if not errors:
        keys = sorted(final)
        session.execute(
            _SET_COUNTS,
            {
                "stores": [k[0] for k in keys],
                "skus": [k[1] for k in keys],
                "channels": [final[k][0] for k in keys],
                "on_hands": [final[k][1] for k in keys],
            },
        )
    return len(created), errors


def set_stock(
    *, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int, data: dict
) -> dict:
    """Set one row's channel and on_hand; never below what is reserved (409)."""
    get_merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, store_scope=store_scope
    )
    _merchant_sku(session, merchant_id, sku_id)
    row = {"store_id": store_id, "sku_id": sku_id, **data}
    _, errors = apply_counts(session=session, merchant_id=merchant_id, rows=[row], delta_mode=False)
    if errors:
        field, message = errors[0]
        raise BelowReserved(message, errors={field: [message]})
    return get_stock(
        session=session,
        merchant_id=merchant_id,
        store_scope=store_scope,
        store_id=store_id,
        sku_id=sku_id,
    )


def get_stock(
    *, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int
) -> dict:
    """One stock row of the merchant."""
    get_merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, store_scope=store_scope
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


def sync_stock(
    *,
    session: Session,
    user_id: int,
    merchant_id: int,
    store_scope,
    mode: str,
    rows: list[dict],
    idempotency_key: str | None,
) -> dict:
    """POS/ERP bulk sync: all rows or none, per-row errors as `rows.<i>.<field>`; safe to retry."""
    outcome = idempotency.run_once(
        session=session,
        user_id=user_id,
        scope=f"inventory.sync:{merchant_id}",
        key=idempotency_key,
        payload={"mode": mode, "rows": rows},
        work=lambda: (
            200,
            _sync(session, merchant_id, store_scope, delta_mode=mode == "delta", rows=rows),
        ),
    )
    return outcome.body


def _sync(session: Session, merchant_id: int, store_scope, *, delta_mode: bool, rows) -> dict:
    store_ids = {r["store_id"] for r in rows}
    known_stores = set(
        session.scalars(
            select(Store.id).where(Store.merchant_id == merchant_id, Store.id.in_(store_ids))
        )
    )
    if store_scope is not None:
        known_stores &= set(store_scope)
    known_skus = set(
        session.scalars(
            select(Sku.id).where(
                Sku.merchant_id == merchant_id, Sku.id.in_({r["sku_id"] for r in rows})
            )
        )
    )
    errors: dict[str, list[str]] = {}
    seen: set[tuple[int, int]] = set()
    for i, row in enumerate(rows):
        key = (row["store_id"], row["sku_id"])
        if row["store_id"] not in known_stores:
            errors[f"rows.{i}.store_id"] = ["Store not found."]
        elif row["sku_id"] not in known_skus:
            errors[f"rows.{i}.sku_id"] = ["SKU not found."]
        elif key in seen:
            errors[f"rows.{i}.sku_id"] = ["This store and SKU appear twice."]
        seen.add(key)
    if not errors:
        created, row_errors = apply_counts(
            session=session, merchant_id=merchant_id, rows=rows, delta_mode=delta_mode
        )
        errors = {f"rows.{i}.{field}": [msg] for i, (field, msg) in row_errors.items()}
    if errors:
        raise SyncRejected(f"{len(errors)} row(s) rejected; nothing was changed.", errors=errors)
    return {"applied": len(rows), "created": created, "updated": len(rows) - created}
