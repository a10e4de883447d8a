"""Token attacks answer 401 (or 403 for staff who lost the role) as problem+json."""

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.errors import PROBLEM
from tests.conftest import app_config

SECRET = app_config().SECRET_KEY


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: int, **extra) -> dict:
    now = datetime.now(UTC)
    return {
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "jti": "x",
        "type": "access",
        "fresh": False,
        "exp": now + timedelta(minutes=5),
    } | extra


def _unsigned(user_id: int, alg: str) -> str:
    payload = {**_claims(user_id), "iat": 0, "nbf": 0, "exp": 4102444800}
    return f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(payload)}."


ATTACKS = {
    "alg none": lambda uid: _unsigned(uid, "none"),
    "alg None": lambda uid: _unsigned(uid, "None"),
    # RS256 named in the header, "signed" with the HMAC secret as if it were a public key.
    "HS/RS confusion": lambda uid: (
        _unsigned(uid, "RS256") + base64.urlsafe_b64encode(SECRET.encode()).rstrip(b"=").decode()
    ),
    "HS512 instead of HS256": lambda uid: _other_hmac(uid),
    "expired": lambda uid: jwt.encode(
        _claims(uid, exp=datetime.now(UTC) - timedelta(seconds=5)), SECRET, algorithm="HS256"
    ),
    "forged signature": lambda uid: jwt.encode(_claims(uid), "another-secret" * 4, "HS256"),
    "tampered subject": lambda uid: _tamper(jwt.encode(_claims(uid), SECRET, "HS256")),
    "not yet valid": lambda uid: jwt.encode(
        _claims(uid, nbf=datetime.now(UTC) + timedelta(hours=1)), SECRET, "HS256"
    ),
    "garbage": lambda uid: "not.a.token",
}


def _other_hmac(user_id: int) -> str:
    """The right secret under another algorithm than the one configured."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(_claims(user_id), SECRET, algorithm="HS512")


def _tamper(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(1), 'iat': 0, 'nbf': 0, 'exp': 4102444800})}.{signature}"


def _assert_problem(resp, status: int):
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == PROBLEM
    assert resp.get_json()["status"] == status
    return resp.get_json()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_bad_tokens_are_401_on_shopper_and_staff_endpoints(client, owner, attack):
    headers = {"Authorization": f"Bearer {ATTACKS[attack](owner.id)}"}
    for path in ("/v1/me", "/v1/wallet/coupons", "/v1/admin/merchant"):
        _assert_problem(client.get(path, headers=headers), 401)


def test_the_real_token_works_so_the_attacks_fail_for_their_flaw(client, owner):
    token = jwt.encode(_claims(owner.id), SECRET, algorithm="HS256")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_refresh_token_is_no_access_token(client, shopper):
    refresh = shopper.tokens["refresh_token"]
    body = _assert_problem(
        client.get("/v1/me", headers={"Authorization": f"Bearer {refresh}"}), 401
    )
    assert body["type"] == "accounts.invalid_token"


def test_staff_removed_or_demoted_lose_access_at_once(client, make_staff, owner):
    removed, demoted = make_staff("operator"), make_staff("owner")
    assert client.get("/v1/admin/products", headers=removed.headers).status_code == 200
    client.delete(f"/v1/admin/staff/{removed.id}", headers=owner.headers)
    body = _assert_problem(client.get("/v1/admin/products", headers=removed.headers), 403)
    assert body["type"] == "accounts.not_staff"
    resp = client.patch(
        f"/v1/admin/staff/{demoted.id}", json={"role": "service"}, headers=owner.headers
    )
    assert resp.status_code == 200
    body = _assert_problem(
        client.patch("/v1/admin/merchant", json={"name": "Mine now"}, headers=demoted.headers), 403
    )
    assert body["type"] == "accounts.role_forbidden"
