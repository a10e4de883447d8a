"""Bad input never hurts: every JSON endpoint answers malformed, mistyped, unknown, oversized
and wrongly typed bodies with a 4xx problem naming the field, never a 500."""

import logging

import pytest

from app import create_app
from tests.conftest import app_config

PROBLEM = "application/problem+json"


# A well-formed value per path parameter type, so routing matches and the body is judged.
SAMPLE_PARAM = {
    "integer": "1",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "date": "2026-12-24",
    "string": "x",
}


def _sample_path(path: str, parameters: list[dict]) -> str:
    for param in parameters:
        if param.get("in") == "path":
            schema = param.get("schema", {})
            value = schema.get("example") or SAMPLE_PARAM.get(
                schema.get("format"), SAMPLE_PARAM.get(schema.get("type"))
            )
            if "enum" in schema:
                value = schema["enum"][0]
            path = path.replace("{" + param["name"] + "}", value or "1")
    return path


def _json_endpoints(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                params = item.get("parameters", []) + op.get("parameters", [])
                yield method, _sample_path(path, params)


@pytest.fixture
def everyone(make_staff):
    """An owner: signed in and staff, so auth passes and the body is what gets judged."""
    return make_staff("owner")


def _endpoints():
    app = create_app(app_config())
    return sorted(set(_json_endpoints(app)))


ENDPOINTS = _endpoints()


def _assert_problem(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"] and body["request_id"]
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_malformed_json_is_400(client, everyone, method, path):
    resp = getattr(client, method)(
        path, data="{not json", content_type="application/json", headers=everyone.headers
    )
    _assert_problem(resp, 400)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_wrong_content_type_is_415(client, everyone, method, path):
    resp = getattr(client, method)(
        path, data="email=x", content_type="text/plain", headers=everyone.headers
    )
    _assert_problem(resp, 415)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_huge_body_is_413(client, everyone, method, path):
    big = '{"x": "' + "a" * (2 * 1024 * 1024) + '"}'
    resp = getattr(client, method)(
        path, data=big, content_type="application/json", headers=everyone.headers
    )
    _assert_problem(resp, 413)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_unknown_field_is_named(client, everyone, method, path):
    resp = getattr(client, method)(path, json={"zz_unknown": 1}, headers=everyone.headers)
    body = _assert_problem(resp, 422)
    assert "zz_unknown" in body["errors"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_body_that_is_not_an_object_is_422(client, everyone, method, path):
    resp = getattr(client, method)(path, json=["a", "list"], headers=everyone.headers)
    body = _assert_problem(resp, 422)
    assert body["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": 5, "password": "long enough pw", "display_name": "M"}, "email"),
        ({"email": "a@b.io", "password": ["x"], "display_name": "M"}, "password"),
        (
            {"email": "a@b.io", "password": "long enough pw", "display_name": "M" * 81},
            "display_name",
        ),
        (
            {"email": "a@b.io" + "x" * 300, "password": "long enough pw", "display_name": "M"},
            "email",
        ),
        ({"email": "a@b.io", "password": "p" * 129, "display_name": "M"}, "password"),
        ({"password": "long enough pw", "display_name": "M"}, "email"),
        (
            {"email": "a@b.io", "password": "long enough pw", "display_name": "M", "phone": "x"},
            "phone",
        ),
    ],
)
def test_register_names_the_bad_field(client, body, field):
    resp = client.post("/v1/auth/register", json=body)
    assert _assert_problem(resp, 422)["errors"].keys() == {field}


@pytest.mark.parametrize("phone", ["+5-0 2 52 (5-889502)908 2((057593", "1" * 33])
def test_a_phone_longer_than_32_characters_is_named_not_a_500(client, everyone, phone):
    # Found by schemathesis: "+" and 32 digits passed the pattern and overflowed the column.
    resp = client.patch("/v1/me", json={"phone": phone}, headers=everyone.headers)
    assert _assert_problem(resp, 422)["errors"].keys() == {"phone"}
    kept = client.patch("/v1/me", json={"phone": "+" + "1" * 31}, headers=everyone.headers)
    assert kept.status_code == 200 and kept.get_json()["phone"] == "+" + "1" * 31


@pytest.mark.parametrize("accuracy", [2.5890419884777833e-42, 12.5, "12", True])
def test_an_integer_field_refuses_what_is_not_an_integer(client, everyone, accuracy):
    # Found by schemathesis: a float for the integer accuracy_m was truncated and a coupon claimed.
    body = {"lat": 25.033, "lng": 121.5654, "accuracy_m": accuracy}
    resp = client.post("/v1/shake", json=body, headers=everyone.headers)
    assert _assert_problem(resp, 422)["errors"].keys() == {"accuracy_m"}


def test_staff_role_outside_the_list_is_named(client, everyone):
    resp = client.post(
        "/v1/admin/staff", json={"email": "a@b.io", "role": "god"}, headers=everyone.headers
    )
    assert "role" in _assert_problem(resp, 422)["errors"]


def test_unknown_path_and_method_are_problems(client):
    _assert_problem(client.get("/v1/nowhere"), 404)
    _assert_problem(client.delete("/v1/auth/login"), 405)


def test_unexpected_errors_are_500_problems_with_the_request_id_and_a_logged_trace():
    app = create_app(app_config())

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("shopnear").addHandler(handler)
    try:
        resp = app.test_client().get("/boom", headers={"X-Request-ID": "req-12345678"})
    finally:
        logging.getLogger("shopnear").removeHandler(handler)
    body = _assert_problem(resp, 500)
    assert body["request_id"] == "req-12345678"
    assert "secret internals" not in resp.get_data(as_text=True)
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in records)
