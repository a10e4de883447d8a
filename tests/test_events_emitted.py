"""The outbox rows of coupons, campaigns and stores: each change writes its event in the request's
transaction (read back from `events` after each request); a refused or rolled-back change writes
none. The worker and receiver side is tests/test_events.py."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.coupons import service as coupons_service
from app.extensions import db
from app.stores import service as stores_service
from tests import factories_coupons as fc
from tests import factories_stores
from tests.test_stores_admin import NEW_STORE


class Outbox:
    """The events written since the last look, oldest first."""

    def __init__(self, session):
        self.session, self.last = session, 0

    def new(self) -> list[dict]:
        rows = self.session.execute(
            text(
                "SELECT id, type, merchant_id, ordering_key, sequence, data FROM events"
                " WHERE id > :last ORDER BY id"
            ),
            {"last": self.last},
        ).mappings()
        events = [dict(r) for r in rows]
        if events:
            self.last = events[-1]["id"]
        return events

    def types(self) -> list[str]:
        return [e["type"] for e in self.new() if e["type"] != "inventory.level.updated"]


@pytest.fixture
def outbox(session):
    return Outbox(session)


def _one(outbox, event_type, key):
    events = [e for e in outbox.new() if e["type"] != "inventory.level.updated"]
    assert [(e["type"], e["ordering_key"]) for e in events] == [(event_type, key)], events
    return events[0]


# --- campaigns and coupons ----------------------------------------------------------------------


def test_campaign_created_updated_paused_and_ended(client, owner, outbox):
    made = client.post("/v1/admin/coupon-campaigns", json=fc.campaign_body(), headers=owner.headers)
    assert made.status_code == 201, made.get_json()
    cid = made.get_json()["id"]
    event = _one(outbox, "campaign.created", f"campaign:{cid}")
    assert event["merchant_id"] == owner.merchant_id and event["sequence"] == 1
    assert event["data"]["title"] == "NT$50 off" and event["data"]["total_qty"] == 100
    assert event["data"]["state"] == "active" and event["data"]["created_at"]

    path = f"/v1/admin/coupon-campaigns/{cid}"
    assert client.patch(path, json={"total_qty": 150}, headers=owner.headers).status_code == 200
    event = _one(outbox, "campaign.updated", f"campaign:{cid}")
    assert event["data"]["total_qty"] == 150 and event["sequence"] == 2

    assert client.post(f"{path}:pause", headers=owner.headers).status_code == 200
    assert _one(outbox, "campaign.updated", f"campaign:{cid}")["data"]["state"] == "paused"
    assert client.post(f"{path}:resume", headers=owner.headers).status_code == 200
    assert _one(outbox, "campaign.updated", f"campaign:{cid}")["data"]["state"] == "active"
    assert client.post(f"{path}:end", headers=owner.headers).status_code == 200
    event = _one(outbox, "campaign.ended", f"campaign:{cid}")
    assert event["data"]["state"] == "ended" and event["data"]["ended_at"]
    assert event["sequence"] == 5

    # Refused: a second end, an invalid change, a bad body — nothing written.
    assert client.post(f"{path}:end", headers=owner.headers).status_code == 409
    assert client.patch(path, json={"title": "x"}, headers=owner.headers).status_code == 409
    bad = client.post(
        "/v1/admin/coupon-campaigns", json=fc.campaign_body(total_qty=0), headers=owner.headers
    )
    assert bad.status_code == 422
    assert outbox.new() == []


def test_coupon_claimed_redeemed_voided_without_its_code(
    client, session, merchant, owner, shopper, outbox
):
    store = factories_stores.store(session, merchant=merchant)
    campaign = fc.campaign(session, merchant=merchant, total_qty=1)
    session.commit()
    outbox.new()
    claim = f"/v1/coupon-campaigns/{campaign.id}/claim"
    made = client.post(claim, json={}, headers=shopper.headers)
    assert made.status_code == 201, made.get_json()
    coupon = made.get_json()
    key = f"coupon:{coupon['id']}"
    event = _one(outbox, "coupon.claimed", key)
    assert event["data"]["user_id"] == shopper.id
    assert event["data"]["campaign_id"] == campaign.id and event["data"]["state"] == "unused"
    assert event["data"]["amount_cents"] == 5000 and event["data"]["expires_at"]
    assert "code" not in event["data"] and coupon["code"] not in str(event["data"])
    # Sold out (total_qty 1): refused, nothing written.
    other = client.post(claim, json={}, headers=owner.headers)
    assert other.status_code == 409
    assert outbox.new() == []

    redeem = f"/v1/admin/stores/{store.id}/coupons:redeem"
    body = {"code": coupon["code"], "basket_cents": 30000}
    assert client.post(redeem, json=body, headers=owner.headers).status_code == 200
    event = _one(outbox, "coupon.redeemed", key)
    assert event["data"]["state"] == "used" and event["data"]["redeemed_store_id"] == store.id
    assert event["data"]["discount_cents"] == 5000 and event["data"]["basket_cents"] == 30000
    assert event["sequence"] == 2
    assert client.post(redeem, json=body, headers=owner.headers).status_code == 409  # once only
    assert outbox.new() == []

    void = f"/v1/admin/stores/{store.id}/coupons/{coupon['id']}:void"
    assert (
        client.post(void, json={"reason": "Till error"}, headers=owner.headers).status_code == 200
    )
    event = _one(outbox, "coupon.voided", key)
    assert event["data"]["state"] == "unused" and event["data"]["void_reason"] == "Till error"
    assert event["data"]["redeemed_at"] is None and event["sequence"] == 3
    again = client.post(void, json={"reason": "Twice"}, headers=owner.headers)
    assert again.status_code == 409
    assert outbox.new() == []


def test_a_coupon_used_at_pickup_is_redeemed_in_the_pickups_transaction(
    client, session, merchant, owner, shopper, outbox
):
    from tests import factories_inventory as inv

    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant, count=1)[0]
    inv.stock(session, store, sku, on_hand=5)
    campaign = fc.campaign(session, merchant=merchant, min_spend_cents=0)
    session.commit()
    coupon = client.post(
        f"/v1/coupon-campaigns/{campaign.id}/claim", json={}, headers=shopper.headers
    ).get_json()
    made = client.post(
        "/v1/reservations",
        json={
            "store_id": store.id,
            "items": [{"sku_id": sku.id, "qty": 1}],
            "coupon_id": coupon["id"],
        },
        headers=shopper.headers,
    )
    assert made.status_code == 201, made.get_json()
    rid = made.get_json()["id"]
    outbox.new()
    base = f"/v1/admin/stores/{store.id}/reservations/{rid}"
    assert client.post(f"{base}/ready", headers=owner.headers).status_code == 200
    code = made.get_json()["pickup_code"]
    picked = client.post(f"{base}/pickup", json={"code": code}, headers=owner.headers)
    assert picked.status_code == 200, picked.get_json()
    types = outbox.types()
    assert types[-2:] == ["coupon.redeemed", "reservation.picked_up"], types


def test_a_rolled_back_transaction_leaves_no_event(app, merchant, outbox):
    with app.test_request_context():  # a request's session: its changes, then a rollback
        store = factories_stores.store(db.session, merchant=merchant)
        campaign = coupons_service.create_campaign(
            session=db.session,
            merchant_id=merchant.id,
            data={
                **{k: v for k, v in fc.campaign_body().items() if "_at" not in k},
                "claim_starts_at": fc.now() - timedelta(hours=1),
                "claim_ends_at": fc.now() + timedelta(days=1),
            },
        )
        stores_service.deactivate_store(
            session=db.session, merchant_id=merchant.id, store_id=store.id
        )
        keys = {f"campaign:{campaign.id}", f"store:{store.id}"}
        assert {e["ordering_key"] for e in outbox.new()} == keys  # written, not yet committed
        db.session.rollback()
    outbox.last = 0
    assert [e for e in outbox.new() if e["ordering_key"] in keys] == []
    assert outbox.session.execute(text("SELECT count(*) FROM event_sequences")).scalar() == 0


# --- stores -------------------------------------------------------------------------------------


def test_store_created_updated_hours_and_deleted(client, owner, outbox):
    made = client.post("/v1/admin/stores", json=NEW_STORE, headers=owner.headers)
    assert made.status_code == 201, made.get_json()
    sid = made.get_json()["id"]
    key = f"store:{sid}"
    event = _one(outbox, "store.created", key)
    data = event["data"]
    assert data["code"] == "TPE-001" and data["merchant_id"] == owner.merchant_id
    assert data["location"] == pytest.approx({"lat": 25.0330, "lng": 121.5654})
    assert data["hours"] == NEW_STORE["hours"] and data["is_active"] is True
    assert "open_minutes" not in data

    path = f"/v1/admin/stores/{sid}"
    renamed = client.patch(path, json={"name": "Xinyi 2"}, headers=owner.headers)
    assert renamed.status_code == 200
    event = _one(outbox, "store.updated", key)
    assert event["data"]["name"] == "Xinyi 2" and event["sequence"] == 2

    week = {"tue": [{"opens": "10:00", "closes": "20:00"}]}
    assert client.patch(path, json={"hours": week}, headers=owner.headers).status_code == 200
    events = outbox.new()
    assert [e["type"] for e in events] == ["store.updated", "store.hours_changed"]
    assert events[1]["data"] == {"store_id": sid, "scope": "weekly", "hours": week}

    day = f"{path}/hours-exceptions/2026-12-31"
    closed = client.put(day, json={"closed": True, "note": "New Year"}, headers=owner.headers)
    assert closed.status_code == 200, closed.get_json()
    event = _one(outbox, "store.hours_changed", key)
    assert event["data"]["date"] == "2026-12-31"
    assert event["data"]["exception"] == {"closed": True, "hours": [], "note": "New Year"}
    assert client.delete(day, headers=owner.headers).status_code == 204
    event = _one(outbox, "store.hours_changed", key)
    assert event["data"]["exception"] is None

    assert client.delete(path, headers=owner.headers).status_code == 204
    event = _one(outbox, "store.deleted", key)
    assert event["data"]["is_active"] is False and event["sequence"] == 7

    # Refused: a taken code, a bad body, an exception to clear that is not there; an empty
    # PATCH changes nothing.
    assert client.patch(path, json={}, headers=owner.headers).status_code == 200
    taken = client.post("/v1/admin/stores", json=NEW_STORE, headers=owner.headers)
    assert taken.status_code == 409
    assert client.patch(path, json={"name": ""}, headers=owner.headers).status_code == 422
    assert client.delete(day, headers=owner.headers).status_code == 404
    assert outbox.new() == []


def test_an_import_writes_one_event_per_store(client, owner, outbox):
    from tests.test_stores_import import IMPORT, row

    first = client.post(IMPORT, json={"stores": [row("A"), row("B")]}, headers=owner.headers)
    assert first.status_code == 200
    events = outbox.new()
    assert [(e["type"], e["data"]["code"]) for e in events] == [
        ("store.created", "A"),
        ("store.created", "B"),
    ]
    again = client.post(
        IMPORT, json={"stores": [row("B", name="B2"), row("C")]}, headers=owner.headers
    )
    assert again.status_code == 200
    events = {e["data"]["code"]: e for e in outbox.new()}
    assert events["C"]["type"] == "store.created"
    assert events["B"]["type"] == "store.updated" and events["B"]["data"]["name"] == "B2"
    assert events["B"]["sequence"] == 2
    bad = client.post(IMPORT, json={"stores": [row("D"), row("D")]}, headers=owner.headers)
    assert bad.status_code == 422
    assert outbox.new() == []


def test_new_types_can_be_subscribed_and_filtered(client, owner):
    for types in (["store.*"], ["store.hours_changed", "coupon.voided"], ["member.*"]):
        made = client.post(
            "/v1/admin/webhooks",
            json={"url": "http://127.0.0.1:9/hooks", "event_types": types},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.get_json()
    feed = client.get("/v1/admin/events?types=store.deleted", headers=owner.headers)
    assert feed.status_code == 200
