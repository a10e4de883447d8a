"""Which stores a merchant's request may name: its own (DESIGN rule 4), else the typed 404.

Every domain that takes a store id from merchant staff asks here instead of writing its own
query; another merchant's store answers exactly as a missing one.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.stores.models import Store


class StoreNotFound(NotFound):
    type = "stores.not_found"


def merchant_store(
    *,
    session: Session,
    merchant_id: int,
    store_id: int,
    scope: tuple[int, ...] | None = None,
) -> Store:
    """One store of the merchant within `scope` (a store manager's stores; None: all); else 404."""
    store = None if scope is not None and store_id not in scope else session.get(Store, store_id)
    if store is None or store.merchant_id != merchant_id:
        raise StoreNotFound("Store not found.")
    return store


def merchant_store_ids(*, session: Session, merchant_id: int, store_ids) -> set[int]:
    """Those of `store_ids` that are stores of the merchant."""
    query = select(Store.id).where(Store.merchant_id == merchant_id, Store.id.in_(set(store_ids)))
    return set(session.scalars(query))


def require_merchant_stores(*, session: Session, merchant_id: int, store_ids, detail: str) -> None:
    """404 "`detail`: [the ids]" unless every one of `store_ids` is a store of the merchant."""
    found = merchant_store_ids(session=session, merchant_id=merchant_id, store_ids=store_ids)
    if missing := sorted(set(store_ids) - found):
        raise StoreNotFound(f"{detail}: {missing}.")
