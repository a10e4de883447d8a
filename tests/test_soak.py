"""The soak's small run, and workers SIGKILLed in the middle of reservations, claims and stock
syncs: afterwards no 5xx was answered and every invariant of app/invariants.py holds."""

import os
import signal
import threading
import time

import pytest

from bench.harness import server_env
from bench.soak import Soak, passed
from tests.conftest import _test_url
from tests.live_servers import Gunicorn

CRASH_MIX = {"reserve": 6, "cancel": 2, "ready": 2, "pickup": 2, "sync_set": 3, "sync_delta": 3}
CRASH_MIX |= {"claim": 4, "red_packet": 3, "redeem": 2, "vote": 1, "like": 1, "follow": 1}


def _lifted_limits() -> dict:
    """The soak's shoppers reserve and claim far faster than people: no per-user caps."""
    env = server_env(_test_url())
    return {k: v for k, v in env.items() if k.endswith("_LIMIT") or k.startswith("PICKUP_MAX")}


@pytest.fixture
def demo_world(app, committed):
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    return app


def test_a_thousand_random_operations_leave_no_5xx_and_every_rule_holding(demo_world):
    with Gunicorn(_test_url(), workers=2, **_lifted_limits()) as server:
        result = Soak(server.url, _test_url(), ops=1000, threads=8, seed=7).run()
    assert result["failures"] == [] and result["dropped"] == 0
    assert result["5xx"] == 0
    assert result["broken_invariants"] == {}
    assert result["replays"] > 100  # keys were replayed, and answered the same
    assert passed(result)


def test_workers_killed_mid_write_leave_nothing_half_written(demo_world):
    with Gunicorn(_test_url(), workers=2, **_lifted_limits()) as server:
        soak = Soak(server.url, _test_url(), ops=800, threads=8, seed=11, weights=CRASH_MIX)
        results = {}
        runner = threading.Thread(target=lambda: results.update(soak.run()))
        runner.start()
        while sum(soak.statuses.values()) < 60 and runner.is_alive():
            time.sleep(0.05)
        killed = []
        while runner.is_alive() and len(killed) < 15 and len(soak.dropped) < 3:
            victim = server.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            time.sleep(0.5)  # the master starts a new worker; the load goes on
        runner.join()
        survivors = server.worker_pids()
    print(f"\nkilled {len(killed)} workers, {results['dropped']} requests cut")
    assert len(survivors) == 2 and not set(killed) & set(survivors)
    assert results["dropped"] >= 1  # the kills did cut requests in flight
    assert results["5xx"] == 0 and results["failures"] == []
    assert results["broken_invariants"] == {}
