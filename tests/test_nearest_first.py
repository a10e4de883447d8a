"""Nearest first means nearest first on stock near me, the pickup quote and coupons nearby, as on
stores nearby (tests/test_stores_nearby.py): `distance_m` never goes down a page or across pages,
and paging visits each holding store (each offer) exactly once — on stores placed where the
sphere the KNN index orders by and the spheroid the distances are measured on disagree."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.inventory.availability import QUOTE_STORES
from tests import factories_coupons as fc
from tests import factories_inventory as inv
from tests import factories_stores
from tests.test_stores_nearby import destination, geodesic_m

TAIPEI = factories_stores.TAIPEI
PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def crossed_stock(session, merchant):
    """Pairs of stores (due north at d, due east at d + 1 m) holding a SKU; a second SKU in
    every other pair so that the quote's whole-cart stores and partial stores both have many."""
    a, b = inv.skus(session, merchant, count=2)
    stores = []
    for i in range(10):
        d = 300 + i * 3
        for bearing, metres in ((0, d), (90, d + 1)):
            lat, lng = destination(*TAIPEI, bearing, metres)
            place = factories_stores.store(session, merchant=merchant, lat=lat, lng=lng)
            inv.stock(session, place, a, on_hand=3)
            if i % 2 == 0:
                inv.stock(session, place, b, on_hand=3)
            stores.append(place)
    session.commit()
    return stores, a, b


def _every_page(client, path: str, query: dict) -> list[dict]:
    """Every item of a paged list, following next_cursor to the end."""
    items, cursor = [], None
    while True:
        page = {**query, **({"cursor": cursor} if cursor else {})}
        body = client.get(path, query_string=page).get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


# PostGIS's ST_DWithin and geographiclib agree on the spheroid to far better than this; a store
# this close to the radius may be listed or not (the crossed stores sit at whole metres, the
# radius is whole metres too, so such ties do come up).
BOUNDARY_M = 0.01


def _inside(stores, here, radius):
    return {s.id for s in stores if geodesic_m(here, tuple(s.position.values())) <= radius}


def _on_the_edge(stores, here, radius):
    return {
        s.id
        for s in stores
        if abs(geodesic_m(here, tuple(s.position.values())) - radius) <= BOUNDARY_M
    }


def _listed_once_each(listed: list[int], stores, here, radius) -> None:
    """Every store inside the radius exactly once, none outside (the edge may go either way)."""
    assert len(listed) == len(set(listed))
    edge = _on_the_edge(stores, here, radius)
    assert set(listed) - edge == _inside(stores, here, radius) - edge


@PROPERTY
@given(
    lat=st.floats(25.030, 25.036),
    lng=st.floats(121.562, 121.568),
    limit=st.integers(1, 5),
    radius=st.integers(200, 1_000),
)
@example(lat=TAIPEI[0], lng=TAIPEI[1], limit=1, radius=1_000)
def test_stock_near_me_is_nearest_first_across_pages(
    client, crossed_stock, lat, lng, limit, radius
):
    stores, sku, _ = crossed_stock
    query = {"lat": lat, "lng": lng, "radius_m": radius, "limit": limit}
    items = _every_page(client, f"/v1/skus/{sku.id}/nearby", query)

    distances = [item["distance_m"] for item in items]
    assert distances == sorted(distances)
    _listed_once_each([item["store"]["id"] for item in items], stores, (lat, lng), radius)


@PROPERTY
@given(
    lat=st.floats(25.030, 25.036),
    lng=st.floats(121.562, 121.568),
    radius=st.integers(200, 1_000),
)
@example(lat=TAIPEI[0], lng=TAIPEI[1], radius=1_000)
def test_the_quote_lists_whole_and_partial_stores_nearest_first(
    client, crossed_stock, lat, lng, radius
):
    stores, a, b = crossed_stock
    cart = {"lat": lat, "lng": lng, "radius_m": radius}
    cart["items"] = [{"sku_id": a.id, "qty": 1}, {"sku_id": b.id, "qty": 1}]
    body = client.post("/v1/pickup/quote", json=cart).get_json()

    for listed in (body["stores"], body["partial"]):
        distances = [entry["distance_m"] for entry in listed]
        assert distances == sorted(distances)
    here = (lat, lng)
    inside = _inside(stores, here, radius)
    holding_both = [s for i, s in enumerate(stores) if (i // 2) % 2 == 0 and s.id in inside]
    holding_both.sort(key=lambda s: geodesic_m(here, tuple(s.position.values())))
    nearest = [s.id for s in holding_both[:QUOTE_STORES]]
    assert [entry["store"]["id"] for entry in body["stores"]] == nearest


@pytest.fixture
def crossed_offers(session, merchant):
    """One campaign at each store of the crossed pairs (north at d, east at d + 1 m)."""
    offers = {}
    for i in range(10):
        d = 300 + i * 3
        for bearing, metres in ((0, d), (90, d + 1)):
            lat, lng = destination(*TAIPEI, bearing, metres)
            place = factories_stores.store(session, merchant=merchant, lat=lat, lng=lng)
            offers[fc.campaign(session, merchant=merchant, store_ids=[place.id]).id] = place
    session.commit()
    return offers


@PROPERTY
@given(
    lat=st.floats(25.030, 25.036),
    lng=st.floats(121.562, 121.568),
    limit=st.integers(1, 5),
    radius=st.integers(200, 1_000),
)
@example(lat=TAIPEI[0], lng=TAIPEI[1], limit=1, radius=1_000)
def test_coupons_nearby_are_nearest_first_across_pages(
    client, crossed_offers, lat, lng, limit, radius
):
    query = {"lat": lat, "lng": lng, "radius": radius, "limit": limit}
    items = _every_page(client, "/v1/coupons/nearby", query)

    distances = [item["distance_m"] for item in items]
    assert distances == sorted(distances)
    listed = [crossed_offers[item["campaign"]["id"]].id for item in items]  # one offer a store
    _listed_once_each(listed, crossed_offers.values(), (lat, lng), radius)
