"""What a reservation tells its shopper: notifications written in the same transaction."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.models import Product, Sku
from app.notifications import service as notifications_service
from app.pickup.models import Reservation
from app.stores.models import Store


def titles(session: Session, sku_ids: list[int]) -> dict[int, str]:
    """{sku_id: its title, else its product's}."""
    rows = session.execute(
        select(Sku.id, func.coalesce(Sku.title, Product.title))
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id.in_(sku_ids))
    )
    return dict(rows.all())


def sku_title(session: Session, sku_id: int) -> str:
    """What the shopper knows a SKU by."""
    return titles(session, [sku_id]).get(sku_id, "")


def _base(session: Session, reservation: Reservation) -> dict:
    store = session.get(Store, reservation.store_id)
    return {
        "reservation_id": reservation.public_id,
        "store_id": store.id,
        "store_name": store.name,
        "store_address": store.address,
        "timezone": store.timezone,
    }


def tell(session: Session, reservation: Reservation, kind: str, **params) -> None:
    """Write `kind` for the reservation's shopper, with the store's name and address."""
    notifications_service.notify(
        session=session,
        user_id=reservation.user_id,
        kind=kind,
        params={**_base(session, reservation), **params},
    )


def tell_ready(session: Session, reservation: Reservation) -> None:
    """The order waits at the counter: what to collect, where, and until when."""
    held = [i for i in reservation.items if i.qty]
    names = titles(session, [i.sku_id for i in held])
    items = [{"sku_id": i.sku_id, "title": names.get(i.sku_id, ""), "qty": i.qty} for i in held]
    tell(
        session,
        reservation,
        "reservation_ready",
        items=items,
        expires_at=reservation.expires_at.isoformat(),
    )
