"""The authorization matrix: every operation of the URL map that names an object in its path,
called by every kind of caller, answers the status its row in tests/authorization_table.py says."""

import re
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.coupons import claims
from app.feed.media import service as media
from app.orders import service as orders_service
from app.pickup import handover
from app.pickup import service as pickup_service
from tests import factories, factories_segments, factories_stores, tenancy
from tests import factories_coupons as coupons
from tests import factories_feed as feed
from tests import factories_inventory as inv
from tests.authorization_table import CALLERS, TABLE, Row
from tests.conftest import Caller, login
from tests.factories_feed import image_bytes, media_root  # noqa: F401  (autouse fixture)

PATH_PARAM = re.compile(r"<(?:[^<>]*:)?(\w+)>")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _operations(app) -> set[str]:
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/") and "<" in rule.rule
        for method in rule.methods - SKIPPED_METHODS
    }


def test_every_operation_with_a_path_id_has_a_row(app):
    operations = _operations(app)
    assert sorted(operations - set(TABLE)) == [], "add a row to tests/authorization_table.py"
    assert sorted(set(TABLE) - operations) == [], "rows for operations that no longer exist"


def _signed_in(client, session, email: str, user_id: int, merchant_id=None) -> Caller:
    return Caller(user_id, email, login(client, email), merchant_id)


def _membership(client, callers, merchant_id: int, store_id: int, sku_id: int):
    """The merchant's program, the shopper's membership, a till receipt and the service card it
    issued (through the API, as staff and the shopper would make them)."""
    owner, shopper = callers["owner"].headers, callers["shopper"].headers
    program = {"currency": "TWD", "points_per_unit": 1, "pending_days": 0, "expiry_days": 30}
    assert client.put("/v1/admin/membership", json=program, headers=owner).status_code == 200
    template = client.post(
        "/v1/admin/service-card-templates",
        json={
            "title": "Care",
            "services": [{"name": "cleaning", "count": 2}],
            "validity_days": 365,
            "sku_ids": [sku_id],
        },
        headers=owner,
    ).get_json()
    member = client.post(
        f"/v1/merchants/{merchant_id}/membership", json={"consent": True}, headers=shopper
    ).get_json()
    receipt = client.post(
        f"/v1/admin/stores/{store_id}/members/{member['id']}/receipts",
        json={"receipt_ref": "T-1", "total_cents": 1000, "currency": "TWD", "sku_ids": [sku_id]},
        headers=owner,
    ).get_json()
    [card_id] = receipt["service_card_ids"]
    card = client.get(f"/v1/wallet/service-cards/{card_id}", headers=shopper).get_json()
    return member, {"id": card_id, "template_id": template["id"], "code": card["code"]}


def _webhook(client, session, callers, store_id: int, sku_id: int) -> tuple[dict, int]:
    """A webhook endpoint of the merchant and one delivery to it (a stock change's event)."""
    owner = callers["owner"].headers
    hook = client.post(
        "/v1/admin/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
        headers=owner,
    ).get_json()
    stock = {"channel": "shared", "on_hand": 11}
    client.put(f"/v1/admin/stores/{store_id}/stock/{sku_id}", json=stock, headers=owner)
    delivery_id = session.scalar(sa.text("SELECT min(id) FROM webhook_deliveries"))
    return hook, delivery_id


@pytest.fixture
def world(app, client, session, merchant):
    """One merchant's objects, a shopper's objects among them, and a caller of every kind."""
    other = factories.merchant(session)
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=10)
    campaign = coupons.campaign(session, merchant=merchant, total_qty=10)
    post = feed.post(session, merchant=merchant, kind="poll", options=("Oolong", "Pu-erh"))
    game = feed.post(session, merchant=merchant, kind="price_guess")
    game.guess_sku_id, game.guess_closes_at = sku.id, game.publish_at + timedelta(days=2)
    factories_stores.hours_exception(session, store=store, date=date(2030, 1, 1))
    users = {name: factories.user(session) for name in CALLERS if name != "anonymous"}
    factories.staff(session, merchant=other, user=users["other_staff"], role="owner")
    for role in ("owner", "operator", "store_manager", "service"):
        stores = [store.id] if role == "store_manager" else []
        factories.staff(session, merchant=merchant, user=users[role], role=role, store_ids=stores)
    target = factories.user(session)
    factories.staff(session, merchant=merchant, user=target, role="operator")
    shopper_id = users["shopper"].id
    with app.test_request_context():  # media URLs are built with url_for
        reservation = pickup_service.reserve(
            session=session,
            user_id=shopper_id,
            store_id=store.id,
            items=[{"sku_id": sku.id, "qty": 1}],
            idempotency_key=None,
        )
        handover.mark_ready(
            session=session,
            merchant_id=merchant.id,
            store_scope=None,
            store_id=store.id,
            public_id=reservation["id"],
        )
        order = orders_service.place_order(
            session=session,
            user_id=shopper_id,
            store_id=store.id,
            items=[{"sku_id": sku.id, "qty": 1}],
            payment_method="at_store",
            idempotency_key=None,
            provider=None,  # paid at the till: the provider is not asked
        )
        coupon = claims.claim_coupon(
            session=session, user_id=shopper_id, campaign_id=campaign.id, lat=None, lng=None
        )
        image = media.upload_image(session=session, user_id=shopper_id, data=image_bytes())
        url = media.describe_media(image)["url"]
        show = feed.show(session, user_id=shopper_id, merchant=merchant)
        session.commit()  # inside the context: the read cache bumps its keys after commits
    callers = {"anonymous": None} | {
        name: _signed_in(
            client, session, user.email, user.id, other.id if name == "other_staff" else None
        )
        for name, user in users.items()
    }
    member, card = _membership(client, callers, merchant.id, store.id, sku.id)
    segment = factories_segments.segment(session, merchant=merchant, rule={"type": "follows"})
    session.commit()
    hook, delivery_id = _webhook(client, session, callers, store.id, sku.id)
    device = {"platform": "android", "provider": "fcm", "token": "fcm-token-1"}
    client.put("/v1/me/devices/install-1", json=device, headers=callers["shopper"].headers)
    values = {
        "member_id": member["id"],
        "endpoint_id": hook["id"],
        "delivery_id": delivery_id,
        "installation_id": "install-1",
        "template_id": card["template_id"],
        "card_id": card["id"],
        "card_code": card["code"],
        "ref": "T-1",
        "segment_id": segment.id,
        "user_id": target.id,
        "store_id": store.id,
        "day": "2030-01-01",
        "product_id": sku.product_id,
        "sku_id": sku.id,
        "public_id": reservation["id"],
        "order_id": order["id"],
        "campaign_id": campaign.id,
        "coupon_id": coupon.id,
        "merchant_id": merchant.id,
        "post_id": post.id,
        "show_id": show.id,
        "key": url.removeprefix("/v1/media/files/"),
        "pickup_code": reservation["pickup_code"],
        "coupon_code": coupon.code,
        "option_id": post.options[0].id,
        "guess_post_id": game.id,
    }
    return callers, values


def _fill(value, values: dict):
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return values[value[1:-1]]
    return value


def _request(operation: str, row: Row, values: dict) -> tuple[str, str, dict | None]:
    method, rule = operation.split(" ", 1)
    params = _fill(row.params, values)
    path = PATH_PARAM.sub(lambda m: str(params.get(m[1], values.get(m[1]))), rule)
    path = path.replace("<", "").replace(">", "")
    if row.query:
        path += "?" + row.query.format(**values)  # "{sku_id}" names a world value
    body = _fill(row.body, values) if row.body is not None else None
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = {}
    return method, path, body


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_each_caller_gets_the_documented_status(client, world, _isolated, operation):
    callers, values = world
    row = TABLE[operation]
    method, path, body = _request(operation, row, values)
    got, world_rows = {}, tenancy.snapshot(_isolated)
    for name in CALLERS:
        caller = callers[name]
        headers = dict(caller.headers) if caller else {}
        headers["Idempotency-Key"] = uuid.uuid4().hex
        attempt = _isolated.begin_nested()  # each caller meets the world as it was built
        try:
            resp = client.open(path, method=method, json=body, headers=headers)
            got[name] = resp.status_code
            if resp.status_code >= 400:
                assert resp.content_type == "application/problem+json", (name, resp.data)
                changed = tenancy.changed(world_rows, tenancy.snapshot(_isolated))
                assert changed == [], f"{name} was refused but changed {changed}"
        finally:
            attempt.rollback()
    assert got == row.expect, f"{method} {path}"
