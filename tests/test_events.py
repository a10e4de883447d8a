"""The data bus: webhook endpoints, signed deliveries to a real receiver, retries, the event
feed, the stock ledger and the sync's documents, compare-and-set and event times."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.events import worker
from app.events.models import Event, WebhookDelivery
from app.extensions import db
from tests import factories, factories_stores
from tests import factories_feed as feed_factory
from tests import factories_inventory as inv
from tests.factories_feed import media_root  # noqa: F401  (autouse: uploads in a temp folder)
from tests.race import in_app_context, race
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def shop(session, merchant):
    store = factories_stores.store(session, merchant=merchant)
    skus = inv.skus(session, merchant, count=2)
    for sku in skus:
        inv.stock(session, store, sku, on_hand=5)
    session.commit()
    return store, skus


def _hook(client, owner, receiver, types=("*",)):
    resp = client.post(
        "/v1/admin/webhooks",
        json={"url": receiver.url, "event_types": list(types)},
        headers=owner.headers,
    )
    assert resp.status_code == 201, resp.get_json()
    receiver.secret = resp.get_json()["secret"]
    return resp.get_json()


def _deliver(app, at=None):
    clock = (lambda: at) if at else None
    with app.app_context(), worker.http_client() as http:
        return worker.deliver_due(
            session=db.session, client=http, limit=100, clock=clock, rng=random.Random(1)
        )


def _reserve(client, shopper, store, sku, qty=1):
    return client.post(
        "/v1/reservations",
        json={"store_id": store.id, "items": [{"sku_id": sku.id, "qty": qty}]},
        headers=shopper.headers,
    )


def test_endpoint_secret_shown_once_and_urls_checked(client, owner, make_staff, receiver):
    made = _hook(client, owner, receiver)
    assert made["secret"].startswith("whsec_")
    read = client.get(f"/v1/admin/webhooks/{made['id']}", headers=owner.headers)
    assert read.status_code == 200 and "secret" not in read.get_json()
    for url in ("https://10.1.2.3/x", "ftp://example.com/x", "https://user:pw@127.0.0.1/x"):
        bad = client.post(
            "/v1/admin/webhooks", json={"url": url, "event_types": ["*"]}, headers=owner.headers
        )
        assert bad.status_code == 422, url
        assert "url" in bad.get_json()["errors"]
    service = make_staff("service")
    assert client.get("/v1/admin/webhooks", headers=service.headers).status_code == 403


def test_production_refuses_loopback(app):
    from app.errors import Invalid
    from app.events import urls

    with pytest.raises(Invalid):
        urls.check_url("http://127.0.0.1:9/x", allow_loopback=False)
    with pytest.raises(Invalid):
        urls.check_url("https://127.0.0.1:9/x", allow_loopback=False)
    urls.check_url("https://93.184.216.34/x", allow_loopback=False)  # a public address


def test_committed_changes_arrive_signed_in_order_rolled_back_ones_never(
    app, client, owner, shopper, shop, receiver
):
    store, skus = shop
    _hook(client, owner, receiver)
    created = _reserve(client, shopper, store, skus[0], qty=2)
    assert created.status_code == 201
    assert _reserve(client, shopper, store, skus[1], qty=99).status_code == 409  # rolled back
    rid = created.get_json()["id"]
    assert client.post(f"/v1/reservations/{rid}/cancel", headers=shopper.headers).status_code == 200
    assert _deliver(app) == 4
    assert receiver.bad == []
    assert receiver.types() == [
        "inventory.level.updated",
        "reservation.created",
        "inventory.level.updated",
        "reservation.cancelled",
    ]
    stock = [p for _, p in receiver.received if p["type"] == "inventory.level.updated"]
    assert [p["data"]["reserved"] for p in stock] == [2, 0]
    assert stock[0]["data"]["before"]["reserved"] == 0
    assert stock[1]["sequence"] == stock[0]["sequence"] + 1  # 1 was the row's creation
    assert {p["data"]["sku_id"] for p in stock} == {skus[0].id}  # nothing of the 409
    headers = receiver.received[0][0]
    assert headers["webhook-id"] == receiver.received[0][1]["id"]


def test_receiver_down_then_back_is_retried_with_backoff(
    app, client, owner, shopper, shop, receiver, session
):
    store, skus = shop
    hook = _hook(client, owner, receiver, types=["reservation.*"])
    receiver.status = 503
    assert _reserve(client, shopper, store, skus[0]).status_code == 201
    now = datetime.now(UTC)
    assert _deliver(app, now) == 1
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == "pending" and delivery.attempts == 1
    wait = delivery.next_attempt_at - now
    assert timedelta(seconds=8) <= wait <= timedelta(seconds=12)  # 10 s ± 20 %
    assert _deliver(app, now + timedelta(seconds=5)) == 0  # not due yet
    receiver.status = 200
    assert _deliver(app, now + timedelta(seconds=13)) == 1
    log = client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=owner.headers)
    item = log.get_json()["items"][0]
    assert item["status"] == "delivered"
    assert [a["status_code"] for a in item["attempts"]] == [503, 200]
    assert len(receiver.received) == 2  # the same webhook-id twice
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 1


@pytest.mark.parametrize("code", [400, 410])
def test_client_errors_are_not_retried_and_a_run_disables(
    app, client, owner, shopper, shop, receiver, session, code
):
    store, skus = shop
    hook = _hook(client, owner, receiver, types=["reservation.created"])
    receiver.status = code
    app.config["WEBHOOK_DISABLE_AFTER"] = 2
    try:
        for sku in skus:
            assert _reserve(client, shopper, store, sku).status_code == 201
        assert _deliver(app) == 2
        assert _deliver(app, datetime.now(UTC) + timedelta(hours=2)) == 0
    finally:
        app.config["WEBHOOK_DISABLE_AFTER"] = 20
    states = session.scalars(select(WebhookDelivery.status)).all()
    assert states == ["failed", "failed"]
    read = client.get(f"/v1/admin/webhooks/{hook['id']}", headers=owner.headers).get_json()
    assert read["enabled"] is False and read["consecutive_failures"] == 2
    assert "2 deliveries" in read["disabled_reason"]
    delivery_id = session.scalars(select(WebhookDelivery.id)).first()
    path = f"/v1/admin/webhooks/{hook['id']}/deliveries/{delivery_id}:redeliver"
    assert client.post(path, headers=owner.headers).status_code == 409
    assert (
        client.post(f"/v1/admin/webhooks/{hook['id']}:enable", headers=owner.headers).status_code
        == 200
    )
    receiver.status = 200
    assert client.post(path, headers=owner.headers).status_code == 202
    assert _deliver(app) == 1


def test_rotation_signs_with_both_secrets(app, client, owner, shopper, shop, receiver):
    store, skus = shop
    hook = _hook(client, owner, receiver, types=["reservation.created"])
    old = receiver.secret
    rotated = client.post(
        f"/v1/admin/webhooks/{hook['id']}:rotate-secret",
        json={"overlap_hours": 1},
        headers=owner.headers,
    )
    assert rotated.status_code == 200 and rotated.get_json()["secret"] != old
    assert _reserve(client, shopper, store, skus[0]).status_code == 201
    _deliver(app)  # the receiver still holds the old secret
    assert receiver.bad == [] and len(receiver.received) == 1
    assert receiver.received[0][0]["webhook-signature"].count("v1,") == 2


def test_event_feed_and_stock_ledger(client, owner, shopper, shop, make_staff, session):
    store, skus = shop
    assert _reserve(client, shopper, store, skus[0]).status_code == 201
    page = client.get(
        "/v1/admin/events?types=reservation.created&limit=1", headers=owner.headers
    ).get_json()
    assert [e["type"] for e in page["items"]] == ["reservation.created"]
    after = client.get(
        f"/v1/admin/events?after={page['resume_cursor']}", headers=owner.headers
    ).get_json()
    assert after["items"] == [] or all(e["id"] != page["items"][0]["id"] for e in after["items"])
    changes = client.get(
        f"/v1/admin/stock/changes?store_id={store.id}&sku_id={skus[0].id}", headers=owner.headers
    ).get_json()["items"]
    assert [(c["on_hand_delta"], c["reserved_delta"]) for c in changes] == [(5, 0), (0, 1)]
    assert changes[1]["reason"] == "reservation.created"
    assert (
        changes[1]["ref"]
        == client.get("/v1/reservations", headers=shopper.headers).get_json()["items"][0]["id"]
    )
    other = make_staff("owner", of=factories.merchant(session))
    assert client.get("/v1/admin/stock/changes", headers=other.headers).get_json()["items"] == []


def _sync(client, owner, rows, **extra):
    return client.post(
        "/v1/admin/stock:sync", json={"mode": "set", "rows": rows, **extra}, headers=owner.headers
    )


def test_sync_documents_count_once_cas_and_older_counts_lose(client, owner, shop, session):
    store, skus = shop
    a, b = skus[0].id, skus[1].id
    delta = {"store_id": store.id, "sku_id": a, "delta": 3, "source_doc": "GRN-1"}
    body = {"mode": "delta", "rows": [delta]}
    for _ in range(2):
        resp = client.post("/v1/admin/stock:sync", json=body, headers=owner.headers)
        assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"] == ["duplicate"]
    on_hand = session.execute(text("SELECT on_hand FROM stock WHERE sku_id = :a"), {"a": a})
    assert on_hand.scalar() == 8
    mismatch = _sync(
        client, owner, [{"store_id": store.id, "sku_id": a, "on_hand": 1, "expect_on_hand": 5}]
    )
    assert mismatch.status_code == 422
    assert "on_hand is 8" in mismatch.get_json()["errors"]["rows.0.expect_on_hand"][0]
    t = datetime(2026, 12, 2, 8, tzinfo=UTC)
    newer = {"store_id": store.id, "sku_id": b, "on_hand": 9, "occurred_at": t.isoformat()}
    older = {**newer, "on_hand": 1, "occurred_at": (t - timedelta(minutes=5)).isoformat()}
    assert _sync(client, owner, [newer]).get_json()["results"] == ["applied"]
    assert _sync(client, owner, [older]).get_json()["results"] == ["stale"]
    partial = _sync(
        client,
        owner,
        [
            {"store_id": store.id, "sku_id": a, "on_hand": 2, "expect_on_hand": 0},
            {**newer, "on_hand": 4, "occurred_at": (t + timedelta(minutes=1)).isoformat()},
        ],
        error_policy="reject_failed_rows",
    )
    assert partial.status_code == 200
    assert partial.get_json()["results"] == ["failed", "applied"]
    rows = dict(session.execute(text("SELECT sku_id, on_hand FROM stock")).all())
    assert rows == {a: 8, b: 4}


def test_two_workers_at_once_lose_nothing_and_keep_order(committed, client, owner, receiver):
    from app.events import service as events_service

    _hook(client, owner, receiver)
    with committed.app_context():
        for n in range(30):
            events_service.emit(
                session=db.session,
                type="store.updated",
                merchant_id=owner.merchant_id,
                ordering_key=f"store:{n % 3}",
                data={"n": n},
            )
            db.session.commit()

    race(committed, [in_app_context(committed, lambda: _deliver(committed))] * 2)
    assert receiver.bad == []
    arrived = [p for _, p in receiver.received]
    assert sorted({p["data"]["n"] for p in arrived}) == list(range(30))
    for key in ("store:0", "store:1", "store:2"):
        sequences = [p["sequence"] for p in arrived if p["ordering_key"] == key]
        assert sequences == sorted(sequences) == list(range(1, 11))


def _outbox(session, merchant_id: int) -> list[tuple[str, str, dict]]:
    rows = session.execute(
        select(Event.type, Event.ordering_key, Event.data)
        .where(Event.merchant_id == merchant_id)
        .order_by(Event.id)
    )
    return [tuple(r) for r in rows]


def test_publishing_a_post_and_moderating_a_show_write_the_outbox(
    client, session, merchant, owner, shopper
):
    post = feed_factory.post(session, merchant=merchant, state="draft")
    show = feed_factory.show(session, user_id=shopper.id, merchant=merchant, state="pending")
    session.commit()
    publish = client.post(f"/v1/admin/posts/{post.id}/publish", json={}, headers=owner.headers)
    assert publish.status_code == 200, publish.get_json()
    shows = f"/v1/admin/buyer-shows/{show.id}"
    assert client.post(f"{shows}/approve", headers=owner.headers).status_code == 200
    reject = client.post(f"{shows}/reject", json={"reason": "Blurry"}, headers=owner.headers)
    assert reject.status_code == 200
    # A failed moderation (no reason) leaves no event behind.
    assert client.post(f"{shows}/reject", json={}, headers=owner.headers).status_code == 422
    events = _outbox(session, merchant.id)
    assert [(t, k) for t, k, _ in events] == [
        ("post.published", f"post:{post.id}"),
        ("buyer_show.approved", f"buyer_show:{show.id}"),
        ("buyer_show.rejected", f"buyer_show:{show.id}"),
    ]
    assert events[0][2]["post_id"] == post.id and events[0][2]["kind"] == "article"
    assert (events[2][2]["state"], events[2][2]["reason"]) == ("rejected", "Blurry")


def test_a_submitted_show_writes_the_outbox(client, session, merchant, shopper):
    image = feed_factory.upload(client, shopper).get_json()["id"]
    body = {"merchant_id": merchant.id, "body": "Lovely.", "image_ids": [image]}
    resp = client.post("/v1/buyer-shows", json=body, headers=shopper.headers)
    assert resp.status_code == 201, resp.get_json()
    [(kind, key, data)] = _outbox(session, merchant.id)
    assert (kind, key, data["state"]) == (
        "buyer_show.submitted",
        f"buyer_show:{resp.json['id']}",
        "pending",
    )
