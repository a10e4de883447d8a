"""Test set-up: a real PostGIS database built by the migrations, each test in a rolled-back
transaction, and users that sign in through the real login."""

import os
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from app import create_app, invariants
from app.config import Config, sqlalchemy_url
from app.database_setup import ensure_database
from app.extensions import db, limiter
from tests import factories, tenancy

# Property tests run on a shared 2-core machine: how fast Hypothesis draws inputs there says
# nothing about shopnear (speed is the benchmarks' business), so neither its deadline nor its
# too-slow health check may fail a run. Every assertion stays.
settings.register_profile("shopnear", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shopnear")

PASSWORD = factories.PASSWORD


def _test_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.exit("TEST_DATABASE_URL is not set: run the suite with scripts/test", returncode=2)
    return url


def _fresh_schema(url: str) -> None:
    """Create the database if needed and empty it, so the migrations run from nothing."""
    conn = psycopg2.connect(**ensure_database(url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
            " CREATE EXTENSION IF NOT EXISTS postgis"
        )
    conn.close()


def app_config(**overrides) -> Config:
    """Settings for tests: the test database and the cheapest argon2 cost."""
    settings = {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(_test_url()),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "TESTING": True,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "ACCESS_LOG": False,
        # Concurrency tests run up to 32 threads at once, each on its own connection.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 40},
    }
    return Config(**{**settings, **overrides})


@pytest.fixture(scope="session")
def app():
    _fresh_schema(_test_url())
    app = create_app(app_config())
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """Each test runs inside one outer transaction that is rolled back at the end."""
    if "committed" in request.fixturenames:
        yield None
        return
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        engines = db.engines
        factory = db.session.session_factory
        db.session.remove()
        engines[None] = connection
        factory.kw["join_transaction_mode"] = "create_savepoint"
    limiter.reset()
    try:
        yield connection
    finally:
        with app.app_context():
            db.session.remove()
            factory.kw.pop("join_transaction_mode", None)
            engines[None] = engine
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _invariants_hold(request, app, _isolated):
    """After every test, the rules of app/invariants.py (rule 1, rule 2, every counter equals its
    rows) hold on the data it left: inside its transaction, or (committed tests) on the committed
    rows before the clean-up. A test breaking some on purpose names them in its
    `@pytest.mark.breaks_invariants(...)` marker, and they must be the ones reported."""
    if _isolated is None:
        request.getfixturevalue("committed")  # set up first, so its clean-up runs after the check
    yield
    if _isolated is not None:
        broken = invariants.violations(_isolated)
    else:
        with app.app_context(), db.engine.connect() as conn:
            broken = invariants.violations(conn)
    marker = request.node.get_closest_marker("breaks_invariants")
    expected = set(marker.args) if marker else set()
    unexpected = {rule: rows for rule, rows in broken.items() if rule not in expected}
    if unexpected:
        pytest.fail(f"the test left rules of app/invariants.py broken: {unexpected}", False)
    if missed := sorted(expected - set(broken)):
        pytest.fail(f"the test meant to break {missed}, but they hold", False)


@pytest.fixture
def session(app, _isolated):
    """A session on the test's connection, for arranging data and checking what changed
    (in `committed` tests: a session that really commits)."""
    if _isolated is None:
        with app.app_context():
            engine = db.engine
        with Session(bind=engine, expire_on_commit=False) as s:
            yield s
        return
    with Session(bind=_isolated, join_transaction_mode="create_savepoint") as s:
        yield s


@pytest.fixture
def unchanged(app, _isolated):
    """`with unchanged(): resp = ...` asserts the block (a refused request) changed no row of any
    table, as the test's connection sees them (committed tests: the committed rows)."""

    @contextmanager
    def block():
        if _isolated is not None:
            with tenancy.nothing_changes(_isolated):
                yield
            return
        with app.app_context():
            engine = db.engine
        with engine.connect() as conn, tenancy.nothing_changes(conn):
            yield

    return block


@pytest.fixture
def committed(app):
    """For concurrency tests: requests and the `session` fixture really commit, each thread
    on its own pooled connection; every table is emptied afterwards."""
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def client(app):
    return app.test_client()


class Caller:
    """A signed-in API user: `headers` carry the bearer token (and merchant when staff)."""

    def __init__(self, user_id: int, email: str, tokens: dict, merchant_id: int | None = None):
        self.id, self.email, self.tokens, self.merchant_id = user_id, email, tokens, merchant_id
        self.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        if merchant_id is not None:
            self.headers["X-Merchant-ID"] = str(merchant_id)


def login(client, email: str, password: str = PASSWORD) -> dict:
    resp = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.fixture
def make_shopper(app, client, session):
    """Factory: a registered shopper signed in through the real login."""

    def make(email: str | None = None) -> Caller:
        email = email or f"shopper-{uuid.uuid4().hex[:8]}@example.com"
        user = factories.user(session, email=email)
        session.commit()
        return Caller(user.id, email, login(client, email))

    return make


@pytest.fixture
def shopper(make_shopper) -> Caller:
    return make_shopper()


@pytest.fixture
def merchant(session):
    m = factories.merchant(session)
    session.commit()
    return m


@pytest.fixture
def make_staff(client, session, merchant):
    """Factory: staff of `merchant` (or another) with a role, signed in through the real login."""

    def make(role: str = "owner", *, of=None, store_ids=()) -> Caller:
        target = of or merchant
        user = factories.user(session)
        factories.staff(session, merchant=target, user=user, role=role, store_ids=list(store_ids))
        session.commit()
        return Caller(user.id, user.email, login(client, user.email), target.id)

    return make


@pytest.fixture
def owner(make_staff) -> Caller:
    return make_staff("owner")


@pytest.fixture(scope="session")
def redis_url():
    """The project's own redis-server (scripts/redis), started for the run when not running;
    REDIS_URL when the caller set one."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    script = str(Path(__file__).resolve().parent.parent / "scripts" / "redis")
    was_running = subprocess.run([script, "status"], capture_output=True).returncode == 0
    subprocess.run([script, "start"], check=True, capture_output=True)
    yield subprocess.run([script, "url"], check=True, capture_output=True, text=True).stdout.strip()
    if not was_running:
        subprocess.run([script, "stop"], check=True, capture_output=True)


@pytest.fixture
def stripe(app, monkeypatch):
    """The Stripe stand-in on 127.0.0.1 (tests/stripe_standin.py), the app's provider pointed
    at it."""
    from tests.stripe_standin import API_KEY, WEBHOOK_SECRET, StripeStandIn

    standin = StripeStandIn()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", standin.url)
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", API_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    yield standin
    standin.stop()
