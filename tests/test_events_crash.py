"""A webhook worker killed mid-delivery (SIGKILL: no cleanup, no rollback of its own) loses
nothing: its open transaction dies with its connection, the delivery it was sending unlocks and
is sent again by the next worker (at least once: the same `webhook-id`), and each ordering key
still arrives in sequence order (the worker's rule: a key's delivery is claimed only when no
earlier one of the key is pending). A real `flask deliver-webhooks --loop` process, a real
receiver on 127.0.0.1."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.events import service as events_service
from app.extensions import db
from tests.conftest import _test_url
from tests.webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")
KEYS, PER_KEY = 3, 12
KILL_AT = (7, 20)  # arrivals (counted over all keys) during which a worker is killed


def _worker() -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _test_url(),
        "FLASK_APP": "wsgi:app",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "ERROR",
        "WEBHOOK_READ_TIMEOUT": "60",  # the held request must outlast the kill
    }
    return subprocess.Popen(
        [str(FLASK), "deliver-webhooks", "--loop", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pending(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
        ).scalar()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


def test_a_worker_killed_mid_delivery_loses_nothing_and_keeps_order(
    committed, client, owner, receiver
):
    hook = client.post(
        "/v1/admin/webhooks",
        json={"url": receiver.url, "event_types": ["store.*"]},
        headers=owner.headers,
    )
    assert hook.status_code == 201, hook.get_json()
    receiver.secret = hook.get_json()["secret"]
    with committed.app_context():
        for n in range(KEYS * PER_KEY):
            events_service.emit(
                session=db.session,
                type="store.updated",
                merchant_id=owner.merchant_id,
                ordering_key=f"store:{n % KEYS}",
                data={"n": n},
            )
            db.session.commit()  # one transaction per change, as requests make them
        db.session.remove()

    # The receiver holds the answer to the KILL_AT-th arrivals: the worker is mid-POST, its
    # delivery row locked in an open transaction, when it is killed.
    held, release = threading.Event(), threading.Event()

    def on_arrival(payload):
        if len(receiver.received) in KILL_AT:
            held.set()
            release.wait(30)

    receiver.on_arrival = on_arrival
    killed_during = []
    worker = _worker()
    try:
        for _ in KILL_AT:
            assert held.wait(60), "the worker never reached the held delivery"
            held.clear()
            killed_during.append(receiver.received[-1][1]["id"])
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            release.set()  # the held answer now goes to a dead socket
            time.sleep(0.2)
            release.clear()
            worker = _worker()  # restarted
        deadline = time.monotonic() + 90
        while _pending(committed) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        release.set()
        _stop(worker)

    assert _pending(committed) == 0
    assert receiver.bad == []
    arrived = [p for _, p in receiver.received]
    ids = [p["id"] for p in arrived]
    # Nothing lost: every event arrived; only the ones a kill interrupted arrived twice.
    assert sorted({p["data"]["n"] for p in arrived}) == list(range(KEYS * PER_KEY))
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert twice == sorted(killed_during)
    assert all(ids.count(i) == 2 for i in twice)
    # Order per key: arrivals in sequence order; a redelivery comes right after the original,
    # before any later event of its key.
    for key in range(KEYS):
        sequences = [p["sequence"] for p in arrived if p["ordering_key"] == f"store:{key}"]
        collapsed = [s for i, s in enumerate(sequences) if i == 0 or s != sequences[i - 1]]
        assert collapsed == list(range(1, PER_KEY + 1)), sequences
    with committed.app_context(), db.engine.connect() as conn:
        attempts = conn.execute(
            text("SELECT count(*), sum(attempts) FROM webhook_deliveries")
        ).one()
    # A killed attempt leaves no row (its transaction died with the worker): one per delivery.
    assert tuple(attempts) == (KEYS * PER_KEY, KEYS * PER_KEY)
