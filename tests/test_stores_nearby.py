"""GET /v1/stores/nearby: exact radius, order, geodesic distances, paging, bad input."""

import math
import random

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.factories_stores import TAIPEI, store

WGS84 = Geodesic.WGS84
SPHERE_RADIUS_M = 6_371_008.8  # the sphere PostGIS orders `<->` on


def destination(lat: float, lng: float, bearing: float, metres: float) -> tuple[float, float]:
    point = WGS84.Direct(lat, lng, bearing, metres)
    return point["lat2"], point["lon2"]


def geodesic_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return WGS84.Inverse(a[0], a[1], b[0], b[1])["s12"]


def great_circle_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * SPHERE_RADIUS_M * math.asin(math.sqrt(h))


def nearby(client, **params):
    return client.get("/v1/stores/nearby", query_string=params)


def all_pages(client, limit: int, **params) -> list[int]:
    ids, cursor = [], None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = nearby(client, **query).get_json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


@pytest.fixture
def ring(session, merchant):
    """40 stores 50 m .. 9 km from Taipei in all directions, plus three at one spot."""
    rng = random.Random(7)
    stores = []
    for i in range(40):
        lat, lng = destination(*TAIPEI, rng.uniform(0, 360), 50 + i * 225 + rng.uniform(0, 100))
        stores.append(store(session, merchant=merchant, lat=lat, lng=lng))
    spot = destination(*TAIPEI, 45, 1234)
    stores += [store(session, merchant=merchant, lat=spot[0], lng=spot[1]) for _ in range(3)]
    session.commit()
    return stores


def test_exactly_the_stores_in_the_radius_nearest_first(client, ring):
    body = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1], radius_m=4000, limit=100).get_json()

    inside = [s for s in ring if geodesic_m(TAIPEI, (s.position["lat"], s.position["lng"])) <= 4000]
    expected = sorted(inside, key=lambda s: (geodesic_m(TAIPEI, tuple(s.position.values())), s.id))
    assert [item["id"] for item in body["items"]] == [s.id for s in expected]
    assert body["next_cursor"] is None


def test_distances_agree_with_geographiclib_within_a_metre(client, ring):
    body = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1], radius_m=10_000, limit=100).get_json()

    assert len(body["items"]) == len(ring)
    for item in body["items"]:
        expected = geodesic_m(TAIPEI, (item["location"]["lat"], item["location"]["lng"]))
        assert abs(item["distance_m"] - expected) <= 1
        assert isinstance(item["distance_m"], int)


def test_an_item_shows_what_a_shopper_needs(client, session, merchant):
    s = store(session, merchant=merchant, name="Leaf & Bean Xinyi", pickup_enabled=False)
    session.commit()

    item = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1]).get_json()["items"][0]

    assert item["id"] == s.id and item["name"] == "Leaf & Bean Xinyi"
    assert item["merchant"] == {"id": merchant.id, "name": merchant.name}
    assert item["location"] == pytest.approx({"lat": TAIPEI[0], "lng": TAIPEI[1]})
    assert item["distance_m"] == 0 and item["pickup_enabled"] is False
    assert set(item) == {
        "id", "name", "merchant", "address", "location", "distance_m", "open_now",
        "next_change_at", "pickup_enabled",
    }  # fmt: skip


def test_filters_pickup_merchant_and_name(client, session, merchant):
    other = factories.merchant(session)
    a = store(session, merchant=merchant, name="Leaf & Bean Xinyi")
    b = store(session, merchant=merchant, name="Corner Mart", pickup_enabled=False)
    c = store(session, merchant=other, name="leaf & bean Da'an")
    inactive = store(session, merchant=merchant, name="Leaf Closed", is_active=False)
    session.commit()
    here = {"lat": TAIPEI[0], "lng": TAIPEI[1]}

    def ids(**params):
        return {item["id"] for item in nearby(client, **here, **params).get_json()["items"]}

    assert ids() == {a.id, b.id, c.id}
    assert inactive.id not in ids()
    assert ids(pickup="true") == {a.id, c.id}
    assert ids(merchant_id=merchant.id) == {a.id, b.id}
    assert ids(q="LEAF") == {a.id, c.id}
    assert ids(q="%") == set()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lat=st.floats(25.00, 25.07),
    lng=st.floats(121.53, 121.60),
    limit=st.integers(1, 7),
    radius=st.integers(500, 12_000),
)
def test_paging_visits_every_store_once(client, ring, lat, lng, limit, radius):
    one_page = nearby(client, lat=lat, lng=lng, radius_m=radius, limit=100).get_json()["items"]

    paged = all_pages(client, limit, lat=lat, lng=lng, radius_m=radius)

    assert paged == [item["id"] for item in one_page]
    assert len(set(paged)) == len(paged)


@pytest.fixture
def crossed(session, merchant):
    """Pairs of stores where the sphere and the spheroid disagree on which is nearer: one due
    north at d (the spheroid's metres are shorter there at 25°N), one due east at d + 1 m."""
    stores = []
    for i in range(12):
        d = 300 + i * 3
        for bearing, metres in ((0, d), (90, d + 1)):
            lat, lng = destination(*TAIPEI, bearing, metres)
            stores.append(store(session, merchant=merchant, lat=lat, lng=lng))
    session.commit()
    return stores


def test_the_fixture_really_crosses_sphere_and_spheroid(crossed):
    north, east = (tuple(s.position.values()) for s in crossed[:2])
    assert geodesic_m(TAIPEI, north) < geodesic_m(TAIPEI, east)
    assert great_circle_m(TAIPEI, north) > great_circle_m(TAIPEI, east)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lat=st.floats(25.030, 25.036),
    lng=st.floats(121.562, 121.568),
    limit=st.integers(1, 5),
    radius=st.integers(200, 1_000),
)
@example(lat=TAIPEI[0], lng=TAIPEI[1], limit=1, radius=1_000)
@example(lat=TAIPEI[0], lng=TAIPEI[1], limit=3, radius=1_000)
def test_distance_never_decreases_down_a_page_or_across_pages(
    client, crossed, lat, lng, limit, radius
):
    items, cursor = [], None
    while True:
        query = {"lat": lat, "lng": lng, "radius_m": radius, "limit": limit}
        body = nearby(client, **query, **({"cursor": cursor} if cursor else {})).get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    distances = [item["distance_m"] for item in items]
    assert distances == sorted(distances)
    here = (lat, lng)
    inside = {s.id for s in crossed if geodesic_m(here, tuple(s.position.values())) <= radius}
    assert sorted(item["id"] for item in items) == sorted(inside)  # each exactly once


def test_stores_at_one_spot_page_by_id(client, ring):
    spot = ring[-3:]
    lat, lng = spot[0].position["lat"], spot[0].position["lng"]

    paged = all_pages(client, 1, lat=lat, lng=lng, radius_m=1)

    assert paged == [s.id for s in spot]


def test_across_the_antimeridian(client, session, merchant):
    east = store(session, merchant=merchant, lat=-16.5, lng=179.999)
    west = store(session, merchant=merchant, lat=-16.5, lng=-179.998)
    store(session, merchant=merchant, lat=-16.5, lng=179.9)  # ~10.7 km away
    session.commit()

    body = nearby(client, lat=-16.5, lng=180, radius_m=1000).get_json()

    assert [item["id"] for item in body["items"]] == [east.id, west.id]
    for item in body["items"]:
        loc = item["location"]
        assert abs(item["distance_m"] - geodesic_m((-16.5, 180), (loc["lat"], loc["lng"]))) <= 1


@pytest.mark.parametrize("pole", [90, -90])
def test_at_the_poles(client, session, merchant, pole):
    near = [
        store(session, merchant=merchant, lat=math.copysign(89.99, pole), lng=lng)
        for lng in (0, 120, -120)
    ]
    session.commit()

    for lng in (0, 180, -180, 77.7):
        body = nearby(client, lat=pole, lng=lng, radius_m=2000).get_json()
        assert {item["id"] for item in body["items"]} == {s.id for s in near}
        for item in body["items"]:
            loc = item["location"]
            assert abs(item["distance_m"] - geodesic_m((pole, lng), (loc["lat"], loc["lng"]))) <= 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"lat": -90.0001}, "lat"),
        ({"lng": -181}, "lng"),
        ({"lat": "abc"}, "lat"),
        ({"lat": "NaN"}, "lat"),
        ({"lng": "Infinity"}, "lng"),
        ({"lat": "-inf"}, "lat"),
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": 10**9}, "radius_m"),
        ({"radius_m": 2.5}, "radius_m"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"q": "x" * 81}, "q"),
        ({"merchant_id": -1}, "merchant_id"),
        ({"open_now": "maybe"}, "open_now"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "x" * 600}, "cursor"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client, params, field):
    resp = nearby(client, **{"lat": 25.03, "lng": 121.56, **params})

    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert field in resp.get_json()["errors"]


def test_missing_coordinates(client):
    resp = nearby(client)

    assert resp.status_code == 422
    assert {"lat", "lng"} <= set(resp.get_json()["errors"])


def test_tampered_and_foreign_cursors(client, owner, ring):
    first = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1], limit=2).get_json()["next_cursor"]
    admin = client.get("/v1/admin/stores?limit=1", headers=owner.headers).get_json()["next_cursor"]
    tampered = first[:-2] + ("AA" if not first.endswith("AA") else "BB")

    for cursor in (tampered, admin):
        resp = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1], limit=2, cursor=cursor)
        assert resp.status_code == 422 and "cursor" in resp.get_json()["errors"]
    # A cursor of one search is no use for another.
    resp = nearby(client, lat=TAIPEI[0], lng=TAIPEI[1] + 0.01, limit=2, cursor=first)
    assert resp.status_code == 422 and "cursor" in resp.get_json()["errors"]
