"""Server-side prepared statements for the hot reads.

PostgreSQL spends about as long planning the nearby query as running it (0.9 ms of planning
beside 0.7 ms of execution at 180 000 stores). A statement prepared once per pooled connection is
planned once; every later EXECUTE skips the planner: 2.5 → 1.6 ms per nearby call from Python on
the benchmark world (docs/PERFORMANCE.md). The generic plan keeps the GiST KNN index scan.

SQL-level PREPARE/EXECUTE suits psycopg2's text protocol. Behind a transaction-pooling PgBouncer a
server connection may not hold what an earlier transaction prepared: set
DB_PREPARED_STATEMENTS=0 there and the same statements run unprepared.
"""

import hashlib
import re
from functools import cache

from flask import current_app
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql import psycopg2 as pg_psycopg2
from sqlalchemy.engine import Result
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

    body = _BIND.sub(number, sql)
    name = "shopnear_" + hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()
    execute = f"EXECUTE {name} (" + ", ".join(f"%({n})s" for n in names) + ")"
    return name, f"PREPARE {name} AS {body}", execute


def execute(session: Session, statement: TextClause, params: dict) -> Result:
    """Run a text() statement, prepared on this connection the first time it is seen there."""
    if not current_app.config["DB_PREPARED_STATEMENTS"]:
        return session.execute(statement, params)
    name, prepare, execute_sql = _statements(statement)
    connection = session.connection()
    prepared = connection.connection.info.setdefault("shopnear_prepared", set())
    if name not in prepared:
        connection.exec_driver_sql(prepare, ())  # `()` so psycopg2 turns `%%` back into `%`
        prepared.add(name)
    return connection.exec_driver_sql(execute_sql, params)
