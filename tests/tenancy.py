"""For tenancy tests: another tenant's object answers 404 *and nothing changed* — every table's
rows are the same after the refused request as before it (a checksum of each table)."""

from contextlib import contextmanager

from sqlalchemy import Connection

from app.extensions import db


def _checksums_sql() -> str:
    return " UNION ALL ".join(
        f"SELECT '{t.name}', md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
        f' FROM "{t.name}" r'
        for t in db.metadata.sorted_tables
    )


def snapshot(connection: Connection) -> dict[str, str]:
    """{table: checksum of all its rows} as this connection sees them."""
    return dict(connection.exec_driver_sql(_checksums_sql()).all())


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows differ between two snapshots."""
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


@contextmanager
def nothing_changes(connection: Connection):
    """Assert that what runs inside changes no row of any table."""
    before = snapshot(connection)
    yield
    assert changed(before, snapshot(connection)) == [], "a refused request changed these tables"
