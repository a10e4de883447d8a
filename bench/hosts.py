"""scripts/bench --hosts N: the API served by 1..N gunicorn hosts behind nginx (round robin),
through PgBouncer in transaction pooling mode, with the rate limits in Redis.

Every host is a separate gunicorn with the production settings and as many workers as a host of
its own would run (--workers, default: cores). On this one machine the hosts share its cores, so
the figures show what the extra hops (nginx, PgBouncer, Redis) cost and that any request works on
any host, not how far more machines would scale: docs/SCALING.md turns them into capacity.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psycopg2

from bench import world as bench_world
from bench.runner import ROOT, Server, free_port

VAR = ROOT / "var" / "bench" / "hosts"
DEFAULT_SCENARIOS = ("nearby", "stock_nearby", "reserve_cancel")


class Redis:
    """The project's own redis-server on a free port, nothing kept on disk."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(VAR)],
            stdout=(VAR / "redis.log").open("w"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Pooler:
    """scripts/db pooler in front of the world's database, in a directory of the bench's own."""

    def __init__(self, world_url: str, dbname: str, *, mode: str):
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": world_url,
            "SHOPNEAR_PG_DIR": str(VAR / "pg"),
            "SHOPNEAR_POOLER_PORT": str(self.port),
            "SHOPNEAR_POOLER_SIZE": "40",
            "SHOPNEAR_POOL_MODE": mode,
        }
        self._db("start")
        self.url = f"postgresql://shopnear@127.0.0.1:{self.port}/{dbname}"

    def _db(self, verb: str) -> None:
        script = str(ROOT / "scripts" / "db")
        subprocess.run([script, "pooler", verb], env=self.env, check=True, capture_output=True)

    def stop(self) -> None:
        self._db("stop")


class Nginx:
    """nginx round robin over the hosts' ports (plain HTTP on loopback)."""

    def __init__(self, ports: list[int]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prefix = VAR / "nginx"
        temp = prefix / "temp"
        temp.mkdir(parents=True, exist_ok=True)
        temp.chmod(0o777)  # nginx's workers drop root and write their buffers here
        upstream = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  upstream api {{
{upstream}  }}
  server {{
    listen 127.0.0.1:{self.port} backlog=2048;
    location / {{
      proxy_pass http://api;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
"""
        )
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(conf)],
            stdout=(prefix / "nginx.log").open("w"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _serve(n: int, env: dict, args) -> list[Server]:
    return [
        Server(
            "wsgi:app",
            env=env,
            workers=args.workers,
            cwd=args.api_checkout,
            log=VAR / f"api-{i}.log",
        )
        for i in range(n)
    ]


class _Front:
    """What run_scenario needs of a server: its URL (here nginx's or one host's)."""

    def __init__(self, url: str):
        self.url = url


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids) -> float:
    """utime + stime of these processes (those that are gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _group(pgid: int) -> list[int]:
    """The processes of a process group (a gunicorn master and its workers)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def _backends(libpq: dict) -> list[int]:
    """PostgreSQL backends connected to the world's database (the API's pools)."""
    with psycopg2.connect(**libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [pid for (pid,) in cur.fetchall()]


def _measure(label, url, w, names, args, run_scenario, scenarios, server=None) -> list[tuple]:
    """Each scenario through `url`; with `server`, also the CPU each request cost the API's
    processes and PostgreSQL's backends (CPU time is what the capacity model scales)."""
    rows = []
    w.api_url = url  # scenarios that prepare requests through the API (ETags) ask this front
    for name in names:
        print(f"… {label}: {name}", file=sys.stderr, flush=True)
        before = None
        if server is not None:
            api_pids, db_pids = _group(server.proc.pid), _backends(w.libpq)
            before = _cpu_seconds(api_pids), _cpu_seconds(db_pids)
        row = run_scenario(scenarios[name], w, _Front(url), None, args)
        cpu = None
        if before is not None:
            db_pids = set(db_pids) | set(_backends(w.libpq))  # pools may have grown
            requests = max(1, row["api"].requests)
            cpu = {
                "api_ms": (_cpu_seconds(api_pids) - before[0]) * 1000 / requests,
                "db_ms": (_cpu_seconds(db_pids) - before[1]) * 1000 / requests,
            }
        rows.append((label, name, row["api"], scenarios[name].ok_statuses, cpu))
    return rows


def _behind_nginx(n: int, env: dict, args, measure, label: str) -> list[tuple]:
    hosts = _serve(n, env, args)
    nginx = None
    try:
        for host in hosts:
            host.wait_ready("/readyz")
        nginx = Nginx([h.port for h in hosts])
        time.sleep(0.5)
        return measure(label, nginx.url)
    finally:
        if nginx:
            nginx.stop()
        for host in hosts:
            host.stop()


def run(args, *, server_env, run_scenario, scenarios) -> int:
    """Direct to one host; one host behind nginx + PgBouncer in session mode (prepared reads);
    1..N hosts behind nginx + PgBouncer in transaction mode; limits in Redis. Prints the table."""
    names = args.scenario or list(DEFAULT_SCENARIOS)
    VAR.mkdir(parents=True, exist_ok=True)
    args.no_sql = True
    w = bench_world.ensure(stores=args.stores, cities=args.cities, seed=args.seed, demo=args.smoke)
    measure = partial(
        _measure, w=w, names=names, args=args, run_scenario=run_scenario, scenarios=scenarios
    )
    results: list[tuple] = []
    direct = _serve(1, server_env(w.url), args)
    try:
        direct[0].wait_ready("/readyz")
        w.sign_in(direct[0].url)
        results += measure("1 direct", direct[0].url, server=direct[0])
    finally:
        direct[0].stop()
    # Session pooling keeps the prepared hot reads; transaction pooling needs them off.
    plans = (("session", "1", [1]), ("transaction", "0", range(1, args.hosts + 1)))
    redis = Redis()
    try:
        for mode, prepared, counts in plans:
            pooler = Pooler(w.url, w.libpq["dbname"], mode=mode)
            env = {**server_env(pooler.url), "REDIS_URL": redis.url}
            env["DB_PREPARED_STATEMENTS"] = prepared
            try:
                for n in counts:
                    results += _behind_nginx(n, env, args, measure, f"{n} nginx {mode}")
            finally:
                pooler.stop()
    finally:
        redis.stop()
    return _report(results, w)


def _report(results, w) -> int:
    head = f"{'hosts':<20}{'scenario':<18}{'req/s':>9}{'p50':>8}{'p99':>8}{'errors':>8}{'5xx':>6}"
    print(head + f"{'API cpu ms':>12}{'PG cpu ms':>11}")
    failed = False
    for label, name, r, ok, cpu in results:
        errors = r.socket_errors + r.count(lambda c, ok=ok: c >= 400 and c not in ok)
        fives = r.count(lambda c: c >= 500)
        failed |= bool(fives or r.socket_errors)
        print(
            f"{label:<20}{name:<18}{r.rps:>9.0f}{r.p50_ms or 0:>8.1f}{r.p99_ms or 0:>8.1f}"
            f"{errors:>8}{fives:>6}"
            + (f"{cpu['api_ms']:>12.2f}{cpu['db_ms']:>11.2f}" if cpu else "")
        )
    broken = w.check_rule_1()
    if broken:
        print(f"RULE 1 BROKEN on {broken} stock rows", file=sys.stderr)
    path = VAR / f"hosts-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    doc = {"cores": os.cpu_count(), "world": w.describe(), "rule_1_violations": broken}
    doc["results"] = [
        {"hosts": label, "scenario": name, **r.__dict__, "rps": r.rps, "cpu_per_request": cpu}
        for label, name, r, _, cpu in results
    ]
    path.write_text(json.dumps(doc, indent=2, default=str))
    print(f"\nresults: {path}")
    return 1 if failed or broken else 0
