"""The stock ledger from Python: say why the next stock changes happen, and read the ledger.

The rows themselves are written by the triggers on `stock` (migration 0008) for every change of
on_hand or reserved, whichever statement makes it. What they cannot know is why: `tag` puts the
reason and a reference (reservation id, sync document...) in transaction-local settings that the
trigger reads; an untagged change is recorded as "unspecified"."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.pagination import commit_order_page

_TAG = text(
    "SELECT set_config('shopnear.stock_reason', :reason, true),"
    " set_config('shopnear.stock_ref', :ref, true)"
)


def tag(session: Session, *, reason: str, ref: str | None = None) -> None:
    """The reason (and reference) of the stock changes that follow, until commit or re-tag."""
    session.execute(_TAG, {"reason": reason, "ref": (ref or "")[:200]})


def list_changes(
    *,
    session: Session,
    merchant_id: int,
    store_scope: tuple[int, ...] | None,
    store_id: int | None,
    sku_id: int | None,
    limit: int,
    after: str | None,
) -> dict:
    """The merchant's stock changes in commit order (a resumable feed), optionally one row's."""
    where, params = "merchant_id = :merchant", {"merchant": merchant_id}
    for column, value in (("store_id", store_id), ("sku_id", sku_id)):
        if value is not None:
            where += f" AND {column} = :{column}"
            params[column] = value
    if store_scope is not None:
        where += " AND store_id = ANY(:scope)"
        params["scope"] = list(store_scope)
    rows, next_cursor, resume = commit_order_page(
        session,
        table="stock_changes",
        columns="id, store_id, sku_id, on_hand_delta, reserved_delta, on_hand, reserved,"
        " on_hand - reserved AS available, reason, ref, created_at",
        where=where,
        params=params,
        kind="stock_changes",
        limit=limit,
        after=after,
    )
    return {"items": rows, "next_cursor": next_cursor, "resume_cursor": resume}
