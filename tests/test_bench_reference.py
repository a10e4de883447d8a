"""The benchmark's reference app (bench/reference/app.py) sends shopnear's own SQL: it must keep
answering what the API answers, or every "API / reference" ratio of scripts/bench is void."""

import importlib

import pytest

from tests import factories_inventory as inv
from tests import factories_stores

LAT, LNG = factories_stores.TAIPEI


@pytest.fixture
def reference(monkeypatch, session):
    """The reference app on the test's own connection (its rows live in the test's transaction)."""
    module = importlib.import_module("bench.reference.app")
    raw = session.connection().connection.dbapi_connection
    monkeypatch.setattr(module, "cursor", raw.cursor)
    return module.app.test_client()


def test_the_reference_app_answers_what_the_api_answers(client, reference, session, merchant):
    stores = [
        factories_stores.store(session, merchant=merchant, lng=LNG + k * 0.01) for k in (1, 2, 3)
    ]
    sku = inv.skus(session, merchant)[0]
    for place in stores[:2]:
        inv.stock(session, place, sku, on_hand=4)
    session.commit()
    where = f"lat={LAT}&lng={LNG}"

    def same(path, key):
        ours, theirs = client.get(path).get_json(), reference.get(path).get_json()
        return [key(i) for i in ours["items"]] == [key(i) for i in theirs["items"]]

    assert same(f"/v1/stores/nearby?{where}", lambda i: (i["id"], i["distance_m"], i["open_now"]))
    assert same(f"/v1/skus/{sku.id}/nearby?{where}", lambda i: (i["store"]["id"], i["available"]))
    detail = reference.get(f"/v1/stores/{stores[0].id}").get_json()
    assert detail["id"] == stores[0].id
    assert detail["open_now"] == client.get(f"/v1/stores/{stores[0].id}").get_json()["open_now"]
    pins = reference.get(f"/v1/stores/map?bbox={LNG},{LAT - 0.01},{LNG + 0.05},{LAT + 0.01}")
    assert {f["id"] for f in pins.get_json()["features"]} == {s.id for s in stores}
