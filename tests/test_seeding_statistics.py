"""The seed plans every statement on statistics of the rows it loaded in its own transaction:
never on none (a new database) nor on the previous world's (a re-seed)."""

import pytest
from sqlalchemy import text

from app import seeding
from app.seeding import catalog, commands, coupons, feed

WRITTEN = """
SELECT x.relid::regclass::text, c.reltuples
FROM pg_stat_xact_user_tables x JOIN pg_class c ON c.oid = x.relid
WHERE x.n_tup_ins + x.n_tup_upd + x.n_tup_del > 0 AND x.relname <> 'seed_analysed'
"""


def stale_tables(conn) -> dict[str, tuple[float, int]]:
    """Tables this transaction wrote whose planner row count is not what they hold."""
    stale = {}
    with conn.cursor() as cursor:
        cursor.execute(WRITTEN)
        for table, reltuples in cursor.fetchall():
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows = cursor.fetchone()[0]
            if abs(reltuples - rows) > max(1, rows // 100):
                stale[table] = (reltuples, rows)
    return stale


@pytest.fixture
def checked(monkeypatch):
    """Run the real steps with a check before each (and after the last), and after every
    statement a step analyses; what the checks found, per place."""
    found = []

    def check(conn, **_):
        found.append(stale_tables(conn))

    real = seeding.load_steps()
    steps = [check]
    for step in real:
        steps += [step, check]
    monkeypatch.setattr(commands, "load_steps", lambda: steps)

    def analyze_then_check(conn):
        analysed = seeding.analyze_written(conn)
        check(conn)
        return analysed

    for module in (catalog, coupons, feed):
        monkeypatch.setattr(module, "analyze_written", analyze_then_check)
    return found, len(real)


def test_every_step_and_statement_sees_statistics_of_what_was_loaded_before_it(
    app, session, checked
):
    found, steps = checked
    runner = app.test_cli_runner()
    # A small world first, then a bigger one over it: the first leaves statistics behind.
    small = runner.invoke(args=["seed", "--stores-only", "--stores", "40", "--cities", "2"])
    assert small.exit_code == 0, small.output
    found.clear()

    result = runner.invoke(args=["seed", "--stores", "300", "--cities", "6", "--reset"])

    assert result.exit_code == 0, result.output
    assert len(found) > steps + 1  # between steps and between a step's statements
    assert found == [{}] * len(found)
    assert session.scalar(text("SELECT count(*) FROM stores")) == 300
    assert session.scalar(text("SELECT count(*) FROM stock")) > 300 * 40


def test_a_new_step_that_analyses_nothing_is_analysed_before_the_next(app, session, monkeypatch):
    seen = {}

    def load(conn, **_):
        with conn.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE seed_test_things ON COMMIT DROP AS"
                " SELECT g AS id FROM generate_series(1, 5000) g"
            )

    def read(conn, **_):
        seen["stale"] = stale_tables(conn)

    monkeypatch.setattr(commands, "load_steps", lambda: [load, read])
    result = app.test_cli_runner().invoke(
        args=["seed", "--stores", "50", "--cities", "2", "--reset"]
    )

    assert result.exit_code == 0, result.output
    assert seen == {"stale": {}}
