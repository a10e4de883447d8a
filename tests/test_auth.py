"""Shopper accounts: register, login, refresh rotation and reuse detection, logout, profile."""

import time
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select

from app import create_app
from app.accounts.models import User
from tests.conftest import PASSWORD, app_config, login


def register(client, email="mei@example.com", password="long enough pw", **extra):
    body = {"email": email, "password": password, "display_name": "Mei", **extra}
    return client.post("/v1/auth/register", json=body)


def test_register_then_login_gives_tokens_that_open_me(client, session):
    resp = register(client, phone="+886 2 1234 5678")
    assert resp.status_code == 201
    assert resp.get_json()["email"] == "mei@example.com"
    assert "password" not in resp.get_json()
    stored = session.scalar(select(User).where(User.email == "mei@example.com"))
    assert stored.password_hash.startswith("$argon2id$")
    tokens = login(client, "MEI@example.com", "long enough pw")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["display_name"] == "Mei"


def test_emails_are_unique_whatever_their_case(client):
    assert register(client).status_code == 201
    resp = register(client, email="Mei@Example.COM")
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "accounts.email_taken"


@pytest.mark.parametrize("password", ["short", "123456789"])
def test_passwords_need_ten_characters(client, password):
    resp = register(client, password=password)
    assert resp.status_code == 422
    assert "password" in resp.get_json()["errors"]


def test_wrong_password_and_unknown_email_get_the_same_401(client, shopper):
    wrong = client.post("/v1/auth/login", json={"email": shopper.email, "password": "nope nope!"})
    unknown = client.post("/v1/auth/login", json={"email": "who@x.io", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]
    assert wrong.content_type == "application/problem+json"


def test_refresh_rotates_and_the_old_token_stops_working(client, shopper):
    first = shopper.tokens["refresh_token"]
    resp = client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert resp.status_code == 200
    second = resp.get_json()["refresh_token"]
    assert second != first
    assert (
        client.get(
            "/v1/me", headers={"Authorization": f"Bearer {resp.get_json()['access_token']}"}
        ).status_code
        == 200
    )
    again = client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert again.status_code == 401
    assert again.get_json()["type"] == "accounts.refresh_reused"


def test_reusing_a_rotated_token_revokes_the_whole_login(client, shopper):
    first = shopper.tokens["refresh_token"]
    second = client.post("/v1/auth/refresh", json={"refresh_token": first}).get_json()
    client.post("/v1/auth/refresh", json={"refresh_token": first})  # a thief replays the old one
    resp = client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert resp.status_code == 401


def test_reuse_revokes_only_that_login(client, shopper):
    other_device = login(client, shopper.email)
    first = shopper.tokens["refresh_token"]
    client.post("/v1/auth/refresh", json={"refresh_token": first})
    client.post("/v1/auth/refresh", json={"refresh_token": first})
    resp = client.post("/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]})
    assert resp.status_code == 200


def test_logout_revokes_the_refresh_token(client, shopper):
    token = shopper.tokens["refresh_token"]
    assert client.post("/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    assert client.post("/v1/auth/refresh", json={"refresh_token": token}).status_code == 401
    assert client.post("/v1/auth/logout", json={"refresh_token": token}).status_code == 401


def test_unknown_refresh_token_is_401(client):
    resp = client.post("/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert resp.status_code == 401


def test_me_needs_a_valid_token(client):
    assert client.get("/v1/me").status_code == 401
    resp = client.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert resp.status_code == 401
    assert resp.content_type == "application/problem+json"


def test_patch_me_changes_name_and_phone_only(client, shopper):
    resp = client.patch(
        "/v1/me", json={"display_name": "Mei L.", "phone": "+1 555 0100"}, headers=shopper.headers
    )
    assert resp.status_code == 200
    assert resp.get_json()["display_name"] == "Mei L."
    resp = client.patch("/v1/me", json={"email": "x@y.io"}, headers=shopper.headers)
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"email": ["Unknown field."]}


def test_login_is_limited_per_account(client, shopper):
    for _ in range(10):
        client.post(
            "/v1/auth/login",
            json={"email": shopper.email, "password": "wrong pw!!"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
    # Same account from another address: still limited.
    resp = client.post(
        "/v1/auth/login",
        json={"email": shopper.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.content_type == "application/problem+json"


def test_login_is_limited_per_ip(client):
    for i in range(10):
        client.post(
            "/v1/auth/login",
            json={"email": f"u{i}@x.io", "password": "whatever!!"},
            environ_base={"REMOTE_ADDR": "10.0.0.3"},
        )
    resp = client.post(
        "/v1/auth/login",
        json={"email": "new@x.io", "password": "whatever!!"},
        environ_base={"REMOTE_ADDR": "10.0.0.3"},
    )
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers


def test_an_access_token_stops_working_when_it_expires_though_just_used(app, client, shopper):
    # A verified token is remembered until its `exp` (app/accounts/permissions.py): the memory
    # must not outlive the token. `exp` is whole seconds, so a token of 3 s lives 2 to 3 s: long
    # enough for its first two uses on a loaded machine (1 s could leave it a few ms).
    with app.app_context():
        token = create_access_token(identity=str(shopper.id), expires_delta=timedelta(seconds=3))
        exp = decode_token(token)["exp"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/me", headers=headers).status_code == 200
    assert client.get("/v1/me", headers=headers).status_code == 200
    while time.time() <= exp + 0.05:
        time.sleep(0.05)
    resp = client.get("/v1/me", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["detail"] == "Token has expired."


def test_a_token_another_deployment_signed_is_refused_though_this_one_knows_it(client, shopper):
    # Two deployments in one process (as in these tests) with different keys: a token one of
    # them verified is nothing to the other.
    other = create_app(app_config(SECRET_KEY="another-deployments-key-long-enough-for-hs256"))
    assert client.get("/v1/me", headers=shopper.headers).status_code == 200
    resp = other.test_client().get("/v1/me", headers=shopper.headers)
    assert resp.status_code == 401 and resp.content_type == "application/problem+json"
