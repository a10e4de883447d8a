"""A real shopnear under gunicorn on a free port, on a database of its own with the demo world,
for the tests that drive the API from outside (schemathesis, the generated client).

gunicorn rather than an in-process WSGI call: the contract is what a phone sees, and part of it
(the request-line limit, an HTML 414 of gunicorn's own) lives in the server, not in the app.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
from sqlalchemy import make_url

from app.database_setup import ensure_database
from app.seeding.demo import OWNER, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "contract-test-secret-key-long-enough-for-hs256"


def contract_database_url(test_url: str) -> str:
    """The test database's server, a database named after it with `_contract`."""
    url = make_url(test_url)
    return url.set(database=f"{url.database}_contract").render_as_string(hide_password=False)


def server_env(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    env.update(ACCESS_LOG="0", LOG_LEVEL="CRITICAL", PYTHONPATH=str(ROOT), FLASK_APP="wsgi:app")
    # The cheapest argon2 cost, as in the rest of the suite.
    env.update(ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="8", ARGON2_PARALLELISM="1")
    return env


def build_world(database_url: str) -> None:
    """An empty database, migrated, with the demo world in it."""
    conn = psycopg2.connect(**ensure_database(database_url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
            " CREATE EXTENSION IF NOT EXISTS postgis"
        )
    conn.close()
    env = server_env(database_url)
    for args in (["db", "upgrade"], ["seed", "--demo"]):
        done = subprocess.run(
            [BIN / "flask", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]


class Server:
    """gunicorn serving wsgi:app; `url` once it listens."""

    def __init__(self, database_url: str, workers: int = 2):
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "--workers", str(workers), "--bind", "127.0.0.1:0", "wsgi:app"],
            env=server_env(database_url),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._wait_listening()

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            found = re.search(r"Listening at: (http://\S+)", line)
            if found:
                return found.group(1)
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def call(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_in(base: str, email: str, password: str) -> str:
    status, body = call(base, "POST", "/v1/auth/login", {"email": email, "password": password})
    assert status == 200, body
    return body["access_token"]


def owner_token(base: str) -> str:
    """The demo world's owner of its first merchant."""
    return sign_in(base, OWNER, PASSWORD)


def new_shopper_token(base: str, email: str) -> str:
    """A shopper registered through the API."""
    password = "shopper-password-1"
    status, body = call(
        base,
        "POST",
        "/v1/auth/register",
        {"email": email, "password": password, "display_name": "Contract shopper"},
    )
    assert status == 201, body
    return sign_in(base, email, password)
