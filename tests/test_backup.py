"""scripts/db backup and restore round-trip a seeded database: the same rows, every rule holding."""

import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import create_engine, text

from app import invariants
from app.config import sqlalchemy_url
from app.database_setup import libpq_args
from tests.conftest import _test_url

DB_SCRIPT = str(Path(__file__).resolve().parent.parent / "scripts" / "db")


def _url_of(name: str) -> str:
    base, _, query = _test_url().partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def spare_database():
    """An empty database named after the test database (so it carries its tag), dropped after."""
    admin_args = {**libpq_args(_test_url()), "dbname": "postgres"}
    name = libpq_args(_test_url())["dbname"] + "_restored"
    admin = psycopg2.connect(**admin_args)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield _url_of(name)
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars()
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
        counts["broken invariants"] = len(invariants.violations(conn))
    engine.dispose()
    return counts


def _db(*args: str, url: str) -> None:
    subprocess.run([DB_SCRIPT, *args], check=True, env={**os.environ, "DATABASE_URL": url})


def test_a_backup_restores_every_row_into_another_database(
    app, committed, spare_database, tmp_path
):
    assert app.test_cli_runner().invoke(args=["seed", "--demo"]).exit_code == 0
    before = _counts(_test_url())
    assert before["stores"] == 50 and before["coupon_campaigns"] > 0 and before["alembic_version"]
    dump = tmp_path / "shopnear.dump"
    _db("backup", str(dump), url=_test_url())
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    _db("restore", str(dump), url=spare_database)
    assert _counts(spare_database) == before
    _db("restore", str(dump), url=spare_database)  # over itself: replaced, not doubled
    assert _counts(spare_database) == before
