"""The benchmark world: seeded once per (size, seed, schema, generator), reused while unchanged."""

import hashlib
import json
import math
import os
import random
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import psycopg2

from app.database_setup import ensure_database, libpq_args
from bench.runner import ROOT

FLASK = str(ROOT / ".venv" / "bin" / "flask")
SHOPPERS = 16
# Shoppers who follow FOLLOWS merchants with live untargeted posts: the feed's followed part.
FOLLOWERS, FOLLOWS = 8, 8
PASSWORD = "bench-password-1"
# The API server's, the in-process capture's and the member codes' key (tokens and codes made by
# one are good for the others).
SECRET_KEY = "bench-only-secret-key-not-for-production-use"
STAFF_EMAIL = "bench-staff@bench.shopnear.test"


def _db_url(name: str) -> str:
    out = subprocess.run(
        [str(ROOT / "scripts" / "db"), "url", name], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _generator_fingerprint() -> str:
    """Changes to the seeder or the schema make a new world."""
    h = hashlib.sha256()
    for folder in ("app/seeding", "migrations/versions"):
        for path in sorted((ROOT / folder).glob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _flask(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-seed", "FLASK_APP": "wsgi:app"}
    # The seed's bulk statements are not requests: a loaded box took the stock insert past the
    # 5 s request limit.
    env["DB_STATEMENT_TIMEOUT_MS"] = "0"
    subprocess.run([FLASK, *args], cwd=ROOT, env=env, check=True)


def ensure(*, stores: int, cities: int, seed: int, demo: bool, stores_only: bool = False):
    """The world in its own database, seeded when missing or out of date."""
    if demo:
        name = "shopnear_bench_smoke"
    elif stores_only:  # --growth: stores alone, at several sizes, beside the full world
        name = f"shopnear_bench_stores_{stores}"
    else:
        name = "shopnear_bench" if stores == 180_000 else f"shopnear_bench_{stores}"
    url = os.environ.get("BENCH_DATABASE_URL") or _db_url(name)
    ensure_database(url)
    _flask(url, "db", "upgrade")
    key = json.dumps(
        {
            "stores": stores,
            "cities": cities,
            "seed": seed,
            "demo": demo,
            "stores_only": stores_only,
            "code": _generator_fingerprint(),
        }
    )
    conn = psycopg2.connect(**libpq_args(url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_world (key text)")
        cur.execute("SELECT key FROM bench_world")
        have = cur.fetchone()
    if not have or have[0] != key:
        print(f"seeding the benchmark world in {name} …", file=sys.stderr, flush=True)
        opts = ["--demo"] if demo else ["--stores", str(stores), "--cities", str(cities)]
        if stores_only:
            opts.append("--stores-only")
        _flask(url, "seed", "--reset", "--seed", str(seed), *opts)
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("DELETE FROM bench_world")
            cur.execute("INSERT INTO bench_world VALUES (%s)", (key,))
    world = World(url=url, libpq=libpq_args(url), seed=seed)
    world.load(conn)
    conn.close()
    return world


@dataclass
class World:
    """What scenarios draw from: query points weighted by city size, ids, shopper tokens."""

    url: str
    libpq: dict
    seed: int
    cities: list[tuple[str, float, float, int]] = field(default_factory=list)
    store_ids: list[int] = field(default_factory=list)
    sku_ids: list[int] = field(default_factory=list)
    stores: int = 0
    stock_rows: int = 0
    tokens: list[str] = field(default_factory=list)
    follower_tokens: list[str] = field(default_factory=list)
    api_url: str = ""
    staff_token: str = ""
    staff_merchant: int = 0

    def load(self, conn) -> None:
        with conn.cursor() as cur:
            cur.execute("""
                SELECT city, avg(ST_Y(location::geometry)), avg(ST_X(location::geometry)),
                       count(*)
                FROM stores WHERE is_active GROUP BY city ORDER BY city""")
            self.cities = cur.fetchall()
            cur.execute("SELECT count(*) FROM stores")
            self.stores = cur.fetchone()[0]
            cur.execute("SELECT id FROM stores WHERE is_active ORDER BY random() LIMIT 2000")
            self.store_ids = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT to_regclass('stock') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'stock'")
                self.stock_rows = max(0, cur.fetchone()[0])
                cur.execute("SELECT id FROM skus ORDER BY random() LIMIT 2000")
                self.sku_ids = [r[0] for r in cur.fetchall()]

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self.seed}:{salt}")

    def points(self, n: int, salt: str, spread_m: float = 5000) -> list[tuple[float, float]]:
        """Query points near city centres, cities weighted by their number of stores."""
        rng = self.rng(salt)
        weights = [c[3] for c in self.cities]
        out = []
        for city in rng.choices(self.cities, weights=weights, k=n):
            _, lat, lng, _ = city
            dy, dx = rng.gauss(0, spread_m), rng.gauss(0, spread_m)
            lat2 = max(-89.9, min(89.9, lat + dy / 111_320))
            lng2 = lng + dx / (111_320 * max(0.01, math.cos(math.radians(lat))))
            lng2 = (lng2 + 180) % 360 - 180
            out.append((round(lat2, 6), round(lng2, 6)))
        return out

    def sign_in(self, api_url: str) -> None:
        """Shoppers for the scenarios that need a login, signed in through the API."""
        self.api_url = api_url
        self.tokens = [
            self._shopper(f"bench-shopper-{i}@bench.shopnear.test", f"Bench {i}")
            for i in range(SHOPPERS)
        ]
        self._sign_in_followers()

    def _shopper(self, email: str, name: str) -> str:
        """An access token of this bench shopper, registered first if new (409: already is)."""
        body = {"email": email, "password": PASSWORD, "display_name": name}
        _post(self.api_url + "/v1/auth/register", body)
        login = {"email": email, "password": PASSWORD}
        return _post(self.api_url + "/v1/auth/login", login)["access_token"]

    def _sign_in_followers(self) -> None:
        """FOLLOWERS shoppers, each following FOLLOWS merchants that post (through the API)."""
        conn = psycopg2.connect(**self.libpq)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT DISTINCT merchant_id FROM posts WHERE state = 'published'"
                    " AND store_id IS NULL AND cardinality(cities) = 0 ORDER BY merchant_id"
                )
                posting = [r[0] for r in cur.fetchall()]
        finally:
            conn.close()
        rng = self.rng("followers")
        self.follower_tokens = []
        for i in range(FOLLOWERS):
            token = self._shopper(f"bench-follower-{i}@bench.shopnear.test", f"Follower {i}")
            for merchant_id in rng.sample(posting, min(FOLLOWS, len(posting))):
                _put(f"{self.api_url}/v1/merchants/{merchant_id}/follow", token)
            self.follower_tokens.append(token)

    def sign_in_staff(self) -> None:
        """An owner (registered through the API) of the merchant with the most members: the
        seeded owners' passwords are nobody's to know. Done once, for the member scenarios."""
        if self.staff_token:
            return
        body = {"email": STAFF_EMAIL, "password": PASSWORD, "display_name": "Bench till"}
        _post(self.api_url + "/v1/auth/register", body)
        conn = psycopg2.connect(**self.libpq)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT s.merchant_id FROM staff s JOIN users u ON u.id = s.user_id"
                    " WHERE u.email = %s",
                    (STAFF_EMAIL,),
                )
                mine = cur.fetchone()
                if mine is None:
                    cur.execute(
                        "INSERT INTO staff (merchant_id, user_id, role)"
                        " SELECT (SELECT merchant_id FROM members WHERE state = 'active'"
                        "   GROUP BY merchant_id ORDER BY count(*) DESC, merchant_id LIMIT 1),"
                        " id, 'owner' FROM users WHERE email = %s RETURNING merchant_id",
                        (STAFF_EMAIL,),
                    )
                    mine = cur.fetchone()
                self.staff_merchant = mine[0]
        finally:
            conn.close()
        tokens = _post(
            self.api_url + "/v1/auth/login", {"email": STAFF_EMAIL, "password": PASSWORD}
        )
        self.staff_token = tokens["access_token"]

    def check_rule_1(self) -> int:
        """Stock rows breaking rule 1 after the run (0 when the stock table is absent)."""
        conn = psycopg2.connect(**self.libpq)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('stock') IS NOT NULL")
                if not cur.fetchone()[0]:
                    return 0
                cur.execute(RULE_1_SQL)
                return cur.fetchone()[0]
        finally:
            conn.close()

    def describe(self) -> dict:
        return {
            "stores": self.stores,
            "cities": len(self.cities),
            "stock_rows": self.stock_rows,
            "seed": self.seed,
            "database": self.libpq.get("dbname"),
        }


RULE_1_SQL = """
SELECT count(*) FROM stock s
LEFT JOIN (
    SELECT ri.sku_id, r.store_id, sum(ri.qty) AS held
    FROM reservation_items ri JOIN reservations r ON r.id = ri.reservation_id
    WHERE r.state IN ('reserved', 'preparing', 'ready')
    GROUP BY ri.sku_id, r.store_id
) h ON h.sku_id = s.sku_id AND h.store_id = s.store_id
WHERE s.reserved <> coalesce(h.held, 0) OR s.reserved < 0 OR s.reserved > s.on_hand
"""


def _put(url: str, token: str) -> None:
    req = urllib.request.Request(url, method="PUT", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        if err.code == 409:
            return {}
        raise


def get(url: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), {}
