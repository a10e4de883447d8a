"""scripts/bench --outbox-cost: what the transactional outbox costs the write paths. Two API
servers on the same world, one as shipped and one with BENCH_WITHOUT_OUTBOX=1 (no event rows at
all: neither `emit` nor the stock triggers write them); each scenario runs on both, alternating
which goes first, `--rounds` times; throughput and latency side by side, in one run."""

import json
import statistics
import sys
from datetime import UTC, datetime

import psycopg2

from bench import world as bench_world
from bench.runner import ROOT, Server, run_wrk
from bench.scenarios import SCENARIOS

VAR = ROOT / "var" / "bench"
WRITE_SCENARIOS = ("reserve_cancel", "reserve_hot", "claim", "shake", "receipt")
HOOK_URL = "http://127.0.0.1:9/bench-outbox-cost"  # never called: no worker runs


def _sql(w, statement: str, params=()) -> list:
    conn = psycopg2.connect(**w.libpq)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _add_webhooks(w) -> int:
    rows = _sql(
        w,
        "INSERT INTO webhook_endpoints (merchant_id, url, event_types, enabled, secret,"
        " consecutive_failures) SELECT id, %s, ARRAY['*'], true, 'whsec_bench', 0 FROM merchants"
        " RETURNING id",
        (HOOK_URL,),
    )
    return len(rows)


def _drop_webhooks(w) -> None:
    _sql(w, "DELETE FROM webhook_endpoints WHERE url = %s", (HOOK_URL,))


def _events(w) -> int:
    return _sql(w, "SELECT count(*) FROM events")[0][0]


def run(args, *, server_env, request_files) -> int:
    names = args.scenario or list(WRITE_SCENARIOS)
    w = bench_world.ensure(stores=args.stores, cities=args.cities, seed=args.seed, demo=args.smoke)
    VAR.mkdir(parents=True, exist_ok=True)
    env = server_env(w.url)
    servers = {
        "outbox": Server("wsgi:app", env=env, workers=args.workers, cwd=ROOT, log=VAR / "api.log"),
        "none": Server(
            "wsgi:app",
            env={**env, "BENCH_WITHOUT_OUTBOX": "1"},
            workers=args.workers,
            cwd=ROOT,
            log=VAR / "api-no-outbox.log",
        ),
    }
    hooks = _add_webhooks(w) if args.webhooks else 0
    rows, failed = [], False
    try:
        for server in servers.values():
            server.wait_ready("/readyz")
        w.sign_in(servers["outbox"].url)
        for name in names:
            sc = SCENARIOS[name]
            print(f"… {name}", file=sys.stderr, flush=True)
            req_file, tokens = request_files(sc, w)
            runs = {"outbox": [], "none": []}
            events = {"outbox": 0, "none": 0}
            for i in range(args.rounds):
                for target in ("outbox", "none") if i % 2 == 0 else ("none", "outbox"):
                    before = _events(w)
                    result = run_wrk(
                        servers[target].url,
                        req_file,
                        duration=args.duration,
                        connections=args.connections,
                        chain_tokens=tokens,
                        chain_then=sc.chain_then,
                    )
                    events[target] += _events(w) - before
                    runs[target].append(result)
                    bad = result.count(lambda c, ok=sc.ok_statuses: c not in ok)
                    failed |= bool(result.count(lambda c: c >= 500) or result.socket_errors)
                    print(
                        f"    {target:<7}{result.rps:>8.0f} req/s  not ok: {bad}", file=sys.stderr
                    )
            rows.append({"scenario": name, "runs": runs, "events": events})
    finally:
        for server in servers.values():
            server.stop()
        if hooks:
            _drop_webhooks(w)
    _print(rows, hooks)
    broken = w.check_rule_1()
    path = VAR / f"outbox-cost-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "settings": {k: str(v) for k, v in vars(args).items()},
                "world": w.describe(),
                "webhook_endpoints": hooks,
                "rule_1_violations": broken,
                "results": [
                    {
                        "scenario": r["scenario"],
                        "events_written": r["events"],
                        **{
                            t: [{**x.__dict__, "rps": x.rps} for x in r["runs"][t]]
                            for t in ("outbox", "none")
                        },
                    }
                    for r in rows
                ],
            },
            indent=2,
        )
    )
    print(f"\nresults: {path}")
    if broken or failed:
        print("FAILED: a 5xx or socket error, or rule 1 broke", file=sys.stderr)
        return 1
    return 0


def _print(rows: list[dict], hooks: int) -> None:
    print(f"outbox cost; webhook endpoints (one per merchant, for '*'): {hooks}")
    head = (
        f"{'scenario':<16}{'outbox req/s':>13}{'none req/s':>12}{'cost':>8}"
        f"{'p50 outbox':>12}{'p50 none':>10}{'p99 outbox':>12}{'p99 none':>10}{'events':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        rps = {t: statistics.mean(x.rps for x in r["runs"][t]) for t in ("outbox", "none")}
        p50 = {t: statistics.mean(x.p50_ms or 0 for x in r["runs"][t]) for t in ("outbox", "none")}
        p99 = {t: statistics.mean(x.p99_ms or 0 for x in r["runs"][t]) for t in ("outbox", "none")}
        cost = (1 - rps["outbox"] / rps["none"]) * 100 if rps["none"] else 0
        print(
            f"{r['scenario']:<16}{rps['outbox']:>13.0f}{rps['none']:>12.0f}{cost:>+7.1f}%"
            f"{p50['outbox']:>12.1f}{p50['none']:>10.1f}{p99['outbox']:>12.1f}{p99['none']:>10.1f}"
            f"{r['events']['outbox']:>9}/{r['events']['none']}"
        )
