"""Store builders for the stores tests, inserting straight through the models."""

import itertools

from geoalchemy2 import WKTElement

from app.geo import point_ewkt
from app.stores.models import Store, StoreHoursException

TAIPEI = (25.0330, 121.5654)
NINE_TO_SIX = {
    d: [{"opens": "09:00", "closes": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")
}
_seq = itertools.count(1)


def store(session, *, merchant, lat: float = TAIPEI[0], lng: float = TAIPEI[1], **fields) -> Store:
    n = next(_seq)
    values = {
        "name": f"Store {n}",
        "code": f"S{n}",
        "address": f"{n} Main St",
        "city": "Taipei",
        "timezone": "Asia/Taipei",
        "hours": NINE_TO_SIX,
        **fields,
    }
    s = Store(
        merchant_id=merchant.id, location=WKTElement(point_ewkt(lat, lng), extended=True), **values
    )
    session.add(s)
    session.flush()  # id for the caller
    return s


def hours_exception(session, *, store: Store, date, hours=(), note=None) -> StoreHoursException:
    e = StoreHoursException(
        store_id=store.id,
        merchant_id=store.merchant_id,
        date=date,
        closed=not hours,
        hours=list(hours),
        note=note,
    )
    session.add(e)
    session.flush()  # surfaces constraint errors at the call site
    return e
