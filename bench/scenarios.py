"""What the benchmark asks: each scenario prepares its requests (and the SQL our code sends for
them, captured from the real code path, for pgbench)."""

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2

from bench.world import SECRET_KEY, World, get

READ_OK = frozenset({200})
# pgbench's protocol for the write scripts (bench/writes.py, captured_fresh_sql): they paste
# pgbench variables into quoted SQL text, which only the simple protocol does. Every other SQL
# ceiling runs prepared (planned once per connection), as the API's statements are.
SIMPLE = "simple"


@dataclass
class Req:
    method: str
    path: str
    body: dict | None = None
    token: str | None = None
    header: str | None = None

    def line(self) -> str:
        body = json.dumps(self.body, separators=(",", ":")) if self.body is not None else "-"
        return f"{self.method}\t{self.path}\t{body}\t{self.token or '-'}\t{self.header or '-'}\n"


@dataclass
class Scenario:
    name: str
    requests: Callable[[World], list[Req]]
    reference: bool = False  # the reference app serves the same path
    sql: Callable[[World], list[str]] | None = None
    chain: bool = False
    ok_statuses: frozenset = field(default=READ_OK)
    # chain: what follows each 201 with an "id" (path with {id}, body); the default cancels.
    chain_then: tuple[str, str] | None = None
    payments: bool = False  # the API needs the payment provider (the Stripe stand-in)
    # walk: the replay takes the requests in order (each wrk thread its own share) instead of at
    # random, so a request that may be sent only once (a first vote) is not sent twice.
    walk: bool = False


def _q(path: str, **params) -> str:
    return f"{path}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"


def nearby_requests(w: World) -> list[Req]:
    return [
        Req("GET", _q("/v1/stores/nearby", lat=lat, lng=lng))
        for lat, lng in w.points(2000, "nearby")
    ]


def nearby_filtered_requests(w: World) -> list[Req]:
    rng = w.rng("nearby-open")
    return [
        Req(
            "GET",
            _q(
                "/v1/stores/nearby",
                lat=lat,
                lng=lng,
                open_now="true",
                pickup="true",
                radius_m=rng.choice([2000, 5000, 10000]),
            ),
        )
        for lat, lng in w.points(2000, "nearby-open")
    ]


def map_requests(w: World) -> list[Req]:
    rng = w.rng("map")
    out = []
    for lat, lng in w.points(2000, "map", spread_m=3000):
        half_w, half_h = rng.choice([(0.02, 0.015), (0.04, 0.03), (0.08, 0.06)])
        bbox = f"{lng - half_w:.5f},{lat - half_h:.5f},{lng + half_w:.5f},{lat + half_h:.5f}"
        out.append(Req("GET", _q("/v1/stores/map", bbox=bbox)))
    return out


def detail_requests(w: World) -> list[Req]:
    """Store detail revalidated with the ETag a phone would hold (mostly 304s)."""
    out = []
    for store_id in w.store_ids[:500]:
        status, headers, _ = get(f"{w.api_url}/v1/stores/{store_id}")
        etag = headers.get("ETag")
        if status == 200 and etag:
            out.append(Req("GET", f"/v1/stores/{store_id}", header=f"If-None-Match: {etag}"))
    return out


def stock_nearby_requests(w: World) -> list[Req]:
    rng = w.rng("stock")
    return [
        Req("GET", _q(f"/v1/skus/{rng.choice(w.sku_ids)}/nearby", lat=lat, lng=lng))
        for lat, lng in w.points(2000, "stock")
    ]


def store_cards_requests(w: World) -> list[Req]:
    """Map pins with a SKU's stock, as the shopper app asks for them (half with a SKU)."""
    rng = w.rng("cards")
    reqs = []
    for i, (lat, lng) in enumerate(w.points(2000, "cards")):
        sku = {"sku_id": int(rng.choice(w.sku_ids))} if i % 2 else {}
        reqs.append(Req("GET", _q("/v1/stores/cards", lat=lat, lng=lng, **sku)))
    return reqs


def _carts(w: World, n: int, salt: str, lines: int) -> list[tuple[float, float, int, list]]:
    """Points with a pickup store nearby and SKUs it holds as shared stock."""
    conn = psycopg2.connect(**w.libpq)
    out = []
    try:
        with conn.cursor() as cur:
            for lat, lng in w.points(n, salt):
                cur.execute(
                    """
                    SELECT s.id, array_agg(k.sku_id ORDER BY k.sku_id)
                    FROM (SELECT id FROM stores WHERE is_active AND pickup_enabled
                          ORDER BY location <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography
                          LIMIT 1) s
                    JOIN LATERAL (SELECT sku_id FROM stock WHERE store_id = s.id
                                  AND channel = 'shared' AND on_hand - reserved >= 3
                                  LIMIT %s) k ON true
                    GROUP BY s.id""",
                    (lng, lat, lines),
                )
                row = cur.fetchone()
                if row and len(row[1]) == lines:
                    out.append((lat, lng, row[0], row[1]))
    finally:
        conn.close()
    return out


def quote_requests(w: World) -> list[Req]:
    return [
        Req(
            "POST",
            "/v1/pickup/quote",
            {"lat": lat, "lng": lng, "items": [{"sku_id": s, "qty": 1} for s in skus]},
        )
        for lat, lng, _, skus in _carts(w, 400, "quote", 3)
    ]


def reserve_cancel_requests(w: World) -> list[Req]:
    return [
        Req(
            "POST",
            "/v1/reservations",
            {"store_id": store, "items": [{"sku_id": skus[0], "qty": 1}]},
            header="Idempotency-Key: *",
        )
        for _, _, store, skus in _carts(w, 600, "reserve", 1)
    ]


def reserve_hot_requests(w: World) -> list[Req]:
    _, _, store, skus = _carts(w, 1, "hot", 1)[0]
    return [
        Req(
            "POST",
            "/v1/reservations",
            {"store_id": store, "items": [{"sku_id": skus[0], "qty": 1}]},
            token=w.tokens[i % len(w.tokens)],
            header="Idempotency-Key: *",
        )
        for i in range(64)
    ]


def _online(w: World, store_ids: set[int]) -> None:
    """These stores take online payment for orders (the seeded world's do not yet)."""
    conn = psycopg2.connect(**w.libpq)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE stores SET pay_online = true WHERE id = ANY(%s) AND NOT pay_online",
                (sorted(store_ids),),
            )
    finally:
        conn.close()


PAY = ("/v1/orders/{id}/pay", '{"payment_method":"pm_card_visa"}')


def order_pay_requests(w: World) -> list[Req]:
    """Online-paid pickup orders, each followed (chain) by the shopper's pay call: the hold,
    the payment intent, then the confirmation and the paid hold (the provider's webhook, when
    it comes, finds the order paid)."""
    carts = _carts(w, 600, "order", 1)
    _online(w, {store for _, _, store, _ in carts})
    return [
        Req(
            "POST",
            "/v1/orders",
            {
                "store_id": store,
                "items": [{"sku_id": skus[0], "qty": 1}],
                "payment_method": "online",
            },
            header="Idempotency-Key: *",
        )
        for _, _, store, skus in carts
    ]


def dispatch_requests(w: World) -> list[Req]:
    """Web orders shipped from the nearest store holding the cart, paid (chain): the quote's
    candidates, the hold there, the intent, then the payment that offers it to that store."""
    carts = _carts(w, 600, "dispatch", 1)
    _online(w, {store for _, _, store, _ in carts})
    return [
        Req(
            "POST",
            "/v1/orders",
            {
                "fulfilment": "ship_from_store",
                "delivery": {
                    "name": "Bench shopper",
                    "address": "1 Bench Road",
                    "city": "Bench",
                    "lat": round(lat, 6),
                    "lng": round(lng, 6),
                },
                "items": [{"sku_id": skus[0], "qty": 1}],
                "payment_method": "online",
            },
            header="Idempotency-Key: *",
        )
        for lat, lng, _, skus in carts
    ]


def feed_nearby_requests(w: World) -> list[Req]:
    """The feed of signed-in shoppers who follow nobody yet: its nearby and city parts."""
    return [
        Req("GET", _q("/v1/feed", lat=lat, lng=lng), token=w.tokens[i % len(w.tokens)])
        for i, (lat, lng) in enumerate(w.points(2000, "feed"))
    ]


def _feed_following(sort: str):
    def requests(w: World) -> list[Req]:
        """The feed of signed-in shoppers who follow merchants: followed, nearby and city parts."""
        return [
            Req(
                "GET",
                _q("/v1/feed", lat=lat, lng=lng, sort=sort),
                token=w.follower_tokens[i % len(w.follower_tokens)],
            )
            for i, (lat, lng) in enumerate(w.points(2000, f"feed-{sort}"))
        ]

    return requests


feed_following_requests = _feed_following("latest")
feed_hot_requests = _feed_following("hot")


def _live_post_ids(w: World, n: int) -> list[int]:
    conn = psycopg2.connect(**w.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute(
                # Segment-targeted posts are 404 to the bench shoppers (in none of the segments).
                "SELECT id FROM posts WHERE state = 'published' AND publish_at <= now()"
                " AND cardinality(segment_ids) = 0 ORDER BY random() LIMIT %s",
                (n,),
            )
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def like_requests(w: World) -> list[Req]:
    """Likes of random live posts (liking again is a no-op answered 200)."""
    posts = _live_post_ids(w, 500)
    return [
        Req("PUT", f"/v1/posts/{posts[i % len(posts)]}/like", token=w.tokens[i % len(w.tokens)])
        for i in range(2000)
    ]


def coupons_nearby_requests(w: World) -> list[Req]:
    return [
        Req("GET", _q("/v1/coupons/nearby", lat=lat, lng=lng))
        for lat, lng in w.points(2000, "coupons")
    ]


def _campaign_stores(w: World, n: int) -> list[tuple[int, bool, float, float]]:
    """Open campaigns with a store of theirs: id, whether a claim needs a position, lat, lng."""
    conn = psycopg2.connect(**w.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT c.id, c.geofence_radius_m IS NOT NULL OR c.daily_quota_per_store IS NOT NULL,
                       ST_Y(s.location::geometry), ST_X(s.location::geometry)
                FROM (SELECT * FROM coupon_campaigns WHERE state = 'active'
                        AND claim_starts_at <= now() AND claim_ends_at > now()
                      ORDER BY hashint8(id) LIMIT %s) c
                CROSS JOIN LATERAL (SELECT location FROM stores
                                    WHERE merchant_id = c.merchant_id AND is_active
                                      AND (c.store_ids IS NULL OR id = ANY (c.store_ids))
                                    ORDER BY id LIMIT 1) s""",
                (n,),
            )
            return cur.fetchall()
    finally:
        conn.close()


def claim_requests(w: World) -> list[Req]:
    """Claims by signed-in shoppers, at the campaign's store when it is geo-fenced (or has a daily
    quota per store); sold out and limit reached are 409s, correct answers too."""
    campaigns = _campaign_stores(w, 200)
    out = []
    for i in range(2000):
        campaign_id, positioned, lat, lng = campaigns[i % len(campaigns)]
        body = {"lat": round(lat, 6), "lng": round(lng, 6)} if positioned else {}
        out.append(
            Req(
                "POST",
                f"/v1/coupon-campaigns/{campaign_id}/claim",
                body,
                token=w.tokens[i % len(w.tokens)],
                header="Idempotency-Key: *",
            )
        )
    return out


def shake_requests(w: World) -> list[Req]:
    """Shakes by signed-in shoppers standing at a store of a merchant with open campaigns (a
    coupon, or "nothing this time" once their limits are reached: both 200)."""
    campaigns = _campaign_stores(w, 200)
    out = []
    for i in range(2000):
        _, _, lat, lng = campaigns[i % len(campaigns)]
        body = {"lat": round(lat, 6), "lng": round(lng, 6), "accuracy_m": 20}
        out.append(Req("POST", "/v1/shake", body, token=w.tokens[i % len(w.tokens)]))
    return out


VOTERS = 100_000  # shoppers that only vote: a fresh (voter, poll) pair per vote, API and SQL
CAPTURE_VOTER = 9_000_000_000_000  # an id no other number in the captured SQL can be


def _access_tokens(user_ids: list[int]) -> list[str]:
    """Access tokens as the bench server makes them (same key), valid for an hour."""
    from datetime import timedelta

    from flask import Flask
    from flask_jwt_extended import JWTManager, create_access_token

    app = Flask("bench-tokens")
    app.config.update(JWT_SECRET_KEY=SECRET_KEY, JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=1))
    JWTManager(app)
    with app.app_context():
        return [create_access_token(identity=str(u)) for u in user_ids]


def _voters(w: World, n: int) -> tuple[list[int], list[tuple[int, int]]]:
    """n voters that have not voted yet (VOTERS of them made in SQL once: nobody signs in as
    them) and the live untargeted polls with their first option: ([voter ids], [(post, option)])."""
    conn = psycopg2.connect(**w.libpq)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO users (id, email, password_hash, display_name) VALUES"
                " (%s, 'bench-capture-voter@bench.shopnear.test', '!', 'Capture voter')"
                " ON CONFLICT DO NOTHING",
                (CAPTURE_VOTER,),
            )
            cur.execute("SELECT count(*) FROM users WHERE email LIKE 'bench-voter-%%'")
            have = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO users (email, password_hash, display_name)"
                " SELECT 'bench-voter-' || g || '@bench.shopnear.test', '!', 'Voter ' || g"
                " FROM generate_series(%s + 1, %s) g",
                (have, VOTERS),
            )
            cur.execute(
                "SELECT u.id FROM users u WHERE u.email LIKE 'bench-voter-%%' AND NOT EXISTS"
                " (SELECT 1 FROM poll_votes v WHERE v.user_id = u.id) ORDER BY u.id LIMIT %s",
                (n,),
            )
            voters = [r[0] for r in cur.fetchall()]
            cur.execute(
                "SELECT p.id, (SELECT min(o.id) FROM poll_options o WHERE o.post_id = p.id)"
                " FROM posts p WHERE p.kind = 'poll' AND p.state = 'published'"
                " AND p.publish_at <= now() AND cardinality(p.segment_ids) = 0"
                " AND (p.poll_closes_at IS NULL OR p.poll_closes_at > now() + interval '1 hour')"
                " ORDER BY hashint8(p.id)"
            )
            return voters, cur.fetchall()
    finally:
        conn.close()


def vote_requests(w: World) -> list[Req]:
    """Votes, each a voter's first in that poll (votes are final: a repeat is a 409). The
    replay walks the list in order (Scenario.walk), so no pair comes twice in a run."""
    voters, polls = _voters(w, 16)
    tokens = _access_tokens(voters)
    return [
        Req(
            "POST",
            f"/v1/posts/{polls[i % len(polls)][0]}/votes",
            {"option_ids": [polls[i % len(polls)][1]]},
            token=tokens[i % len(tokens)],
        )
        for i in range(min(40_000, len(voters) * len(polls)))
    ]


def vote_sql(w: World) -> list[str]:
    """The SQL our code sends for a vote, captured as one voter's first vote in 100 polls, with
    that voter replaced by one drawn per transaction from the VOTERS (pgbench's random)."""
    from bench.capture import capture

    _, polls = _voters(w, 0)
    conn = psycopg2.connect(**w.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT min(id), max(id), count(*) FROM users WHERE email LIKE 'bench-voter-%'")
        low, high, n = cur.fetchone()
        assert high - low + 1 == n, "the voters' ids are not one range"
        cur.execute("DELETE FROM poll_votes WHERE user_id = %s", (CAPTURE_VOTER,))
    conn.close()
    [token] = _access_tokens([CAPTURE_VOTER])
    reqs = [
        Req("POST", f"/v1/posts/{post}/votes", {"option_ids": [option]}, token=token)
        for post, option in polls[:100]
    ]
    return [
        f"\\set voter random({low}, {high})\n" + s.replace(str(CAPTURE_VOTER), ":voter")
        for s in capture(w, reqs)
    ]


def _members(w: World, n: int) -> list[tuple[int, int, str]]:
    """Active members of the bench staff's merchant, each with one of its stores (drawn by the
    member's id) and the program's currency: (member id, store id, currency)."""
    w.sign_in_staff()
    conn = psycopg2.connect(**w.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT m.id, s.id, p.currency
                FROM (SELECT id, merchant_id FROM members WHERE merchant_id = %(m)s
                        AND state = 'active' ORDER BY hashint8(id) LIMIT %(n)s) m
                JOIN membership_programs p ON p.merchant_id = m.merchant_id
                CROSS JOIN LATERAL (SELECT id FROM stores WHERE merchant_id = m.merchant_id
                                      AND is_active ORDER BY hashint8(id # m.id) LIMIT 1) s""",
                {"m": w.staff_merchant, "n": n},
            )
            return cur.fetchall()
    finally:
        conn.close()


def _member_codes(member_ids: list[int]) -> list[str]:
    """Member codes as the app makes them (same key as the bench server), valid for an hour:
    the seeded members' phones are not there to show theirs."""
    from datetime import UTC, datetime

    from flask import Flask

    from app.members import codes

    app = Flask("bench-codes")
    app.config.update(SECRET_KEY=SECRET_KEY, MEMBER_CODE_SECONDS=3600)
    with app.app_context():
        return [codes.issue(member_id=m, at=datetime.now(UTC))[0] for m in member_ids]


def member_resolve_requests(w: World) -> list[Req]:
    """The till scans a member's code: who it is, tier, points, coupons and pickups there."""
    members = _members(w, 500)
    codes = _member_codes([m for m, _, _ in members])
    return [
        Req(
            "POST",
            f"/v1/admin/stores/{store}/members:resolve",
            {"code": code},
            token=w.staff_token,
        )
        for (_, store, _), code in zip(members, codes, strict=True)
    ]


def receipt_requests(w: World) -> list[Req]:
    """Till receipts of members, each a new reference (@FRESH@: the replay script fills in
    the request's fresh Idempotency-Key), so each earns points."""
    rng = w.rng("receipt")
    members = _members(w, 500)
    return [
        Req(
            "POST",
            f"/v1/admin/stores/{store}/members/{member}/receipts",
            {"receipt_ref": "@FRESH@", "total_cents": rng.randint(500, 50_000), "currency": cur},
            token=w.staff_token,
            header="Idempotency-Key: *",
        )
        for member, store, cur in (members[i % len(members)] for i in range(2000))
    ]


def written_sql(requests: Callable[[World], list[Req]], script: str, **options):
    """A write scenario's transactions as raw SQL, for pgbench: bench/writes.py's `script`
    builder (reserve_scripts, order_scripts, claim_scripts) over the scenario's requests."""

    def sql(w: World) -> list[str]:
        from bench import writes

        return getattr(writes, script)(w, requests(w), **options)

    sql.protocol = SIMPLE
    return sql


def captured_sql(requests: Callable[[World], list[Req]], n: int = 100, *, again: bool = False):
    """The SQL our code sends for the first n requests, captured from the real code path. With
    `again`, the requests run once before they are captured: an idempotent write (a like) is
    captured as the API's run mostly answers it, a repeat that changes nothing."""

    def sql(w: World) -> list[str]:
        from bench.capture import capture

        reqs = requests(w)[:n]
        if again:
            capture(w, reqs)
        return capture(w, reqs)

    return sql


def captured_fresh_sql(requests: Callable[[World], list[Req]], n: int = 100):
    """As captured_sql, for writes that must be new each time (a receipt reference): the
    captured value becomes `pg-<client>-<random>` drawn by pgbench per transaction."""

    def sql(w: World) -> list[str]:
        import uuid

        from bench.capture import capture

        reqs = requests(w)[:n]
        marks = []
        for req in reqs:
            marks.append(f"capture{uuid.uuid4().hex}")
            req.body = {k: marks[-1] if v == "@FRESH@" else v for k, v in (req.body or {}).items()}
        scripts = capture(w, reqs)
        out = []
        for script in scripts:
            for mark in marks:
                script = script.replace(mark, "pg-:client_id-:ref")
            out.append("\\set ref random(1, 1000000000000)\n" + script)
        return out

    sql.protocol = SIMPLE
    return sql


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("nearby", nearby_requests, reference=True, sql=captured_sql(nearby_requests)),
        Scenario(
            "nearby_open_pickup",
            nearby_filtered_requests,
            reference=True,
            sql=captured_sql(nearby_filtered_requests),
        ),
        Scenario("map", map_requests, reference=True, sql=captured_sql(map_requests)),
        Scenario(
            "store_detail_304",
            detail_requests,
            reference=True,
            sql=captured_sql(detail_requests),
            ok_statuses=frozenset({200, 304}),
        ),
        Scenario(
            "stock_nearby",
            stock_nearby_requests,
            reference=True,
            sql=captured_sql(stock_nearby_requests),
        ),
        Scenario("quote", quote_requests, sql=captured_sql(quote_requests)),
        Scenario(
            "reserve_cancel",
            reserve_cancel_requests,
            chain=True,
            sql=written_sql(reserve_cancel_requests, "reserve_scripts", cancel=True),
            ok_statuses=frozenset({200, 201}),
        ),
        Scenario(
            "reserve_hot",
            reserve_hot_requests,
            sql=written_sql(reserve_hot_requests, "reserve_scripts", cancel=False),
            ok_statuses=frozenset({201, 409}),
        ),
        Scenario(
            "order_pay",
            order_pay_requests,
            chain=True,
            chain_then=PAY,
            payments=True,
            sql=written_sql(order_pay_requests, "order_scripts", shipping=False),
            ok_statuses=frozenset({200, 201, 409}),  # 409: the cart's units are all held
        ),
        Scenario(
            "dispatch",
            dispatch_requests,
            chain=True,
            chain_then=PAY,
            payments=True,
            sql=written_sql(dispatch_requests, "order_scripts", shipping=True),
            ok_statuses=frozenset({200, 201, 409}),
        ),
        Scenario("feed_nearby", feed_nearby_requests, sql=captured_sql(feed_nearby_requests)),
        Scenario(
            "feed_following", feed_following_requests, sql=captured_sql(feed_following_requests)
        ),
        Scenario("feed_hot", feed_hot_requests, sql=captured_sql(feed_hot_requests)),
        Scenario("like", like_requests, sql=captured_sql(like_requests, again=True)),
        Scenario(
            "coupons_nearby", coupons_nearby_requests, sql=captured_sql(coupons_nearby_requests)
        ),
        Scenario(
            "claim",
            claim_requests,
            sql=written_sql(claim_requests, "claim_scripts"),
            ok_statuses=frozenset({201, 409}),
        ),
        Scenario("vote", vote_requests, sql=vote_sql, walk=True, ok_statuses=frozenset({201})),
        Scenario("shake", shake_requests),
        Scenario("store_cards", store_cards_requests, sql=captured_sql(store_cards_requests)),
        Scenario(
            "member_resolve", member_resolve_requests, sql=captured_sql(member_resolve_requests)
        ),
        Scenario(
            "receipt",
            receipt_requests,
            sql=captured_fresh_sql(receipt_requests),
            ok_statuses=frozenset({201}),
        ),
    ]
}
