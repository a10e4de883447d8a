"""Load runners for the benchmark: wrk against an HTTP server, pgbench against the database."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "replay.lua"


@dataclass
class LoadResult:
    """What one timed run measured."""

    requests: int = 0
    seconds: float = 0.0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    socket_errors: int = 0
    status: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, predicate) -> int:
        return sum(n for code, n in self.status.items() if predicate(int(code)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn server on a free loopback port, stopped on exit."""

    def __init__(self, app: str, *, env: dict, workers: int, cwd: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "--workers",
                str(workers),
                # as scripts/run serves: keep-alive threads (docs/PERFORMANCE.md, gthread vs sync)
                "--worker-class",
                "gthread",
                "--threads",
                os.environ.get("GUNICORN_THREADS", "4"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                app,
            ],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url}{path} not ready after {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def run_wrk(
    url: str,
    requests_file: Path,
    *,
    duration: int,
    connections: int,
    chain_tokens: Path | None = None,
    chain_then: tuple[str, str] | None = None,
    walk: bool = False,
) -> LoadResult:
    """wrk with bench/wrk/replay.lua replaying prepared requests; 2 threads (one per core).
    `walk`: the requests in file order, none twice (see replay.lua)."""
    threads = min(2, connections)
    args = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        str(requests_file),
    ]
    if chain_tokens:
        args += ["chain", str(chain_tokens), *(chain_then or ())]
    elif walk:
        args += ["walk", str(threads)]
    proc = subprocess.run(args, capture_output=True, text=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return LoadResult(**json.loads(line[len("BENCH_JSON ") :]))


_PGBENCH_LINE = re.compile(r"^tps = ([\d.]+)", re.M)
_LAT_LINE = re.compile(r"latency average = ([\d.]+) ms")


def run_pgbench(
    libpq: dict, scripts: list[str], *, duration: int, clients: int, protocol: str = "prepared"
) -> LoadResult:
    """pgbench running the given SQL scripts (equal weights) for `duration` seconds. `prepared`
    (the default) plans each statement once per connection, as the API's prepared statements
    do; scripts that paste pgbench variables into quoted text need `simple`."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, sql in enumerate(scripts[:100]):  # pgbench takes at most 128 scripts
            path = Path(tmp) / f"s{i}.sql"
            path.write_text(sql)
            files += ["-f", f"{path}@1"]
        log_prefix = Path(tmp) / "lat"
        args = [
            "pgbench",
            "-n",
            "-M",
            protocol,
            "-T",
            str(duration),
            "-c",
            str(clients),
            "-j",
            "2",
            "-l",
            "--log-prefix",
            str(log_prefix),
            *files,
        ]
        env = {**os.environ, **_pg_env(libpq)}
        out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
        latencies = sorted(
            int(line.split()[2]) for p in Path(tmp).glob("lat*") for line in p.open()
        )
    tps = float(_PGBENCH_LINE.search(out).group(1))
    return LoadResult(
        requests=len(latencies),
        seconds=len(latencies) / tps if tps else 0,
        p50_ms=_pct(latencies, 50),
        p90_ms=_pct(latencies, 90),
        p99_ms=_pct(latencies, 99),
    )


def _pct(sorted_us: list[int], p: float) -> float | None:
    if not sorted_us:
        return None
    return sorted_us[min(len(sorted_us) - 1, int(len(sorted_us) * p / 100))] / 1000


def _pg_env(libpq: dict) -> dict:
    names = {
        "dbname": "PGDATABASE",
        "user": "PGUSER",
        "host": "PGHOST",
        "port": "PGPORT",
        "password": "PGPASSWORD",
    }
    return {names[k]: str(v) for k, v in libpq.items() if k in names and v}
