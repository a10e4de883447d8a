"""Merchant profile and staff: the role matrix, tenant isolation, the last owner."""

import pytest
from sqlalchemy import select

from app.accounts.models import Staff
from tests import factories

ROLES = ["owner", "operator", "store_manager", "service"]

# (method, path template, body) for every staff endpoint; {uid} is another staff member.
STAFF_ENDPOINTS = [
    ("get", "/v1/admin/staff", None),
    ("post", "/v1/admin/staff", {"email": "{email}", "role": "service"}),
    ("get", "/v1/admin/staff/{uid}", None),
    ("patch", "/v1/admin/staff/{uid}", {"role": "operator"}),
    ("delete", "/v1/admin/staff/{uid}", None),
    ("patch", "/v1/admin/merchant", {"name": "Renamed"}),
]


def _call(client, caller, method, path, body, *, uid, email):
    path = path.format(uid=uid)
    if body is not None:
        body = {k: (v.format(email=email) if isinstance(v, str) else v) for k, v in body.items()}
    return getattr(client, method)(path, json=body, headers=caller.headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
def test_role_matrix_only_owners_manage_staff(
    client, session, make_staff, role, method, path, body
):
    caller = make_staff(role, store_ids=[1] if role == "store_manager" else ())
    target = make_staff("service")
    newcomer = factories.user(session)
    session.commit()
    resp = _call(client, caller, method, path, body, uid=target.id, email=newcomer.email)
    if role == "owner":
        assert resp.status_code in (200, 201, 204), resp.get_json()
    else:
        assert resp.status_code == 403
        assert resp.get_json()["type"] == "accounts.role_forbidden"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_its_merchant(client, make_staff, merchant, role):
    caller = make_staff(role)
    resp = client.get("/v1/admin/merchant", headers=caller.headers)
    assert resp.status_code == 200
    assert resp.get_json()["id"] == merchant.id


def test_owner_adds_changes_and_removes_staff(client, session, owner):
    newcomer = factories.user(session, email="newcomer@example.com")
    session.commit()
    resp = client.post(
        "/v1/admin/staff",
        json={"email": "NEWCOMER@example.com", "role": "operator"},
        headers=owner.headers,
    )
    assert resp.status_code == 201
    assert resp.get_json()["role"] == "operator"
    resp = client.patch(
        f"/v1/admin/staff/{newcomer.id}", json={"role": "service"}, headers=owner.headers
    )
    assert resp.get_json()["role"] == "service"
    listed = client.get("/v1/admin/staff", headers=owner.headers).get_json()["items"]
    assert {m["email"] for m in listed} == {owner.email, "newcomer@example.com"}
    assert client.delete(f"/v1/admin/staff/{newcomer.id}", headers=owner.headers).status_code == 204
    assert session.scalar(select(Staff).where(Staff.user_id == newcomer.id)) is None


def test_adding_twice_is_a_conflict(client, session, owner):
    factories.user(session, email="twice@example.com")
    session.commit()
    body = {"email": "twice@example.com", "role": "service"}
    assert client.post("/v1/admin/staff", json=body, headers=owner.headers).status_code == 201
    resp = client.post("/v1/admin/staff", json=body, headers=owner.headers)
    assert resp.status_code == 409


def test_adding_an_unknown_email_names_the_field(client, owner):
    resp = client.post(
        "/v1/admin/staff",
        json={"email": "ghost@example.com", "role": "service"},
        headers=owner.headers,
    )
    assert resp.status_code == 422
    assert "email" in resp.get_json()["errors"]


def test_the_last_owner_can_be_neither_removed_nor_demoted(client, owner):
    resp = client.delete(f"/v1/admin/staff/{owner.id}", headers=owner.headers)
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "accounts.last_owner"
    resp = client.patch(
        f"/v1/admin/staff/{owner.id}", json={"role": "operator"}, headers=owner.headers
    )
    assert resp.status_code == 409


def test_with_a_second_owner_the_first_may_leave(client, make_staff, owner):
    make_staff("owner")
    assert client.delete(f"/v1/admin/staff/{owner.id}", headers=owner.headers).status_code == 204


def test_store_scope_only_for_store_managers(client, session, owner):
    user = factories.user(session)
    session.commit()
    resp = client.post(
        "/v1/admin/staff",
        json={"email": user.email, "role": "operator", "store_ids": [5]},
        headers=owner.headers,
    )
    assert resp.status_code == 422
    assert "store_ids" in resp.get_json()["errors"]
    resp = client.post(
        "/v1/admin/staff",
        json={"email": user.email, "role": "store_manager"},
        headers=owner.headers,
    )
    assert resp.status_code == 422


def test_store_manager_scope_must_be_stores_of_the_merchant(client, session, owner):
    user = factories.user(session)
    session.commit()
    resp = client.post(
        "/v1/admin/staff",
        json={"email": user.email, "role": "store_manager", "store_ids": [987654]},
        headers=owner.headers,
    )
    assert resp.status_code == 404


def test_other_merchants_staff_answer_404(client, session, make_staff, owner, unchanged):
    other = factories.merchant(session, name="Rival")
    session.commit()
    rival_member = make_staff("service", of=other)
    with unchanged():
        for method in ("get", "patch", "delete"):
            body = {"role": "operator"} if method == "patch" else None
            resp = getattr(client, method)(
                f"/v1/admin/staff/{rival_member.id}", json=body, headers=owner.headers
            )
            assert resp.status_code == 404
    rival_owner = make_staff("owner", of=other)
    listed = client.get("/v1/admin/staff", headers=rival_owner.headers).get_json()["items"]
    assert owner.email not in {m["email"] for m in listed}


def test_naming_a_merchant_you_do_not_work_for_is_404(client, session, owner):
    other = factories.merchant(session)
    session.commit()
    headers = {**owner.headers, "X-Merchant-ID": str(other.id)}
    assert client.get("/v1/admin/merchant", headers=headers).status_code == 404
    headers["X-Merchant-ID"] = "abc"
    resp = client.get("/v1/admin/merchant", headers=headers)
    assert resp.status_code == 422
    assert "X-Merchant-ID" in resp.get_json()["errors"]


def test_staff_of_two_merchants_must_name_one(client, session, owner, merchant):
    second = factories.merchant(session)
    factories.staff(
        session, merchant=second, user=session.get(factories.User, owner.id), role="operator"
    )
    session.commit()
    headers = {"Authorization": owner.headers["Authorization"]}
    resp = client.get("/v1/admin/merchant", headers=headers)
    assert resp.status_code == 422
    headers["X-Merchant-ID"] = str(second.id)
    assert client.get("/v1/admin/merchant", headers=headers).get_json()["id"] == second.id
    assert client.get("/v1/admin/staff", headers=headers).status_code == 403  # operator there


def test_shoppers_are_not_staff(client, shopper):
    resp = client.get("/v1/admin/merchant", headers=shopper.headers)
    assert resp.status_code == 403
    assert resp.get_json()["type"] == "accounts.not_staff"


def test_create_merchant_cli_prints_a_one_time_password(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-merchant", "--name", "Leaf & Bean", "--owner-email", "boss@leaf.example"]
    )
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(": ", 1)[1]
    tokens = client.post(
        "/v1/auth/login", json={"email": "boss@leaf.example", "password": password}
    ).get_json()
    me = client.get(
        "/v1/admin/merchant", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.get_json()["name"] == "Leaf & Bean"
