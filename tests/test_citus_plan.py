"""The Citus plan (docs/citus-plan.toml, explained in docs/SCALING.md), checked against the schema
the migrations build, read from pg_catalog.

Citus distributes a table by one column and needs it wherever the database enforces uniqueness
or a reference between distributed tables: in the primary key, in every unique constraint or
index, and on both sides of a foreign key between colocated tables; a distributed table cannot
reference one distributed by another column, and a reference table cannot reference a distributed
one. Every table must be in the plan, and every rule it breaks must be a blocker the plan lists
(with the change that removes it at the move): a new table, column, key or constraint that breaks
the plan fails here, and a blocker that is gone must leave the list.
"""

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text

PLAN = tomllib.loads((Path(__file__).parent.parent / "docs" / "citus-plan.toml").read_text())

_COLUMNS = text(
    """
    SELECT c.relname AS table, a.attname AS column
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND NOT a.attisdropped AND NOT c.relispartition
    """
)
# Primary keys, unique constraints and unique indexes: the columns each one covers.
_UNIQUES = text(
    """
    SELECT c.relname AS table, i.relname AS name,
           array_agg(a.attname::text ORDER BY a.attnum) AS columns
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (x.indkey)
    WHERE c.relnamespace = 'public'::regnamespace AND x.indisunique
    GROUP BY c.relname, i.relname
    """
)
_FOREIGN_KEYS = text(
    """
    SELECT f.conname AS name, c.relname AS table, r.relname AS referenced,
           array(SELECT attname::text FROM pg_attribute WHERE attrelid = f.conrelid
                 AND attnum = ANY (f.conkey)) AS columns,
           array(SELECT attname::text FROM pg_attribute WHERE attrelid = f.confrelid
                 AND attnum = ANY (f.confkey)) AS referenced_columns
    FROM pg_constraint f
    JOIN pg_class c ON c.oid = f.conrelid
    JOIN pg_class r ON r.oid = f.confrelid
    WHERE f.contype = 'f' AND f.connamespace = 'public'::regnamespace
    """
)


def _placement() -> dict[str, tuple[str, str | None]]:
    """table → (kind, distribution column): kind is distributed, reference or local."""
    placed: dict[str, tuple[str, str | None]] = {}
    for group in PLAN["distributed"]:
        for table in group["tables"]:
            placed[table] = ("distributed", group["column"], group["colocation"])
    for kind in ("reference", "local"):
        for table in PLAN[kind]["tables"]:
            placed[table] = (kind, None, None)
    return placed


def _blockers(session) -> set[str]:
    placed = _placement()
    columns: dict[str, set[str]] = {}
    for row in session.execute(_COLUMNS):
        columns.setdefault(row.table, set()).add(row.column)
    found = set()
    for table, (kind, column, _) in placed.items():
        if kind == "distributed" and column not in columns.get(table, set()):
            found.add(f"{table}: no {column} column")
    for row in session.execute(_UNIQUES):
        kind, column, _ = placed.get(row.table, ("local", None, None))
        if kind == "distributed" and column not in row.columns:
            found.add(f"{row.table}: unique {row.name} lacks {column}")
    for fk in session.execute(_FOREIGN_KEYS):
        found |= _fk_blockers(fk, placed)
    return found


def _fk_blockers(fk, placed) -> set[str]:
    kind, column, colocation = placed.get(fk.table, ("local", None, None))
    target_kind, target_column, target_colocation = placed.get(fk.referenced, ("local",) * 3)
    if kind == "reference" and target_kind == "distributed":
        return {f"{fk.table}: reference table points at distributed {fk.referenced} ({fk.name})"}
    if kind != "distributed" or target_kind != "distributed":
        return set()
    if colocation != target_colocation:
        return {f"{fk.table}: {fk.name} crosses to {fk.referenced} of another colocation group"}
    pairs = dict(zip(fk.columns, fk.referenced_columns, strict=True))
    if pairs.get(column) != target_column:
        return {f"{fk.table}: {fk.name} lacks {column} on both sides"}
    return set()


@pytest.fixture
def tables(session) -> set[str]:
    return {row.table for row in session.execute(_COLUMNS)}


def test_every_table_has_a_place_in_the_plan(tables):
    placed = set(_placement())
    assert tables - placed == set(), "tables the Citus plan does not place"
    assert placed - tables == set(), "the plan places tables that do not exist"


def test_the_schema_breaks_the_plan_only_where_the_plan_says(session):
    known = {f"{b['table']}: {b['rule']}" for b in PLAN["blockers"]}
    found = _blockers(session)
    assert found - known == set(), "new Citus blockers: fix the schema or plan the change"
    assert known - found == set(), "blockers that are gone: take them off docs/citus-plan.toml"


def test_every_blocker_says_how_the_move_removes_it():
    assert all(b.get("fix", "").strip() for b in PLAN["blockers"])
