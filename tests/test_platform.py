"""Probes, request ids, access logs and the OpenAPI contract."""

import json
import logging

import pytest
from openapi_spec_validator import validate

from app import create_app
from app.config import Config
from app.request_log import JsonFormatter
from tests.conftest import app_config


def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable():
    dead = app_config(SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    client = create_app(dead).test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_when_migrations_are_behind(client, session):
    session.execute(__import__("sqlalchemy").text("UPDATE alembic_version SET version_num='0001'"))
    session.commit()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["detail"] == "migrations not at head"


def test_every_response_has_a_request_id_and_a_sane_client_id_is_kept(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) >= 16
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-12345678"})
    assert kept.headers["X-Request-ID"] == "abc-12345678"
    insane = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert insane.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_one_json_log_line_per_request_without_secrets(app, client, shopper, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESS_LOG", True)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))
    logger = logging.getLogger("shopnear.access")
    logger.addHandler(handler)
    try:
        client.post(
            "/v1/auth/login", json={"email": shopper.email, "password": "a secret password"}
        )
        client.get("/v1/me?lat=25.03312&lng=121.56541", headers=shopper.headers)
    finally:
        logger.removeHandler(handler)
    entries = [json.loads(line) for line in lines]
    assert [e["path"] for e in entries] == ["/v1/auth/login", "/v1/me"]
    me = entries[1]
    assert me["method"] == "GET" and me["status"] == 200 and me["user_id"] == shopper.id
    assert me["request_id"] and me["duration_ms"] >= 0
    text = "\n".join(lines)
    assert "a secret password" not in text
    assert shopper.tokens["access_token"] not in text
    assert "25.03312" not in text  # positions are not logged (rule 6)


def test_openapi_is_valid_31_with_bearer_security_and_local_swagger_ui(client):
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    me = spec["paths"]["/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    assert "422" in spec["paths"]["/v1/auth/register"]["post"]["responses"]
    staff = spec["paths"]["/v1/admin/staff"]["post"]
    assert {"401", "403", "404", "422"} <= set(staff["responses"])
    assert any(p["name"] == "X-Merchant-ID" for p in staff["parameters"])
    docs = client.get("/docs").get_data(as_text=True)
    assert "/docs/static/swagger-ui-bundle.js" in docs and "//cdn" not in docs
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_every_operation_has_a_summary_and_a_tag(client):
    spec = client.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            assert op.get("tags"), f"{method.upper()} {path} has no tag"


def _resolve(spec: dict, pointer: str) -> dict:
    node = spec
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_answers_link_to_what_a_client_does_next(client):
    # A created reservation leads to its read, cancel, extend and pass; a claim to the wallet
    # coupon; a post to its like and vote; a new store to its stock, and stock to stock near me.
    spec = client.get("/openapi.json").get_json()
    created = spec["paths"]["/v1/reservations"]["post"]["responses"]["201"]["links"]
    assert {"ReadReservation", "CancelReservation", "ExtendReservation"} <= set(created)
    followed = 0
    for item in spec["paths"].values():
        for method, op in item.items():
            if method == "parameters":
                continue
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    target = _resolve(spec, link["operationRef"])
                    path_item = _resolve(spec, link["operationRef"].rsplit("/", 1)[0])
                    names = {p["name"] for p in target.get("parameters", [])}
                    names |= {p["name"] for p in path_item.get("parameters", [])}
                    assert set(link["parameters"]) <= names, link
                    followed += 1
    assert followed >= 14


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("SHOPNEAR_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Config()


def test_development_generates_a_secret_key_and_warns(monkeypatch):
    monkeypatch.setenv("SHOPNEAR_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.warns(UserWarning, match="SECRET_KEY"):
        first = Config()
    with pytest.warns(UserWarning):
        assert Config().SECRET_KEY != first.SECRET_KEY
    assert len(first.SECRET_KEY) >= 32
