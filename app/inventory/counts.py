"""Setting stock counts: the admin put of one row and the POS/ERP bulk sync (DESIGN rule 1).

A sync line may name its `source_doc` (the POS/ERP document): each (document, store, SKU) counts
once per merchant, claimed with INSERT ... ON CONFLICT DO NOTHING, so a second sync of the same
document waits for the first one's commit and then skips. `expect_on_hand` is a compare-and-set
checked under the row lock. `occurred_at` says when the count (or movement) happened: the row
remembers the time of its last `set` (`last_set_at`), and an older `set` — or a `delta` older than
that count, which the count already includes — is skipped as stale, never applied."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import idempotency
from app.catalog import lookups as catalog_lookups
from app.errors import ApiError
from app.inventory import ledger
from app.inventory import service as inventory_service
from app.stores import lookups as stores_lookups


class SyncRejected(ApiError):
    status, type, title = 422, "inventory.sync_rejected", "Validation failed"


_INSERT_MISSING = text(
    "INSERT INTO stock (store_id, sku_id, merchant_id, channel, on_hand)"
    " SELECT r.store_id, r.sku_id, :merchant, r.channel, 0"
    " FROM unnest(CAST(:stores AS bigint[]), CAST(:skus AS bigint[]), CAST(:channels AS text[]))"
    " AS r(store_id, sku_id, channel) ORDER BY r.store_id, r.sku_id"
    " ON CONFLICT (store_id, sku_id) DO NOTHING RETURNING store_id, sku_id"
)
_SET_COUNTS = text(
    "UPDATE stock SET on_hand = r.on_hand, channel = r.channel, updated_at = now(),"
    " last_set_at = CASE WHEN :set_mode THEN coalesce(r.occurred_at, now())"
    " ELSE stock.last_set_at END"
    " FROM unnest(CAST(:stores AS bigint[]), CAST(:skus AS bigint[]), CAST(:channels AS text[]),"
    " CAST(:on_hands AS int[]), CAST(:occurred AS timestamptz[]))"
    " AS r(store_id, sku_id, channel, on_hand, occurred_at)"
    " WHERE stock.store_id = r.store_id AND stock.sku_id = r.sku_id"
    " AND stock.reserved <= r.on_hand AND (r.channel = 'shared' OR stock.reserved = 0)"
)
_CLAIM_DOCS = text(
    "INSERT INTO stock_sync_documents (merchant_id, source_doc, store_id, sku_id)"
    " SELECT :merchant, d.doc, d.store_id, d.sku_id FROM unnest(CAST(:docs AS text[]),"
    " CAST(:stores AS bigint[]), CAST(:skus AS bigint[])) AS d(doc, store_id, sku_id)"
    " ORDER BY d.doc, d.store_id, d.sku_id"
    " ON CONFLICT DO NOTHING RETURNING source_doc, store_id, sku_id"
)
_UNCLAIM_DOCS = text(
    "DELETE FROM stock_sync_documents WHERE merchant_id = :merchant"
    " AND (source_doc, store_id, sku_id) IN (SELECT * FROM unnest(CAST(:docs AS text[]),"
    " CAST(:stores AS bigint[]), CAST(:skus AS bigint[])))"
)


def _row_error(row: dict, current: dict, delta_mode: bool) -> tuple[str, str] | None:
    expected = row.get("expect_on_hand")
    if expected is not None and current["on_hand"] != expected:
        return "expect_on_hand", f"on_hand is {current['on_hand']}, not {expected}."
    on_hand = current["on_hand"] + row["delta"] if delta_mode else row["on_hand"]
    if on_hand < current["reserved"]:
        return (
            "on_hand",
            f"Would leave {on_hand} on hand, below the {current['reserved']} reserved.",
        )
    if row["channel"] != "shared" and current["reserved"]:
        return "channel", f"{current['reserved']} units are reserved: the stock must stay shared."
    return None


def _stale(row: dict, current: dict) -> bool:
    occurred, last_set = row.get("occurred_at"), current["last_set_at"]
    return occurred is not None and last_set is not None and occurred < last_set


def apply_counts(
    *, session: Session, merchant_id: int, rows: list[dict], delta_mode: bool, partial: bool
) -> tuple[set[tuple[int, int]], dict[int, tuple[str, str]], set[int]]:
    """Set (or shift by `delta`) on_hand and channel of many rows: (rows created, {index: error},
    {indexes skipped as stale}). With errors, nothing is applied unless `partial`.

    Missing rows are inserted first (they are then ours alone until commit), then every row is
    locked in (store_id, sku_id) order and checked against what is reserved."""
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
    locked = inventory_service.lock_rows(session, pairs)
    errors, stale, final = {}, set(), {}
    for index, row in enumerate(rows):
        current = locked[(row["store_id"], row["sku_id"])]
        row = {**row, "channel": row.get("channel") or current["channel"]}
        error = _row_error(row, current, delta_mode)
        if error:
            errors[index] = error
        elif _stale(row, current):
            stale.add(index)
        else:
            on_hand = current["on_hand"] + row["delta"] if delta_mode else row["on_hand"]
            final[index] = (row, on_hand)
    if not errors or partial:
        _write(session, final, set_mode=not delta_mode)
    return {tuple(c) for c in created}, errors, stale


def _write(session: Session, final: dict[int, tuple[dict, int]], *, set_mode: bool) -> None:
    # One UPDATE per source document, so each ledger row names the document it came from.
    by_doc: dict[str | None, list[tuple[dict, int]]] = {}
    for row, on_hand in final.values():
        by_doc.setdefault(row.get("source_doc"), []).append((row, on_hand))
    for doc, group in sorted(by_doc.items(), key=lambda item: item[0] or ""):
        group.sort(key=lambda g: (g[0]["store_id"], g[0]["sku_id"]))
        ledger.tag(session, reason="stock.sync" if doc else "stock.set", ref=doc)
        session.execute(
            _SET_COUNTS,
            {
                "set_mode": set_mode,
                "stores": [r["store_id"] for r, _ in group],
                "skus": [r["sku_id"] for r, _ in group],
                "channels": [r["channel"] for r, _ in group],
                "on_hands": [on_hand for _, on_hand in group],
                "occurred": [r.get("occurred_at") for r, _ in group],
            },
        )


def set_stock(
    *, session: Session, merchant_id: int, store_scope, store_id: int, sku_id: int, data: dict
) -> dict:
    """Set one row's channel and on_hand; never below what is reserved (409)."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    catalog_lookups.merchant_sku(session=session, merchant_id=merchant_id, sku_id=sku_id)
    row = {"store_id": store_id, "sku_id": sku_id, **data}
    _, errors, _ = apply_counts(
        session=session, merchant_id=merchant_id, rows=[row], delta_mode=False, partial=False
    )
    if errors:
        field, message = errors[0]
        raise inventory_service.BelowReserved(message, errors={field: [message]})
    return inventory_service.get_stock(
        session=session,
        merchant_id=merchant_id,
        store_scope=store_scope,
        store_id=store_id,
        sku_id=sku_id,
    )


def sync_stock(
    *,
    session: Session,
    user_id: int,
    merchant_id: int,
    store_scope,
    mode: str,
    rows: list[dict],
    error_policy: str,
    idempotency_key: str | None,
) -> dict:
    """POS/ERP bulk sync: all rows or none (or every good row with `reject_failed_rows`), per-row
    errors as `rows.<i>.<field>`; safe to retry."""
    outcome = idempotency.run_once(
        session=session,
        user_id=user_id,
        scope=f"inventory.sync:{merchant_id}",
        key=idempotency_key,
        payload={"mode": mode, "rows": rows, "error_policy": error_policy},
        work=lambda: (
            200,
            _sync(
                session,
                merchant_id,
                store_scope,
                delta_mode=mode == "delta",
                rows=rows,
                partial=error_policy == "reject_failed_rows",
            ),
        ),
    )
    return outcome.body


def _reference_errors(
    session: Session, merchant_id: int, store_scope, rows: list[dict]
) -> dict[int, tuple[str, str]]:
    known_stores = stores_lookups.merchant_store_ids(
        session=session, merchant_id=merchant_id, store_ids={r["store_id"] for r in rows}
    )
    if store_scope is not None:
        known_stores &= set(store_scope)
    known_skus = catalog_lookups.merchant_sku_ids(
        session=session, merchant_id=merchant_id, sku_ids={r["sku_id"] for r in rows}
    )
    errors: dict[int, tuple[str, str]] = {}
    seen: set[tuple[int, int]] = set()
    for i, row in enumerate(rows):
        key = (row["store_id"], row["sku_id"])
        if row["store_id"] not in known_stores:
            errors[i] = ("store_id", "Store not found.")
        elif row["sku_id"] not in known_skus:
            errors[i] = ("sku_id", "SKU not found.")
        elif key in seen:
            errors[i] = ("sku_id", "This store and SKU appear twice.")
        seen.add(key)
    return errors


def _doc_lines(rows: list[dict], indexes) -> dict:
    lines = [(rows[i]["source_doc"], rows[i]["store_id"], rows[i]["sku_id"]) for i in indexes]
    return {
        "docs": [x[0] for x in lines],
        "stores": [x[1] for x in lines],
        "skus": [x[2] for x in lines],
    }


def _claim_documents(session: Session, merchant_id: int, rows, indexes) -> set[int]:
    """Claim the document lines of these rows; returns the indexes applied before (duplicates)."""
    with_doc = [i for i in indexes if rows[i].get("source_doc")]
    if not with_doc:
        return set()
    claimed = {
        tuple(r)
        for r in session.execute(
            _CLAIM_DOCS, {"merchant": merchant_id, **_doc_lines(rows, with_doc)}
        )
    }
    return {
        i
        for i in with_doc
        if (rows[i]["source_doc"], rows[i]["store_id"], rows[i]["sku_id"]) not in claimed
    }


def _reject(errors: dict[int, tuple[str, str]]):
    messages = {f"rows.{i}.{field}": [msg] for i, (field, msg) in sorted(errors.items())}
    return SyncRejected(f"{len(errors)} row(s) rejected; nothing was changed.", errors=messages)


def _sync(session: Session, merchant_id: int, store_scope, *, delta_mode, rows, partial) -> dict:
    errors = _reference_errors(session, merchant_id, store_scope, rows)
    if errors and not partial:
        raise _reject(errors)
    candidates = [i for i in range(len(rows)) if i not in errors]
    duplicates = _claim_documents(session, merchant_id, rows, candidates)
    todo = [i for i in candidates if i not in duplicates]
    created, row_errors, stale = set(), {}, set()
    if todo:
        created, row_errors, stale = apply_counts(
            session=session,
            merchant_id=merchant_id,
            rows=[rows[i] for i in todo],
            delta_mode=delta_mode,
            partial=partial,
        )
    errors.update({todo[j]: error for j, error in row_errors.items()})
    stale = {todo[j] for j in stale}
    if errors and not partial:
        raise _reject(errors)
    failed_docs = [i for i in errors if i in todo and rows[i].get("source_doc")]
    if failed_docs:  # a corrected retry of a failed line must apply
        session.execute(_UNCLAIM_DOCS, {"merchant": merchant_id, **_doc_lines(rows, failed_docs)})
    return _summary(rows, errors, duplicates, stale, created)


def _summary(rows, errors, duplicates, stale, created) -> dict:
    results = [
        "failed"
        if i in errors
        else "duplicate"
        if i in duplicates
        else "stale"
        if i in stale
        else "applied"
        for i in range(len(rows))
    ]
    applied = [rows[i] for i, status in enumerate(results) if status == "applied"]
    new = sum((r["store_id"], r["sku_id"]) in created for r in applied)
    return {
        "applied": len(applied),
        "created": new,
        "updated": len(applied) - new,
        "duplicates": len(duplicates),
        "stale": len(stale),
        "failed": len(errors),
        "errors": {f"rows.{i}.{field}": [msg] for i, (field, msg) in sorted(errors.items())},
        "results": results,
    }
