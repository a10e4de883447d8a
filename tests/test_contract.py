"""The contract tells the truth: schemathesis drives a real shopnear (gunicorn, demo world) over
every operation of /openapi.json, with every check, in all four phases (examples, coverage,
fuzzing, stateful), once signed in as a new shopper and once as the demo merchant's owner.
Any failure fails the suite; its report (JSON) is kept under var/contract/."""

import json
import os
import subprocess
import uuid

import pytest

from tests.contract import server as contract

CONFIG = contract.ROOT / "tests" / "contract" / "schemathesis.toml"
REPORTS = contract.ROOT / "var" / "contract"
# About three minutes for both identities together (examples and coverage run whole; fuzzing
# and stateful repeat until the budget is spent).
SECONDS_EACH = int(os.environ.get("CONTRACT_SECONDS", "85"))


@pytest.fixture(scope="module")
def served(app):
    url = contract.contract_database_url(os.environ["TEST_DATABASE_URL"])
    contract.build_world(url)
    server = contract.Server(url)
    yield server.url
    server.stop()


def _schemathesis(base: str, token: str, who: str) -> subprocess.CompletedProcess:
    report = REPORTS / who
    command = [
        contract.BIN / "st",
        "--config-file",
        CONFIG,
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        str(SECONDS_EACH),
        "--workers",
        "2",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "json",
        "--report-json-path",
        report / "report.json",
        "--output-truncate",
        "true",
        "--no-color",
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=contract.ROOT)


def _summary(who: str) -> str:
    report = json.loads((REPORTS / who / "report.json").read_text())
    return f"{who}: {report['test_cases']} in {report['running_time']:.0f} s"


@pytest.mark.parametrize("who", ["shopper", "owner"])
def test_schemathesis_finds_no_failure(served, who):
    if who == "owner":
        token = contract.owner_token(served)
    else:
        token = contract.new_shopper_token(served, f"contract-{uuid.uuid4().hex[:8]}@example.com")
    run = _schemathesis(served, token, who)
    (REPORTS / who).mkdir(parents=True, exist_ok=True)
    (REPORTS / who / "output.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
    print(_summary(who))
