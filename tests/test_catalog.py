"""Catalog: merchant admin of products and SKUs, shopper reads, tenancy."""

from sqlalchemy import select

from app.catalog.models import Sku
from tests import factories

PRODUCT = {
    "title": "Oolong tea",
    "description": "High-mountain oolong.",
    "image_urls": ["https://img.example.com/oolong.jpg"],
    "skus": [
        {"code": "OOLONG-100", "title": "100 g", "price_cents": 34900, "currency": "TWD"},
        {"code": "OOLONG-250", "title": "250 g", "price_cents": 79900, "currency": "TWD"},
    ],
}


def _create(client, caller, body=PRODUCT):
    return client.post("/v1/admin/products", json=body, headers=caller.headers)


def test_an_operator_creates_a_product_with_skus_and_shoppers_read_it(client, make_staff):
    operator = make_staff("operator")
    resp = _create(client, operator)
    assert resp.status_code == 201, resp.get_json()
    product = resp.get_json()
    assert [s["code"] for s in product["skus"]] == ["OOLONG-100", "OOLONG-250"]

    public = client.get(f"/v1/products/{product['id']}")
    assert public.status_code == 200
    assert public.get_json()["title"] == "Oolong tea"
    sku_id = product["skus"][0]["id"]
    sku = client.get(f"/v1/skus/{sku_id}").get_json()
    assert sku["product_title"] == "Oolong tea"
    assert sku["price_cents"] == 34900


def test_sku_codes_are_unique_within_a_merchant_only(client, make_staff, session):
    owner = make_staff("owner")
    assert _create(client, owner).status_code == 201
    again = _create(client, owner)
    assert again.status_code == 409
    assert again.get_json()["type"] == "catalog.sku_code_taken"
    other = make_staff("owner", of=factories.merchant(session))
    session.commit()
    assert _create(client, other).status_code == 201


def test_store_managers_and_service_cannot_edit_the_catalog(client, make_staff):
    for caller in (make_staff("store_manager", store_ids=[1]), make_staff("service")):
        assert _create(client, caller).status_code == 403


def test_another_merchants_product_is_404_for_staff(client, make_staff, session, unchanged):
    owner = make_staff("owner")
    product_id = _create(client, owner).get_json()["id"]
    stranger = make_staff("owner", of=factories.merchant(session))
    with unchanged():
        for method in ("get", "patch", "delete"):
            kwargs = {"json": {"title": "x"}} if method == "patch" else {}
            resp = getattr(client, method)(
                f"/v1/admin/products/{product_id}", headers=stranger.headers, **kwargs
            )
            assert resp.status_code == 404, method
            assert resp.get_json()["type"] == "catalog.product_not_found"


def test_archiving_a_product_hides_it_and_its_skus_from_shoppers(client, make_staff, session):
    owner = make_staff("owner")
    product = _create(client, owner).get_json()
    resp = client.delete(f"/v1/admin/products/{product['id']}", headers=owner.headers)
    assert resp.status_code == 204
    assert client.get(f"/v1/products/{product['id']}").status_code == 404
    assert client.get(f"/v1/skus/{product['skus'][0]['id']}").status_code == 404
    assert not any(session.scalars(select(Sku.is_active)))


def test_skus_are_added_and_repriced(client, make_staff):
    owner = make_staff("owner")
    product = _create(client, owner).get_json()
    added = client.post(
        f"/v1/admin/products/{product['id']}/skus",
        json={"code": "OOLONG-500", "price_cents": 149900, "currency": "TWD"},
        headers=owner.headers,
    )
    assert added.status_code == 201
    sku_id = added.get_json()["id"]
    changed = client.patch(
        f"/v1/admin/skus/{sku_id}", json={"price_cents": 139900}, headers=owner.headers
    )
    assert changed.status_code == 200
    assert client.get(f"/v1/skus/{sku_id}").get_json()["price_cents"] == 139900
    listing = client.get("/v1/admin/products?limit=1", headers=owner.headers).get_json()
    assert len(listing["items"]) == 1


def test_bad_catalog_input_is_422_with_field_errors(client, make_staff):
    owner = make_staff("owner")
    bad = {
        "title": "",
        "image_urls": ["http://insecure.example.com/x.jpg"],
        "skus": [{"code": "bad code!", "price_cents": -1, "currency": "usd"}],
    }
    resp = _create(client, owner, bad)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    for field in ("title", "image_urls.0", "skus.0.code", "skus.0.price_cents", "skus.0.currency"):
        assert field in errors, (field, errors)


def test_unknown_products_and_skus_are_404(client):
    assert client.get("/v1/products/999999").status_code == 404
    assert client.get("/v1/skus/999999").status_code == 404
