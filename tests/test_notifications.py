"""The inbox, push devices and the push sender against a stand-in FCM on 127.0.0.1."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from app.extensions import db
from app.notifications import messages, push
from app.notifications import service as notifications_service
from app.notifications.models import Notification, PushDevice
from app.pickup import expiry
from app.pickup.models import Reservation
from tests import factories_inventory as inv
from tests import factories_stores
from tests.race import in_app_context, race


def test_every_kind_speaks_every_language():
    for kind, texts in messages.MESSAGES.items():
        assert set(texts) == set(messages.LOCALES), kind


def _write(session, user_id, n):
    for i in range(n):
        notifications_service.notify(
            session=session,
            user_id=user_id,
            kind="reward_granted",
            params={"merchant_name": "Leaf", "title": f"Coupon {i}"},
        )
    session.commit()


def test_inbox_pages_newest_first_and_marks_read(client, shopper, make_shopper, session):
    _write(session, shopper.id, 3)
    other = make_shopper()
    _write(session, other.id, 1)
    page = client.get("/v1/me/notifications?limit=2", headers=shopper.headers).get_json()
    assert [i["body"] for i in page["items"]] == [
        "“Coupon 2” is now in your coupon wallet.",
        "“Coupon 1” is now in your coupon wallet.",
    ]
    assert page["unread_count"] == 3 and page["next_cursor"]
    rest = client.get(
        f"/v1/me/notifications?cursor={page['next_cursor']}", headers=shopper.headers
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    newest, oldest = page["items"][0]["id"], rest["items"][0]["id"]
    foreign = session.scalar(select(Notification.id).where(Notification.user_id == other.id))
    resp = client.post(
        "/v1/me/notifications:read", json={"ids": [oldest, foreign]}, headers=shopper.headers
    )
    assert resp.get_json() == {"marked": 1, "unread_count": 2}
    resp = client.post("/v1/me/notifications:read", json={"up_to": newest}, headers=shopper.headers)
    assert resp.get_json() == {"marked": 2, "unread_count": 0}
    other_inbox = client.get("/v1/me/notifications", headers=other.headers).get_json()
    assert other_inbox["unread_count"] == 1  # another shopper's notification was left alone
    both = client.post(
        "/v1/me/notifications:read", json={"ids": [1], "up_to": 1}, headers=shopper.headers
    )
    assert both.status_code == 422 and "ids" in both.get_json()["errors"]
    assert client.get("/v1/me/notifications").status_code == 401


def _device(client, caller, installation, token, **extra):
    body = {"platform": "android", "provider": "fcm", "token": token, **extra}
    return client.put(f"/v1/me/devices/{installation}", json=body, headers=caller.headers)


def test_devices_register_refresh_and_move_between_accounts(client, shopper, make_shopper):
    first = _device(client, shopper, "install-0001", "token-aaaaaaaa", locale="zh-CN")
    assert first.status_code == 200 and "token" not in first.get_json()
    again = _device(client, shopper, "install-0001", "token-bbbbbbbb", app_version="3.1.0")
    assert again.get_json()["last_seen_at"] >= first.get_json()["last_seen_at"]
    listed = client.get("/v1/me/devices", headers=shopper.headers).get_json()["items"]
    assert [d["app_version"] for d in listed] == ["3.1.0"]
    other = make_shopper()
    assert _device(client, other, "install-0002", "token-bbbbbbbb").status_code == 200
    assert client.get("/v1/me/devices", headers=shopper.headers).get_json()["items"] == []
    gone = client.delete("/v1/me/devices/install-0002", headers=shopper.headers)
    assert gone.status_code == 404
    assert client.delete("/v1/me/devices/install-0002", headers=other.headers).status_code == 204
    bad = _device(client, shopper, "install-0003", "token-cccccccc", platform="symbian")
    assert bad.status_code == 422 and "platform" in bad.get_json()["errors"]
    assert _device(client, shopper, "bad id!", "token-dddddddd").status_code in (404, 422)


class StandInFcm:
    """Answers like FCM HTTP v1: an OAuth token endpoint and messages:send, with dead tokens."""

    def __init__(self, dead_tokens):
        self.sent, self.dead = [], set(dead_tokens)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/token":
                    return self._answer(200, {"access_token": "at-1", "expires_in": 3600})
                assert self.headers["Authorization"] == "Bearer at-1"
                message = json.loads(raw)["message"]
                if message["token"] in stand_in.dead:
                    detail = {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError"}
                    error = {"code": 404, "status": "NOT_FOUND", "details": []}
                    error["details"].append({**detail, "errorCode": "UNREGISTERED"})
                    return self._answer(404, {"error": error})
                stand_in.sent.append((self.path, message))
                return self._answer(200, {"name": "projects/demo/messages/1"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fcm(app, tmp_path):
    stand_in = StandInFcm(dead_tokens={"token-dead-0001"})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = tmp_path / "service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "demo",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "push@demo.iam.gserviceaccount.com",
                "token_uri": f"{stand_in.url}/token",
            }
        )
    )
    saved = {k: app.config[k] for k in ("PUSH_FCM_CREDENTIALS_FILE", "PUSH_FCM_ENDPOINT")}
    app.config.update(PUSH_FCM_CREDENTIALS_FILE=str(credentials), PUSH_FCM_ENDPOINT=stand_in.url)
    yield stand_in
    app.config.update(saved)
    stand_in.close()


def test_push_reaches_live_devices_and_deletes_a_dead_token(app, client, shopper, session, fcm):
    _device(client, shopper, "install-live", "token-live-0001", locale="zh-CN")
    _device(client, shopper, "install-dead", "token-dead-0001")
    _write(session, shopper.id, 1)
    with app.app_context():
        claimed = push.send_batch(session=db.session, client=push.client_from_config())
        db.session.commit()
    assert claimed == 1
    [(path, message)] = fcm.sent
    assert path == "/v1/projects/demo/messages:send"
    assert message["token"] == "token-live-0001"
    assert message["notification"]["title"] == "Leaf送您一份奖励"  # the device's language
    assert message["data"]["kind"] == "reward_granted"
    left = session.scalars(select(PushDevice.installation_id)).all()
    assert left == ["install-live"]
    state = session.scalars(
        select(Notification.push_state).execution_options(populate_existing=True)
    ).one()
    assert state == "sent"


def test_without_credentials_pushes_are_skipped_and_the_inbox_works(app, client, shopper, session):
    _device(client, shopper, "install-live", "token-live-0001")
    _write(session, shopper.id, 2)
    with app.app_context():
        assert push.client_from_config() is None
        assert push.send_batch(session=db.session, client=None) == 2
        db.session.commit()
    states = session.scalars(
        select(Notification.push_state).execution_options(populate_existing=True)
    ).all()
    assert states == ["none", "none"]
    inbox = client.get("/v1/me/notifications", headers=shopper.headers).get_json()
    assert inbox["unread_count"] == 2


def test_the_expiry_warning_is_written_once_with_two_sweepers_racing(
    committed, make_shopper, session, merchant
):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=50)
    session.commit()
    shopper = make_shopper()
    client = committed.test_client()
    for _ in range(4):
        body = {"store_id": store.id, "items": [{"sku_id": sku.id, "qty": 1}]}
        assert (
            client.post("/v1/reservations", json=body, headers=shopper.headers).status_code == 201
        )
    soon = datetime.now(UTC) + timedelta(minutes=10)
    session.execute(Reservation.__table__.update().values(expires_at=soon))
    session.commit()

    def sweep():
        first = expiry.warn_batch(session=db.session, lead_minutes=30, batch_size=2)
        second = expiry.warn_batch(session=db.session, lead_minutes=30, batch_size=2)
        db.session.commit()
        return [first, second]

    counts = [n for ns in race(committed, [in_app_context(committed, sweep)] * 2) for n in ns]
    kinds = session.scalars(
        select(Notification.kind).where(Notification.user_id == shopper.id)
    ).all()
    assert kinds == ["reservation_expiring"] * 4
    assert sum(counts) == 4
    with committed.app_context():
        assert expiry.warn_batch(session=db.session, lead_minutes=30) == 0
        db.session.commit()


def test_a_coupon_running_out_within_a_day_is_told_once(app, client, shopper, session, merchant):
    from app.coupons import reminders
    from app.coupons.models import Coupon
    from tests import factories_coupons as fc

    campaign = fc.campaign(session, merchant=merchant)
    session.commit()
    claim = client.post(f"/v1/coupon-campaigns/{campaign.id}/claim", headers=shopper.headers)
    assert claim.status_code in (200, 201), claim.get_json()
    at = datetime.now(UTC)
    session.execute(Coupon.__table__.update().values(expires_at=at + timedelta(hours=10)))
    session.commit()
    with app.app_context():
        assert reminders.warn_batch(session=db.session, within_hours=24, at=at) == 1
        assert reminders.warn_batch(session=db.session, within_hours=24, at=at) == 0
        db.session.commit()
    item = client.get(
        "/v1/me/notifications", headers={**shopper.headers, "Accept-Language": "zh-CN"}
    ).get_json()["items"][0]
    assert item["kind"] == "coupon_expiring" and campaign.title in item["body"]
