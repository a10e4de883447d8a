"""GET /v1/stores/map: GeoJSON in a box, the antimeridian, truncation, absurd boxes."""

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import insert

from app.geo import point_ewkt
from app.stores.models import Store
from tests import factories
from tests.factories_stores import store


def in_box(client, bbox: str, **filters):
    return client.get("/v1/stores/map", query_string={"bbox": bbox, **filters})


def test_stores_in_the_box_as_geojson(client, session, merchant):
    inside = store(session, merchant=merchant, lat=25.04, lng=121.56, name="Inside")
    store(session, merchant=merchant, lat=25.20, lng=121.56)  # north of the box
    store(session, merchant=merchant, lat=25.04, lng=121.60, is_active=False)
    session.commit()

    resp = in_box(client, "121.50,25.00,121.58,25.06")

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    assert body["features"] == [
        {
            "type": "Feature",
            "id": inside.id,
            "geometry": {"type": "Point", "coordinates": [121.56, 25.04]},
            "properties": {
                "id": inside.id,
                "name": "Inside",
                "merchant_id": merchant.id,
                "open_now": body["features"][0]["properties"]["open_now"],
                "pickup_enabled": True,
            },
        }
    ]


def test_a_box_across_the_antimeridian(client, session, merchant):
    east = store(session, merchant=merchant, lat=-17.0, lng=179.5)
    west = store(session, merchant=merchant, lat=-17.0, lng=-179.5)
    store(session, merchant=merchant, lat=-17.0, lng=0.0)
    store(session, merchant=merchant, lat=-10.0, lng=179.5)  # north of the box
    session.commit()

    body = in_box(client, "179,-18,-179,-16").get_json()

    assert sorted(f["id"] for f in body["features"]) == sorted([east.id, west.id])


def test_filters_apply_on_the_map(client, session, merchant):
    other = factories.merchant(session)
    mine = store(session, merchant=merchant, lat=25.04, lng=121.56)
    store(session, merchant=other, lat=25.04, lng=121.56, pickup_enabled=False)
    session.commit()

    body = in_box(client, "121,25,122,26", merchant_id=merchant.id, pickup="true").get_json()

    assert [f["id"] for f in body["features"]] == [mine.id]


def test_at_most_500_features_and_a_truncated_flag(client, session, merchant):
    rows = [
        {
            "merchant_id": merchant.id,
            "name": f"S{i}",
            "address": "1 Main St",
            "city": "Taipei",
            "timezone": "Asia/Taipei",
            "location": WKTElement(point_ewkt(25.0 + i / 10_000, 121.5), extended=True),
        }
        for i in range(501)
    ]
    session.execute(insert(Store), rows)
    session.commit()

    whole_world = in_box(client, "-180,-90,180,90").get_json()
    smaller = in_box(client, "121,25,122,25.0499").get_json()

    assert len(whole_world["features"]) == 500 and whole_world["truncated"] is True
    assert len(smaller["features"]) == 500 and smaller["truncated"] is False


@pytest.mark.parametrize(
    "bbox",
    [
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "",
        "0,50,10,40",  # minLat > maxLat
        "0,10,10,10",  # no height
        "5,0,5,10",  # no width
        "-200,0,0,10",
        "0,-95,10,0",
        "0,0,181,10",
        "nan,0,1,1",
        "0,0,inf,1",
    ],
)
def test_absurd_boxes_are_refused(client, bbox):
    resp = in_box(client, bbox)

    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert "bbox" in resp.get_json()["errors"]


def test_the_box_is_required(client):
    resp = client.get("/v1/stores/map")

    assert resp.status_code == 422 and "bbox" in resp.get_json()["errors"]
