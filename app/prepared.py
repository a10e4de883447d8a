"""Server-side prepared statements for the hot reads.

PostgreSQL spends about as long planning the nearby query as running it (0.9 ms of planning
beside 0.7 ms of execution at 180 000 stores). A statement prepared once per pooled connection is
planned once; a later EXECUTE skips the planner when PostgreSQL keeps the generic plan (it may
not: `generic` below): 2.5 → 1.6 ms per nearby call from Python on the benchmark world
(docs/PERFORMANCE.md). The generic plan keeps the GiST KNN index scan.

SQL-level PREPARE/EXECUTE suits psycopg2's text protocol. Behind a transaction-pooling PgBouncer a
server connection may not hold what an earlier transaction prepared: set
DB_PREPARED_STATEMENTS=0 there and the same statements run unprepared.

Rows come straight from a psycopg2 named-tuple cursor: SQLAlchemy's result machinery rebuilt the
column map from the cursor description on every driver-level call (0.1–0.2 ms a request).
"""

import hashlib
import re
from functools import cache

from flask import current_app, has_app_context
from psycopg2.extensions import STATUS_READY
from psycopg2.extras import NamedTupleCursor
from sqlalchemy import TextClause, bindparam, cast
from sqlalchemy.dialects.postgresql import psycopg2 as pg_psycopg2
from sqlalchemy.orm import Session

_DIALECT = pg_psycopg2.dialect()
_BIND = re.compile(r"%\((\w+)\)s")


@cache
def _statements(statement: TextClause) -> tuple[str, str, str]:
    """(name, PREPARE …, EXECUTE …) for a text() statement; binds become $1, $2, … ."""
    sql = str(statement.compile(dialect=_DIALECT))  # `:name` → `%(name)s`, `%` → `%%`
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = _BIND.sub(number, sql).replace("%%", "%")  # PREPARE is sent without parameters
    name = "shopnear_" + hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()
    execute = f"EXECUTE {name} (" + ", ".join(f"%({n})s" for n in names) + ")"
    return name, f"PREPARE {name} AS {body}", execute


_NAMED = pg_psycopg2.dialect(paramstyle="named")


def param(name: str, type_):
    """A request's value in a statement built for `compiled`, cast to its type: PREPARE would
    otherwise have to guess it (and cannot for a NULL or a bare `$1 IS NULL`)."""
    return cast(bindparam(name), type_)


def compiled(query) -> tuple[TextClause, dict]:
    """A SQLAlchemy Core query as a text() statement for `fetch`, with the values of its constant
    binds. Build it once (with named `bindparam`s for what changes per request) and pass
    `{**constants, **values}` on each call: the rules stay written once in SQLAlchemy, and the
    hot read skips both the building and the compiling of the query (~7 ms of a 17 ms coupons
    nearby call in a profile) and its planning."""
    done = query.compile(dialect=_NAMED)
    constants = {k: v for k, v in done.params.items() if v is not None}
    return TextClause(done.string), constants


# PostgreSQL plans the first five EXECUTEs of a prepared statement for their values, then keeps a
# generic plan only if its estimated cost is not above theirs on average; otherwise it plans
# every call again. The nearby search's generic plan is estimated dearer at 18 000 and 1 800 000
# stores (not at 180 000) though it is the same plan, so those worlds paid ~1.3 ms of planning a
# call (docs/PERFORMANCE.md, growth). `generic=True` makes the statement use its generic plan:
# for statements whose plan does not depend on the values (checked with EXPLAIN).
_GENERIC = "SET LOCAL plan_cache_mode = force_generic_plan; "
_RESET = "SET LOCAL plan_cache_mode TO DEFAULT"


def fetch(
    session: Session,
    statement: TextClause,
    params: dict,
    *,
    in_transaction: bool = False,
    generic: bool = False,
) -> list:
    """The rows of a text() statement (attribute access by column name), prepared on this
    connection the first time it is seen there. A lone read runs in autocommit (below); a
    write, or a read that must share the request's transaction, passes `in_transaction`.
    `generic`: always run the statement's generic plan (above)."""
    if not current_app.config["DB_PREPARED_STATEMENTS"]:
        return session.execute(statement, params).all()
    name, prepare, execute_sql = _statements(statement)
    connection = session.connection().connection  # the pooled DBAPI connection
    prepared = connection.info.setdefault("shopnear_prepared", set())
    # A read that would open the request's transaction runs alone in autocommit instead: one
    # statement sees one snapshot anyway, and psycopg2 then sends no BEGIN before it and no
    # ROLLBACK at teardown (two round trips, ~45 µs a read). Inside an open transaction (writes,
    # tests) it runs in that transaction as before.
    alone = not in_transaction and connection.dbapi_connection.status == STATUS_READY
    if alone:
        connection.dbapi_connection.autocommit = True
    try:
        with connection.cursor(cursor_factory=NamedTupleCursor) as cursor:
            if name not in prepared:
                cursor.execute(prepare)
                prepared.add(name)
            # One round trip: alone, SET LOCAL and EXECUTE share one implicit transaction, which
            # ends the setting with them; in the request's transaction it is undone after.
            cursor.execute((_GENERIC if generic else "") + execute_sql, params)
            rows = cursor.fetchall()
            if generic and not alone:
                cursor.execute(_RESET)
            return rows
    finally:
        if alone:
            connection.dbapi_connection.autocommit = False


def write(session: Session, statement: TextClause, params: dict) -> list:
    """`fetch` in the caller's transaction; a job outside the app (prepared statements are an
    app setting) sends the statement plainly."""
    if has_app_context():
        return fetch(session, statement, params, in_transaction=True)
    return session.execute(statement, params).all()
