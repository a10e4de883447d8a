"""scripts/soak: random shopper and staff operations from many threads against a running gunicorn
on the demo world; then zero 5xx, every idempotency key answered the same twice, and every rule of
app/invariants.py holding. Exit status 1 when anything broke."""

import argparse
import collections
import http.client
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg2
from sqlalchemy import create_engine

from app import invariants
from app.config import sqlalchemy_url
from app.database_setup import libpq_args

ROOT = Path(__file__).resolve().parent.parent
DEMO_OWNER, DEMO_PASSWORD = "owner@demo.shopnear.test", "demo-password-1"
SHOPPER_PASSWORD = "soak-password-1"
# Relative weights of the operations (a reservation must exist before it is readied, etc.).
WEIGHTS = {
    "reserve": 14, "extend": 4, "cancel": 5, "ready": 8, "pickup": 6, "pickup_wrong": 3,
    "sweep": 2, "sync_set": 3, "sync_delta": 4, "claim": 8, "red_packet": 4, "redeem": 5,
    "void": 2, "like": 6, "unlike": 4, "vote": 4, "follow": 4, "unfollow": 3, "nearby": 5,
}  # fmt: skip


@dataclass
class Answer:
    status: int
    headers: dict
    body: object
    seconds: float


def call(method: str, url: str, *, json=None, headers=None, timeout: float = 30) -> Answer:
    """One HTTP request as a client sends it; network failures raise OSError."""
    data = orjson.dumps(json) if json is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, hdrs, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, hdrs, raw = error.code, dict(error.headers), error.read()
    body = orjson.loads(raw) if raw and "json" in hdrs.get("Content-Type", "") else raw
    return Answer(status, hdrs, body, time.monotonic() - started)


def _without(body, fields) -> object:
    return {k: v for k, v in body.items() if k not in fields} if isinstance(body, dict) else body


@dataclass
class World:
    """What the demo world holds, read once from the database."""

    home_stores: list[tuple[int, float, float]]  # the demo owner's merchant: (id, lat, lng)
    stock: dict[int, list[int]]  # store id → SKUs with shared stock
    campaigns: list[tuple[int, str, int | None]]  # (id, kind, geofence) of the home merchant
    polls: list[tuple[int, list[int]]]
    posts: list[int]
    merchants: list[int]


def discover(database_url: str) -> World:
    conn = psycopg2.connect(**libpq_args(database_url))
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT s.merchant_id FROM staff s JOIN users u ON u.id = s.user_id WHERE u.email = %s",
            (DEMO_OWNER,),
        )
        home = cur.fetchone()[0]
        cur.execute(
            "SELECT id, ST_Y(location::geometry), ST_X(location::geometry) FROM stores"
            " WHERE merchant_id = %s AND is_active AND pickup_enabled ORDER BY id",
            (home,),
        )
        stores = cur.fetchall()
        cur.execute(
            "SELECT store_id, array_agg(sku_id ORDER BY sku_id) FROM stock"
            " WHERE channel = 'shared' AND merchant_id = %s GROUP BY store_id",
            (home,),
        )
        stock = dict(cur.fetchall())
        cur.execute(
            "SELECT id, kind, geofence_radius_m FROM coupon_campaigns"
            " WHERE merchant_id = %s AND state = 'active' ORDER BY id",
            (home,),
        )
        campaigns = cur.fetchall()
        cur.execute(
            "SELECT p.id, array_agg(o.id ORDER BY o.position) FROM posts p"
            " JOIN poll_options o ON o.post_id = p.id WHERE p.state = 'published' GROUP BY p.id"
        )
        polls = cur.fetchall()
        cur.execute("SELECT id FROM posts WHERE state = 'published' ORDER BY id")
        posts = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM merchants ORDER BY id")
        merchants = [r[0] for r in cur.fetchall()]
    conn.close()
    stores = [s for s in stores if s[0] in stock]
    return World(stores, stock, campaigns, polls, posts, merchants)


@dataclass
class Shopper:
    headers: dict
    reservations: list[dict] = field(default_factory=list)
    coupons: list[dict] = field(default_factory=list)


class Soak:
    """One run: threads each own their shoppers and what those shoppers made."""

    def __init__(
        self, url: str, database_url: str, *, ops: int, threads: int, seed: int, weights=None
    ):
        self.url, self.database_url = url, database_url
        self.weights = weights or WEIGHTS
        self.ops, self.threads, self.seed = ops, threads, seed
        self.world = discover(database_url)
        self.statuses: collections.Counter = collections.Counter()
        self.failures: list[str] = []  # 5xx, replays that differ, harness errors
        self.dropped: list[str] = []  # requests that got no answer at all
        self.replays = 0
        self._lock = threading.Lock()
        self._left = ops
        self.staff = {"Authorization": "Bearer " + self._login(DEMO_OWNER, DEMO_PASSWORD)}
        self._sweeper = None

    # plumbing -------------------------------------------------------------------------------
    def _login(self, email: str, password: str) -> str:
        answer = call(
            "POST", self.url + "/v1/auth/login", json={"email": email, "password": password}
        )
        if answer.status != 200:
            raise SystemExit(f"login of {email} failed: {answer.status} {answer.body}")
        return answer.body["access_token"]

    def _shopper(self) -> Shopper:
        email = f"soak-{uuid.uuid4().hex[:12]}@soak.shopnear.test"
        body = {"email": email, "password": SHOPPER_PASSWORD, "display_name": "Soak"}
        call("POST", self.url + "/v1/auth/register", json=body)
        return Shopper({"Authorization": "Bearer " + self._login(email, SHOPPER_PASSWORD)})

    def _take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def _send(self, op: str, method: str, path: str, **kw) -> Answer | None:
        try:
            answer = call(method, self.url + path, **kw)
        except (OSError, http.client.HTTPException) as error:  # no whole answer came back
            with self._lock:
                self.dropped.append(f"{op} {method} {path}: {error!r}")
            return None
        with self._lock:
            self.statuses[(op, answer.status)] += 1
        if answer.status >= 500:
            self._fail(f"{op} {method} {path}: {answer.status} {answer.body}")
        return answer

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def _keyed(self, op: str, path: str, body: dict, headers: dict, fresh=()) -> Answer | None:
        """A creating POST with an Idempotency-Key, sent twice: the second must replay the first
        (but for the `fresh` fields: a replayed reservation shows a new pickup code, the first
        was never stored). Returns the latest answer."""
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        first = self._send(op, "POST", path, json=body, headers=headers)
        if first is None or first.status >= 300:
            return first
        again = self._send(op + " (replay)", "POST", path, json=body, headers=headers)
        with self._lock:
            self.replays += 1
        if again is None:
            return first
        if (again.status, _without(again.body, fresh)) != (
            first.status,
            _without(first.body, fresh),
        ):
            self._fail(f"{op} replay differs: {first.status} {first.body} / {again.status}")
        return again

    # operations -----------------------------------------------------------------------------
    def reserve(self, rng, shopper: Shopper) -> None:
        store_id, _, _ = rng.choice(self.world.home_stores)
        skus = rng.sample(self.world.stock[store_id], k=min(2, len(self.world.stock[store_id])))
        items = [{"sku_id": s, "qty": rng.randint(1, 2)} for s in skus[: rng.randint(1, 2)]]
        answer = self._keyed(
            "reserve",
            "/v1/reservations",
            {"store_id": store_id, "items": items},
            shopper.headers,
            fresh=("pickup_code",),
        )
        if answer is not None and answer.status == 201:
            shopper.reservations.append(
                {"id": answer.body["id"], "store_id": store_id, "code": answer.body["pickup_code"]}
            )

    def _reservation(self, rng, shopper: Shopper) -> dict | None:
        return rng.choice(shopper.reservations) if shopper.reservations else None

    def extend(self, rng, shopper):
        if r := self._reservation(rng, shopper):
            self._send(
                "extend", "POST", f"/v1/reservations/{r['id']}/extend", headers=shopper.headers
            )

    def cancel(self, rng, shopper):
        if r := self._reservation(rng, shopper):
            self._send(
                "cancel", "POST", f"/v1/reservations/{r['id']}/cancel", headers=shopper.headers
            )

    def _admin(self, r: dict, action: str) -> str:
        return f"/v1/admin/stores/{r['store_id']}/reservations/{r['id']}/{action}"

    def ready(self, rng, shopper):
        if r := self._reservation(rng, shopper):
            self._send("ready", "POST", self._admin(r, "ready"), headers=self.staff)

    def pickup(self, rng, shopper):
        if r := self._reservation(rng, shopper):
            body = {"code": r["code"]}
            self._send("pickup", "POST", self._admin(r, "pickup"), json=body, headers=self.staff)

    def pickup_wrong(self, rng, shopper):
        if r := self._reservation(rng, shopper):
            body = {"code": f"{(int(r['code']) + rng.randint(1, 999)) % 10**6:06d}"}
            self._send(
                "pickup_wrong", "POST", self._admin(r, "pickup"), json=body, headers=self.staff
            )

    def sweep(self, rng, shopper):
        """A hold runs out (its time moved back) and the sweeper releases it."""
        if not (r := self._reservation(rng, shopper)):
            return
        conn = psycopg2.connect(**libpq_args(self.database_url))
        with conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE reservations SET expires_at = now() - interval '1 second'"
                " WHERE public_id = %s AND state IN ('reserved', 'ready')",
                (r["id"],),
            )
        conn.close()
        self.sweeper()

    def sweeper(self) -> None:
        from app.extensions import db
        from app.pickup.expiry import sweep_batch

        with self._lock:
            if self._sweeper is None:
                from app import create_app
                from app.config import Config

                self._sweeper = create_app(
                    Config(
                        SQLALCHEMY_DATABASE_URI=sqlalchemy_url(self.database_url),
                        SECRET_KEY=os.environ.get("SECRET_KEY") or "soak-sweeper-signs-nothing",
                    )
                )
        with self._sweeper.app_context():
            sweep_batch(session=db.session)
            db.session.commit()
        with self._lock:
            self.statuses[("sweep", "run")] += 1

    def _sync(self, rng, mode: str):
        store_id, _, _ = rng.choice(self.world.home_stores)
        sku_id = rng.choice(self.world.stock[store_id])
        row = {"store_id": store_id, "sku_id": sku_id}
        row |= {"on_hand": rng.randint(0, 40)} if mode == "set" else {"delta": rng.randint(-3, 5)}
        body = {"mode": mode, "rows": [row]}
        self._keyed(f"sync_{mode}", "/v1/admin/stock:sync", body, self.staff)

    def sync_set(self, rng, shopper):
        self._sync(rng, "set")

    def sync_delta(self, rng, shopper):
        self._sync(rng, "delta")

    def _claim(self, rng, shopper, kinds: tuple[str, ...], op: str):
        campaigns = [c for c in self.world.campaigns if c[1] in kinds]
        if not campaigns:
            return
        campaign_id, _, geofence = rng.choice(campaigns)
        body = {}
        if geofence:
            _, lat, lng = rng.choice(self.world.home_stores)
            body = {"lat": round(lat, 6), "lng": round(lng, 6), "accuracy_m": 10}
        answer = self._keyed(op, f"/v1/coupon-campaigns/{campaign_id}/claim", body, shopper.headers)
        if answer is not None and answer.status == 201:
            shopper.coupons.append({"id": answer.body["id"], "code": answer.body["code"]})

    def claim(self, rng, shopper):
        self._claim(rng, shopper, ("amount_off", "percent_off"), "claim")

    def red_packet(self, rng, shopper):
        self._claim(rng, shopper, ("red_packet",), "red_packet")

    def redeem(self, rng, shopper):
        if not shopper.coupons:
            return
        coupon = rng.choice(shopper.coupons)
        store_id, _, _ = rng.choice(self.world.home_stores)
        body = {"code": coupon["code"], "basket_cents": rng.randint(500, 20000)}
        answer = self._send(
            "redeem",
            "POST",
            f"/v1/admin/stores/{store_id}/coupons:redeem",
            json=body,
            headers=self.staff,
        )
        if answer is not None and answer.status == 200:
            coupon["store_id"] = store_id

    def void(self, rng, shopper):
        redeemed = [c for c in shopper.coupons if "store_id" in c]
        if redeemed:
            c = rng.choice(redeemed)
            path = f"/v1/admin/stores/{c['store_id']}/coupons/{c['id']}:void"
            self._send("void", "POST", path, json={"reason": "Soak"}, headers=self.staff)

    def like(self, rng, shopper):
        post = rng.choice(self.world.posts)
        self._send("like", "PUT", f"/v1/posts/{post}/like", headers=shopper.headers)

    def unlike(self, rng, shopper):
        post = rng.choice(self.world.posts)
        self._send("unlike", "DELETE", f"/v1/posts/{post}/like", headers=shopper.headers)

    def vote(self, rng, shopper):
        if self.world.polls:
            post, options = rng.choice(self.world.polls)
            body = {"option_ids": [rng.choice(options)]}
            self._send(
                "vote", "POST", f"/v1/posts/{post}/votes", json=body, headers=shopper.headers
            )

    def follow(self, rng, shopper):
        merchant = rng.choice(self.world.merchants)
        self._send("follow", "PUT", f"/v1/merchants/{merchant}/follow", headers=shopper.headers)

    def unfollow(self, rng, shopper):
        merchant = rng.choice(self.world.merchants)
        self._send(
            "unfollow", "DELETE", f"/v1/merchants/{merchant}/follow", headers=shopper.headers
        )

    def nearby(self, rng, shopper):
        _, lat, lng = rng.choice(self.world.home_stores)
        self._send("nearby", "GET", f"/v1/stores/nearby?lat={lat:.4f}&lng={lng:.4f}&radius=3000")

    # the run --------------------------------------------------------------------------------
    def _worker(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        shoppers = [self._shopper() for _ in range(2)]
        names, weights = list(self.weights), list(self.weights.values())
        while self._take():
            op = rng.choices(names, weights)[0]
            try:
                getattr(self, op)(rng, rng.choice(shoppers))
            except Exception as error:  # a harness bug must fail the run, not hide
                self._fail(f"{op}: harness error {error!r}")

    def run(self) -> dict:
        started = time.monotonic()
        workers = [threading.Thread(target=self._worker, args=(i,)) for i in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.monotonic() - started
        engine = create_engine(sqlalchemy_url(self.database_url))
        with engine.connect() as conn:
            broken = invariants.violations(conn)
        engine.dispose()
        requests = sum(n for (_, status), n in self.statuses.items() if status != "run")
        server_errors = sum(
            n for (_, s), n in self.statuses.items() if isinstance(s, int) and s >= 500
        )
        return {
            "ops": self.ops,
            "threads": self.threads,
            "requests": requests,
            "replays": self.replays,
            "seconds": round(seconds, 1),
            "5xx": server_errors,
            "failures": self.failures[:20],
            "dropped": len(self.dropped),
            "broken_invariants": broken,
            "statuses": {f"{op} {s}": n for (op, s), n in sorted(self.statuses.items(), key=str)},
        }


def passed(result: dict) -> bool:
    broken = result["5xx"] or result["failures"] or result["dropped"]
    return not broken and not result["broken_invariants"]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/soak", description=__doc__)
    p.add_argument("--ops", type=int, default=10_000, help="operations in all (default 10000)")
    p.add_argument("--threads", type=int, default=32, help="client threads (default 32)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the operation mix")
    p.add_argument(
        "--url",
        help="a running server on DATABASE_URL's demo world (default: start gunicorn for the run;"
        " a server of your own needs the lifted limits of bench.harness.server_env)",
    )
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers when starting one")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    database_url = os.environ["DATABASE_URL"]
    server = None
    if args.url is None:
        from bench.harness import server_env
        from bench.runner import Server

        (ROOT / "var").mkdir(exist_ok=True)
        server = Server(
            "wsgi:app",
            env=server_env(database_url),
            workers=args.workers,
            cwd=ROOT,
            log=ROOT / "var" / "soak-server.log",
        )
        server.wait_ready("/readyz")
    try:
        soak = Soak(
            args.url or server.url, database_url, ops=args.ops, threads=args.threads, seed=args.seed
        )
        result = soak.run()
    finally:
        if server is not None:
            server.stop()
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    ok = passed(result)
    print(f"soak: {result['requests']} requests for {result['ops']} operations, "
          f"{result['5xx']} 5xx, {len(result['broken_invariants'])} broken invariants: "
          f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
