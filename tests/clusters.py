"""Throwaway PostgreSQL clusters for tests that stop, replicate or pool a database, started
with the project's own scripts/db on free ports in a directory of their own."""

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports (scripts/db uses port, +1, +2)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count < 65535 and all(_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no free consecutive ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Cluster:
    """`scripts/db` pointed at a directory and ports of its own."""

    def __init__(self, name: str):
        self.base = ROOT / "var" / "test-clusters" / f"{name}-{uuid.uuid4().hex[:8]}"
        self.port = _free_ports(3)
        self.env = {
            **os.environ,
            "SHOPNEAR_PG_DIR": str(self.base),
            "SHOPNEAR_PG_PORT": str(self.port),
        }
        self.env.pop("DATABASE_URL", None)

    def db(self, *args: str) -> str:
        done = subprocess.run(
            [str(ROOT / "scripts" / "db"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/db {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def destroy(self) -> None:
        for args in (("pooler", "stop"), ("replica", "stop"), ("stop",)):
            self.db(*args)
        shutil.rmtree(self.base, ignore_errors=True)
