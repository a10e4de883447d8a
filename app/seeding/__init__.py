"""The generated world behind `flask seed`: cities, merchants and stores, then extra steps.

Other domains add data to the world (catalog, stock, ...) without touching this package's
code: put a module in app/seeding/ (e.g. catalog.py) that appends to EXTRA_STEPS:

    from app.seeding import EXTRA_STEPS

    def seed_catalog(conn, *, rng_seed: int, demo: bool, progress) -> None:
        ...  # read stores back with conn.cursor(); load with cursor.copy_expert(...)

    EXTRA_STEPS.append(seed_catalog)

Every module of this package is imported before the steps run (alphabetical order; within a
module, the order of appending). Each step gets the raw psycopg2 connection inside the seed's
one transaction (do not commit), the --seed number (derive its own numpy Generator from it),
whether this is the demo world, and `progress(length, label)`, a click progress bar to use as a
context manager (`bar.update(n)`).

The seed command calls `analyze_written(conn)` after the stores and after every step: a fresh
database has no planner statistics for rows loaded inside this (uncommitted) transaction, and a
re-seed would keep the previous world's. A step whose own statements read what an earlier one
of them loaded calls it in between too.
"""

import importlib
import pkgutil
from collections.abc import Callable
from contextlib import contextmanager

EXTRA_STEPS: list[Callable[..., None]] = []

# Tables (temporary ones too) this transaction changed since the last pass: pg_stat_xact_* counts
# the current transaction's own inserts, updates and deletes; seed_analysed remembers the counts
# at the last ANALYZE (dropped at commit, with the transaction it belongs to).
_WRITTEN = """
CREATE TEMP TABLE IF NOT EXISTS seed_analysed (relid oid PRIMARY KEY, changes bigint NOT NULL)
    ON COMMIT DROP;
SELECT x.relid::regclass::text, x.n_tup_ins + x.n_tup_upd + x.n_tup_del
FROM pg_stat_xact_user_tables x LEFT JOIN seed_analysed a USING (relid)
WHERE x.n_tup_ins + x.n_tup_upd + x.n_tup_del > coalesce(a.changes, 0)
  AND x.relid <> 'seed_analysed'::regclass
"""
_REMEMBER = """
INSERT INTO seed_analysed (relid, changes) VALUES (%s::regclass, %s)
ON CONFLICT (relid) DO UPDATE SET changes = EXCLUDED.changes
"""


_CONSTRAINTS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE (contype IN ('p', 'u') AND conrelid = ANY(%(tables)s::text[]::regclass[]))
   OR (contype = 'f' AND (conrelid = ANY(%(tables)s::text[]::regclass[])
                          OR confrelid = ANY(%(tables)s::text[]::regclass[])))
ORDER BY contype = 'f' DESC
"""
_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = ANY(%(tables)s)
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


@contextmanager
def keys_built_after(cursor, tables: tuple[str, ...]):
    """Load into these (empty) tables without their keys, foreign keys (either way) and indexes,
    and build each once after: one sort per index and one join per foreign key instead of an
    index insertion and a trigger look-up per row. The definitions are read from the catalog, so
    the migrations stay the one source of the schema. Transactional: if the load fails, the
    rollback brings them back. No tables, nothing done."""
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    cursor.execute(_CONSTRAINTS, {"tables": list(tables)})
    constraints = cursor.fetchall()  # foreign keys first: they depend on the keys
    cursor.execute(_INDEXES, {"tables": list(tables)})
    indexes = cursor.fetchall()
    for table, name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for _, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in reversed(constraints):
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def load_steps() -> list[Callable[..., None]]:
    """Import every module of this package, so each can append its steps, and list them."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
    return list(EXTRA_STEPS)


def analyze_written(conn) -> list[str]:
    """ANALYZE every table this transaction changed since the last call, so the next statement
    is planned on the rows it will read; the tables analysed."""
    with conn.cursor() as cursor:
        cursor.execute(_WRITTEN)
        written = cursor.fetchall()
        for table, changes in written:
            cursor.execute(f"ANALYZE {table}")
            cursor.execute(_REMEMBER, (table, changes))
    return [table for table, _ in written]
