"""Database faults: cut under load, slow queries, lock waits and a full pool answer 503 problems
with Retry-After, and the same processes serve again once the database is back."""

import threading
import time

import psycopg2
import pytest

from app import create_app
from app.database_setup import libpq_args
from app.errors import PROBLEM
from tests.conftest import _test_url, app_config
from tests.live_servers import Gunicorn, TcpProxy, call

NEARBY = "/v1/stores/nearby?lat=25.0330&lng=121.5654&radius=2000"


class Load:
    """Client threads calling `path` until stopped; every answer is kept with its time."""

    def __init__(self, base: str, path: str, threads: int = 6):
        self.base, self.path, self.answers, self.errors = base, path, [], []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.answers.append((started, call("GET", self.base + self.path, timeout=10)))
            except OSError as error:  # a hung or dead worker: the test fails on it
                self.errors.append(repr(error))

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def since(self, moment: float) -> list:
        return [(t, a) for t, a in self.answers if t >= moment]


def _wait_for(predicate, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_database_cut_under_load_answers_503_fast_then_the_same_workers_recover(app):
    proxy = TcpProxy(_test_url()).start()
    try:
        unlimited = {"SHOPPER_READ_RATE_LIMIT": "1000000/minute"}  # the load is one client
        with (
            Gunicorn(proxy.url(), workers=2, **unlimited) as server,
            Load(server.url, NEARBY) as load,
        ):
            workers = server.worker_pids()
            assert _wait_for(lambda: len(load.answers) > 20, 10) is not None
            cut_at = time.monotonic()
            proxy.cut()
            assert _wait_for(lambda: any(a.status == 503 for _, a in load.since(cut_at)), 2)
            time.sleep(2)
            readyz = call("GET", server.url + "/readyz", timeout=5)
            back_at = time.monotonic()
            proxy.restore()
            recovered = _wait_for(
                lambda: any(a.status == 200 for t, a in load.since(back_at) if t > back_at), 5
            )
            time.sleep(1)
            settled = time.monotonic()
            after = server.worker_pids()
        during = [a for t, a in load.answers if cut_at + 0.2 < t and t + a.seconds < back_at]
    finally:
        proxy.stop()
    first_503 = min(t for t, a in load.since(cut_at) if a.status == 503) - cut_at
    print(
        f"\nfault: {len(load.answers)} requests, first 503 {first_503:.3f} s after the cut,"
        f" slowest answer {max(a.seconds for _, a in load.answers):.3f} s,"
        f" 200 again {recovered or float('nan'):.3f} s after the restore"
    )
    assert not load.errors
    assert readyz.status == 503
    assert during and all(a.status == 503 for a in during)
    for answer in during:
        assert answer.headers["Content-Type"] == PROBLEM
        assert answer.body["type"] == "database.unavailable"
        assert int(answer.headers["Retry-After"]) >= 1
    assert max(a.seconds for _, a in load.answers) < 2
    assert {a.status for _, a in load.answers} <= {200, 503}
    assert recovered is not None and recovered < 5
    assert all(a.status == 200 for t, a in load.since(settled))
    assert after == workers  # the same processes, no restart


@pytest.fixture
def blocker():
    """A second connection of the test's own, to hold locks the app must wait for."""
    conn = psycopg2.connect(**libpq_args(_test_url()))
    yield conn
    conn.rollback()
    conn.close()


def test_a_query_past_the_statement_timeout_is_a_503(app, blocker):
    slow = create_app(app_config(DB_STATEMENT_TIMEOUT_MS=300, DB_LOCK_TIMEOUT_MS=0))
    blocker.cursor().execute("LOCK TABLE stores IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    resp = slow.test_client().get(NEARBY)
    assert resp.status_code == 503
    assert resp.content_type == PROBLEM
    assert resp.get_json()["type"] == "database.timeout"
    assert resp.headers["Retry-After"] == "2"
    assert time.monotonic() - started < 2


def test_a_write_waiting_on_a_lock_past_the_lock_timeout_is_a_503(committed, blocker):
    impatient = create_app(app_config(DB_LOCK_TIMEOUT_MS=200))
    client = impatient.test_client()
    login = {"email": "lock@example.com", "password": "pw-12345678"}
    assert client.post("/v1/auth/register", json={**login, "display_name": "L"}).status_code == 201
    tokens = client.post("/v1/auth/login", json=login).get_json()
    blocker.cursor().execute("SELECT 1 FROM users WHERE email = 'lock@example.com' FOR UPDATE")
    resp = client.patch(
        "/v1/me",
        json={"display_name": "Waits"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert resp.status_code == 503
    assert resp.get_json()["type"] == "database.lock_timeout"
    blocker.rollback()
    with impatient.app_context():
        from app.extensions import db

        db.engine.dispose()


def test_a_full_pool_answers_503_after_the_pool_timeout(app):
    small = create_app(
        app_config(
            DB_POOL_TIMEOUT=0.3, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}
        )
    )
    from app.extensions import db

    with small.app_context():
        held = db.engine.connect()  # the one connection, taken by "another request"
    try:
        started = time.monotonic()
        resp = small.test_client().get(NEARBY)
        assert resp.status_code == 503
        assert resp.get_json()["type"] == "database.busy"
        assert "Retry-After" in resp.headers
        assert time.monotonic() - started < 2
    finally:
        held.close()
    assert small.test_client().get(NEARBY).status_code == 200
