"""scripts/bench: our API against a minimal reference app and raw SQL, side by side in one run."""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import delivery, hosts, outbox_cost, plot
from bench import world as bench_world
from bench.runner import ROOT, LoadResult, Server, run_pgbench, run_wrk
from bench.scenarios import SCENARIOS, Scenario
from bench.world import SECRET_KEY

VAR = ROOT / "var" / "bench"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    p.add_argument("--duration", type=int, default=20, help="seconds per scenario and target")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        help=f"run only these (repeatable): {', '.join(SCENARIOS)}",
    )
    p.add_argument("--stores", type=int, default=180_000)
    p.add_argument("--cities", type=int, default=330)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn workers for the API and the reference (default: cores)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="every scenario for 2 s on the demo world (keeps the harness working)",
    )
    p.add_argument(
        "--growth",
        action="store_true",
        help="nearby at 18 000, 180 000 and 1 800 000 stores: how p50/p99 grow",
    )
    p.add_argument("--no-sql", action="store_true", help="skip the pgbench ceiling")
    p.add_argument(
        "--outbox-cost",
        action="store_true",
        help="the write scenarios against the API with its outbox and with BENCH_WITHOUT_OUTBOX=1"
        f" (alternating, in one run; default: {', '.join(outbox_cost.WRITE_SCENARIOS)})",
    )
    p.add_argument(
        "--rounds", type=int, default=2, help="--outbox-cost: with/without pairs per scenario"
    )
    p.add_argument(
        "--webhooks",
        action="store_true",
        help="--outbox-cost: every merchant has a webhook for '*' (each event also writes its"
        " delivery row; no worker sends them)",
    )
    p.add_argument(
        "--delivery",
        action="store_true",
        help="events per second one (and two) `flask deliver-webhooks` workers send to a local"
        " receiver",
    )
    p.add_argument("--events", type=int, default=3000, help="--delivery: events per shape")
    p.add_argument(
        "--hosts",
        type=int,
        default=0,
        help="serve from 1..N gunicorn hosts behind nginx, through PgBouncer, limits in Redis",
    )
    p.add_argument(
        "--api-checkout",
        type=Path,
        default=ROOT,
        help="serve the API from another checkout (e.g. a git worktree of an older commit) "
        "against the same world, for before/after figures",
    )
    return p.parse_args(argv)


def server_env(url: str) -> dict:
    return {
        "DATABASE_URL": url,
        "SHOPNEAR_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "ACCESS_LOG": "0",
        "LOG_LEVEL": "WARNING",
        # The bench signs in a few hundred shoppers and reserves fast from each: production
        # limits would turn most of the load into 429s.
        "LOGIN_RATE_LIMIT": "100000/minute",
        "RESERVATION_RATE_LIMIT": "100000/minute",
        "COUPON_CLAIM_RATE_LIMIT": "100000/minute",
        "SHAKE_RATE_LIMIT": "100000/minute",
        "SHAKE_IP_RATE_LIMIT": "100000/minute",
        "COUPON_CLAIM_IP_RATE_LIMIT": "100000/minute",
        "SHOPPER_READ_RATE_LIMIT": "10000000/minute",
        "PICKUP_CODE_STORE_RATE_LIMIT": "100000/minute",
        "PICKUP_MAX_ACTIVE_RESERVATIONS": "1000000",
        "PICKUP_MAX_UNITS_PER_SKU": "1000000",
        "PICKUP_NO_SHOW_LIMIT": "1000000",
        "MEMBER_RESOLVE_RATE_LIMIT": "100000/minute",
    }


def payments_env() -> dict:
    """The payment provider for the order scenarios: the tests' Stripe stand-in, on 127.0.0.1 in
    this process (no network; it answers as Stripe does, without Stripe's own latency)."""
    from tests.stripe_standin import API_KEY, WEBHOOK_SECRET, StripeStandIn

    standin = StripeStandIn()
    return {
        "STRIPE_API_BASE": standin.url,
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def request_files(sc: Scenario, w: "bench_world.World") -> tuple[Path, Path | None]:
    """The scenario's requests for wrk (and the chain's tokens)."""
    workdir = VAR / "requests"
    workdir.mkdir(parents=True, exist_ok=True)
    req_file = workdir / f"{sc.name}.tsv"
    req_file.write_text("".join(r.line() for r in sc.requests(w)))
    tokens = None
    if sc.chain:
        tokens = workdir / f"{sc.name}.tokens"
        tokens.write_text("\n".join(w.tokens[:8]) + "\n")
    return req_file, tokens


def run_scenario(
    sc: Scenario, w: "bench_world.World", api: Server, ref: Server | None, args
) -> dict:
    req_file, tokens = request_files(sc, w)
    row = {"scenario": sc.name}
    row["api"] = run_wrk(
        api.url,
        req_file,
        duration=args.duration,
        connections=args.connections,
        chain_tokens=tokens,
        chain_then=sc.chain_then,
        walk=sc.walk,
    )
    if ref is not None and sc.reference:
        row["reference"] = run_wrk(
            ref.url, req_file, duration=args.duration, connections=args.connections
        )
    if not args.no_sql and sc.sql:
        row["sql"] = run_pgbench(
            w.libpq,
            sc.sql(w),
            duration=args.duration,
            clients=args.connections,
            protocol=getattr(sc.sql, "protocol", "prepared"),
        )
    return row


def _fmt(x, spec="{:.1f}"):
    return "-" if x is None else spec.format(x)


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'scenario':<22}{'target':<10}{'req/s':>9}{'p50':>8}{'p90':>8}{'p99':>8}"
        f"{'errors':>8}{'5xx':>6}  {'API/ref':>8}{'API/SQL':>8}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        api = row["api"]
        for target in ("api", "reference", "sql"):
            r: LoadResult | None = row.get(target)
            if r is None:
                continue
            ratio_ref = ratio_sql = ""
            if target == "api":
                if row.get("reference"):
                    ratio_ref = f"{api.rps / row['reference'].rps:.2f}"
                if row.get("sql"):
                    # A chained scenario's pgbench script is a create+cancel pair: 2 requests.
                    per_script = 2 if row.get("chain") else 1
                    ratio_sql = f"{api.rps / per_script / row['sql'].rps:.2f}"
            ok = row["ok"]
            errors = r.socket_errors + r.count(lambda c, ok=ok: c >= 400 and c not in ok)
            print(
                f"{row['scenario'] if target == 'api' else '':<22}{target:<10}"
                f"{r.rps:>9.0f}{_fmt(r.p50_ms):>8}{_fmt(r.p90_ms):>8}{_fmt(r.p99_ms):>8}"
                f"{errors:>8}{r.count(lambda c: c >= 500):>6}  {ratio_ref:>8}{ratio_sql:>8}"
            )


def save(rows: list[dict], args, extra: dict) -> Path:
    VAR.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=args.api_checkout, capture_output=True, text=True
    ).stdout.strip()
    doc = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "commit": commit,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **extra,
        "results": [
            {
                "scenario": row["scenario"],
                "ok_statuses": sorted(row["ok"]),
                **{
                    t: {**row[t].__dict__, "rps": row[t].rps}
                    for t in ("api", "reference", "sql")
                    if row.get(t)
                },
            }
            for row in rows
        ],
    }
    path = VAR / f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2, default=str))  # Path settings (--api-checkout)
    return path


def bench(args) -> int:
    names = args.scenario or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    w = bench_world.ensure(stores=args.stores, cities=args.cities, seed=args.seed, demo=args.smoke)
    VAR.mkdir(parents=True, exist_ok=True)
    env = server_env(w.url)
    if any(SCENARIOS[name].payments for name in names):
        env |= payments_env()
    api = Server(
        "wsgi:app",
        env=env,
        workers=args.workers,
        cwd=args.api_checkout,
        log=VAR / "api.log",
    )
    # The reference app only when a chosen scenario compares with it.
    ref = None
    if any(SCENARIOS[name].reference for name in names):
        ref = Server(
            "bench.reference.app:app",
            env={"DATABASE_URL": w.url},
            workers=args.workers,
            cwd=ROOT,
            log=VAR / "reference.log",
        )
    rows, failed = [], False
    try:
        api.wait_ready("/readyz")
        if ref is not None:
            ref.wait_ready("/healthz")
        w.sign_in(api.url)
        for name in names:
            sc = SCENARIOS[name]
            print(f"… {name}", file=sys.stderr, flush=True)
            row = run_scenario(sc, w, api, ref, args)
            row["ok"] = sc.ok_statuses
            row["chain"] = sc.chain
            rows.append(row)
            if row["api"].count(lambda c: c >= 500) or row["api"].socket_errors:
                failed = True
    finally:
        api.stop()
        if ref is not None:
            ref.stop()
    print_table(rows)
    broken = w.check_rule_1()
    if broken:
        print(f"RULE 1 BROKEN on {broken} stock rows", file=sys.stderr)
        failed = True
    path = save(rows, args, {"world": w.describe(), "rule_1_violations": broken})
    print(f"\nresults: {path}\nplot: {plot.ratios(rows, path.with_suffix('.png'))}")
    if failed:
        print("FAILED: a request got a 5xx or a socket error, or rule 1 broke", file=sys.stderr)
    return 1 if failed else 0


def growth(args) -> int:
    """nearby at three world sizes; the goal is flat latency (within ±25 %)."""
    rows = []
    for stores in (18_000, 180_000, 1_800_000):
        sub = parse_args(
            [
                "--scenario",
                "nearby",
                "--stores",
                str(stores),
                "--no-sql",
                "--duration",
                str(args.duration),
            ]
        )
        w = bench_world.ensure(
            stores=stores, cities=args.cities, seed=args.seed, demo=False, stores_only=True
        )
        api = Server(
            "wsgi:app", env=server_env(w.url), workers=args.workers, cwd=ROOT, log=VAR / "api.log"
        )
        try:
            api.wait_ready("/readyz")
            # Each world starts cold (a new server, its pages not yet in shared_buffers): a few
            # seconds of the same load first, so the three figures are of steady states.
            warm = argparse.Namespace(**{**vars(sub), "duration": min(5, args.duration)})
            run_scenario(SCENARIOS["nearby"], w, api, None, warm)
            row = run_scenario(SCENARIOS["nearby"], w, api, None, sub)
            items = _items_per_answer(w, api)
        finally:
            api.stop()
        rows.append((stores, row["api"], items))
    VAR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    chart = plot.growth([(n, r.p50_ms, r.p99_ms) for n, r, _ in rows], VAR / f"growth-{stamp}.png")
    print(f"plot: {chart}")
    base = rows[1][1]
    head = f"{'stores':>10}{'req/s':>9}{'p50':>8}{'p99':>8}{'p50 vs 180k':>13}{'p99 vs 180k':>13}"
    print(head + f"{'stores/answer':>15}")
    for stores, r, items in rows:
        p50 = (r.p50_ms / base.p50_ms - 1) * 100
        p99 = (r.p99_ms / base.p99_ms - 1) * 100
        print(
            f"{stores:>10}{r.rps:>9.0f}{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}{p50:>+12.0f}%{p99:>+12.0f}%"
            f"{items:>15.1f}"
        )
    return 0


def _items_per_answer(w: "bench_world.World", api: Server, n: int = 300) -> float:
    """How many stores the world's nearby answers hold on average (of at most 20): a request's
    Python grows with its answer, so a world's answer size is told apart from its index."""
    sizes = []
    for req in SCENARIOS["nearby"].requests(w)[:n]:
        _, _, body = bench_world.get(api.url + req.path)
        sizes.append(len(body.get("items", [])))
    return sum(sizes) / len(sizes)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.smoke:
        args.duration = 2
    started = time.time()
    if args.growth:
        code = growth(args)
    elif args.delivery:
        code = delivery.run(args)
    elif args.outbox_cost:
        code = outbox_cost.run(args, server_env=server_env, request_files=request_files)
    elif args.hosts:
        code = hosts.run(
            args, server_env=server_env, run_scenario=run_scenario, scenarios=SCENARIOS
        )
    else:
        code = bench(args)
    print(f"bench took {time.time() - started:.0f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
