"""The reservation and claim suites and the soak's small run again, through PgBouncer in
transaction pooling mode (`scripts/db pooler`), with the prepared hot reads switched off as
documented for it.

Transaction pooling hands each transaction whatever server connection is free, so this run shows
that nothing relies on session state across transactions (advisory locks are transaction-scoped,
settings are SET LOCAL, no temp tables) and that the race guarantees hold behind a pooler."""

import os
import subprocess
import sys

from app.database_setup import libpq_args
from tests.clusters import ROOT, Cluster

POOLED_MODULES = (
    "tests/test_pickup.py",
    "tests/test_pickup_concurrency.py",
    "tests/test_coupons_claims.py",
    "tests/test_coupons_concurrency.py",
    # The soak's small run: 1000 random operations of every kind from 8 threads, gunicorn
    # workers and the API's own pool both behind the pooler.
    "tests/test_soak.py::test_a_thousand_random_operations_leave_no_5xx_and_every_rule_holding",
)


def test_reservations_and_claims_hold_behind_pgbouncer():
    outer = os.environ["TEST_DATABASE_URL"]
    pooler = Cluster("pooler")
    pooler.env["DATABASE_URL"] = outer  # PgBouncer in front of the suite's own server
    try:
        pooler.db("pooler", "start")
        port = pooler.port + 2
        database = f"{libpq_args(outer)['dbname']}_pooled"
        env = {
            **os.environ,
            "TEST_DATABASE_URL": f"postgresql://shopnear@127.0.0.1:{port}/{database}",
            "DB_PREPARED_STATEMENTS": "0",
        }
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *POOLED_MODULES],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert " passed" in run.stdout and "skipped" not in run.stdout
    finally:
        pooler.destroy()
