"""scripts/bench --delivery: how fast one `flask deliver-webhooks` worker empties the outbox
into a local receiver (and two workers side by side, sharing the queue with SKIP LOCKED).

`--events` events are written for one merchant whose one endpoint points at a receiver on
127.0.0.1 that checks every signature with the Standard Webhooks library and answers 204.
Two shapes: every event under its own ordering key (nothing holds a delivery back), and all of
them under ten keys (each key's deliveries wait for the one before). The figure is events
delivered per second of the worker's wall time, start to exit, process start included."""

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from standardwebhooks.webhooks import Webhook

from bench import world as bench_world
from bench.runner import ROOT

VAR = ROOT / "var" / "bench"
SECRET = "whsec_" + "YmVuY2gtZGVsaXZlcnktc2VjcmV0LTEyMzQ1Ng=="  # base64 of a bench-only key


class _Receiver:
    def __init__(self):
        self.count, self.bad, self.lock = 0, 0, threading.Lock()
        receiver, verifier = self, Webhook(SECRET)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verifier.verify(body, dict(self.headers))
                    ok = True
                except Exception:  # counted: the run fails on any
                    ok = False
                with receiver.lock:
                    receiver.count += ok
                    receiver.bad += not ok
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _connect(w):
    conn = psycopg2.connect(**w.libpq)
    conn.autocommit = True
    return conn


def _prepare(cur, url: str, events: int, keys: int | None) -> int:
    cur.execute("SELECT min(id) FROM merchants")
    merchant = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO webhook_endpoints (merchant_id, url, event_types, enabled, secret,"
        " consecutive_failures) VALUES (%s, %s, ARRAY['*'], true, %s, 0) RETURNING id",
        (merchant, url, SECRET),
    )
    endpoint = cur.fetchone()[0]
    key = f"'bench:delivery:' || (g %% {keys})" if keys else "'bench:delivery:' || g"
    cur.execute(
        "INSERT INTO events (merchant_id, type, ordering_key, sequence, data)"
        f" SELECT %s, 'store.updated', {key}, g, jsonb_build_object('n', g, 'bench', true)"
        " FROM generate_series(1, %s) g ORDER BY g",
        (merchant, events),
    )
    # Only this endpoint's deliveries are due: others' (of earlier runs) wait an hour.
    cur.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour'"
        " WHERE status = 'pending' AND endpoint_id <> %s",
        (endpoint,),
    )
    return endpoint


def _cleanup(cur, endpoint: int) -> None:
    cur.execute("DELETE FROM events WHERE ordering_key LIKE 'bench:delivery:%%'")
    cur.execute("DELETE FROM webhook_endpoints WHERE id = %s", (endpoint,))


def _workers(url: str, n: int, batch: int) -> float:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": url,
        "SECRET_KEY": bench_world.SECRET_KEY,
        "SHOPNEAR_ENV": "production",
        "WEBHOOK_ALLOW_LOOPBACK": "1",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi:app",
    }
    flask = str(ROOT / ".venv" / "bin" / "flask")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [flask, "deliver-webhooks", "--batch", str(batch)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("a delivery worker failed")
    return time.perf_counter() - started


def run(args) -> int:
    w = bench_world.ensure(stores=args.stores, cities=args.cities, seed=args.seed, demo=args.smoke)
    events = 200 if args.smoke else args.events
    receiver = _Receiver()
    rows, failed = [], False
    conn = _connect(w)  # autocommit (`with conn` would open a transaction the workers can't see)
    with conn.cursor() as cur:
        for shape, keys in (("one key each", None), ("10 keys", 10)):
            for workers in (1, 2):
                before = receiver.count
                endpoint = _prepare(cur, receiver.url, events, keys)
                try:
                    seconds = _workers(w.url, workers, batch=events)
                    cur.execute(
                        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = %s"
                        " AND status <> 'delivered'",
                        (endpoint,),
                    )
                    left = cur.fetchone()[0]
                finally:
                    _cleanup(cur, endpoint)
                got = receiver.count - before
                failed |= left > 0 or got < events or receiver.bad > 0
                rows.append(
                    {
                        "shape": shape,
                        "workers": workers,
                        "events": events,
                        "delivered": got,
                        "not_delivered": left,
                        "seconds": round(seconds, 2),
                        "events_per_s": round(got / seconds, 1),
                    }
                )
                print(
                    f"{shape:<14} workers {workers}: {got}/{events} in {seconds:6.2f} s"
                    f" = {got / seconds:7.1f} events/s",
                    flush=True,
                )
    conn.close()
    receiver.server.shutdown()
    VAR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = VAR / f"delivery-{stamp}.json"
    path.write_text(
        json.dumps(
            {"at": stamp, "world": w.describe(), "bad_signatures": receiver.bad, "rows": rows},
            indent=2,
            default=str,
        )  # fmt: skip
    )
    print(f"\nresults: {path}")
    if failed:
        print("FAILED: an event was not delivered, or a signature did not verify", file=sys.stderr)
    return 1 if failed else 0
