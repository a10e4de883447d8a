"""pgbench scripts for the write scenarios: the statements our reserve, cancel, order and claim
transactions send (app/pickup/reserving.py, app/coupons/claims.py: the same text with the
request's values filled in), with the random parts (public id, idempotency key, code hash) made
by SQL, one script per request. Like the API, a hold that finds too little stock (or a claim a
limit refuses) rolls back (our 409) and holds nothing."""

import psycopg2
from psycopg2.extensions import AsIs
from sqlalchemy.dialects.postgresql import psycopg2 as pg_psycopg2

from app.pickup import reserving
from app.pickup.models import ACTIVE_STATES

_DIALECT = pg_psycopg2.dialect()
RANDOM = AsIs("md5(random()::text)")
NOW = AsIs("now()")
# The bench server lifts the caps too (the no-show cap included).
CAPS = {
    "max_active": 1_000_000,
    "max_units": 1_000_000,
    "no_show_days": 30,
    "no_show_limit": 1_000_000,
    "max_after_no_shows": 1_000_000,
}


def _sql(cur, statement, params: dict) -> str:
    """A reserving statement with these values in its text (pgbench variables stay :name)."""
    text = str(statement.compile(dialect=_DIALECT))  # `:name` → `%(name)s`
    return cur.mogrify(text, params).decode().strip()


def _built_sql(cur, built: tuple, params: dict) -> str:
    """As _sql, for a statement built by prepared.compiled: (text, its constant values)."""
    statement, constants = built
    return _sql(cur, statement, {**constants, **params})


def _hold_and_insert(cur, user, store, lines, hold_for: str, key_id, body) -> tuple[str, str]:
    """The reservation engine's HOLD and INSERT (pgbench reads the hold's row as :hold_...)."""
    hold = _sql(
        cur,
        reserving.HOLD,
        {"store": store, "user": user, "active": list(ACTIVE_STATES), "at": NOW, **lines, **CAPS},
    )
    insert = _sql(
        cur,
        reserving.INSERT,
        {
            "public_id": AsIs("gen_random_uuid()"),
            "user": user,
            "store": store,
            "merchant": AsIs(":hold_merchant_id"),
            "code_hash": RANDOM,
            "expires_at": AsIs(f"now() + interval '{hold_for}'"),
            "at": NOW,
            "key_id": key_id,
            "body": body,
            **lines,
        },
    )
    return hold, insert


def _reserve(cur, user: int, store: int, sku: int, then: str) -> str:
    lines = {"skus": [sku], "qtys": [1]}
    claim = _sql(
        cur,
        reserving.CLAIM,
        {"user": user, "key": RANDOM, "digest": RANDOM, "scope": "pickup.reserve"},
    )
    hold, insert = _hold_and_insert(
        cur, user, store, lines, "2 hours", AsIs(":claim_key_id"), '{"state": "reserved"}'
    )
    return (
        f"BEGIN;\n{claim} \\gset claim_\n{hold} \\gset hold_\n\\if :hold_held\n"
        f"{insert} \\gset res_\nCOMMIT;\n{then}\\else\nROLLBACK;\n\\endif\n"
    )


def _cancel(cur, user: int) -> str:
    cancel = _sql(
        cur,
        reserving.CANCEL,
        {
            "public_id": AsIs("':res_public_id'"),  # pgbench's simple mode pastes the text
            "user": user,
            "reason": "Cancelled by shopper.",
            "active": list(ACTIVE_STATES),
            "at": NOW,
        },
    )
    return f"BEGIN;\n{cancel};\nCOMMIT;\n"


def _per_request(world, requests, script) -> list[str]:
    """`script(cur, user, req)` for the first 100 requests (pgbench takes at most 128 scripts),
    the i-th as the i-th bench shopper (as the scenarios hand out their tokens)."""
    conn = psycopg2.connect(**world.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE email LIKE 'bench-shopper-%' ORDER BY id")
            users = [r[0] for r in cur.fetchall()]
            return [script(cur, users[i % len(users)], req) for i, req in enumerate(requests[:100])]
    finally:
        conn.close()


def reserve_scripts(world, requests, *, cancel: bool) -> list[str]:
    """One script per request's (store, SKU): reserve (then cancel) as a shopper of the bench."""

    def script(cur, user, req) -> str:
        store, sku = req.body["store_id"], req.body["items"][0]["sku_id"]
        return _reserve(cur, user, store, sku, _cancel(cur, user) if cancel else "")

    return _per_request(world, requests, script)


def _emit(cur, event_type: str, merchant, key: str, data: str) -> str:
    from app.events.service import _EMIT  # the outbox's own statement

    params = {"merchant": merchant, "type": event_type, "key": key, "version": 1, "data": data}
    return _sql(cur, _EMIT, params) + ";"


def _order_create(cur, user: int, store: int, sku: int, *, shipping: bool, lat, lng) -> str:
    """The create transaction of POST /v1/orders (online): claim, [the dispatch's candidates],
    price, hold, the order row, its stored answer and its event (the intent is HTTP, not SQL)."""
    from app.inventory.availability import _FULL
    from app.pickup.reserving import CLAIM

    lines = {"skus": [sku], "qtys": [1]}
    claim = _sql(
        cur, CLAIM, {"user": user, "key": RANDOM, "digest": RANDOM, "scope": "orders.place"}
    )
    candidates = ""
    if shipping:
        merchant = AsIs(f"(SELECT merchant_id FROM skus WHERE id = {sku})")
        where = {"pt": f"SRID=4326;POINT({lng} {lat})", "radius": 50_000, "exclude": []}
        full = _sql(cur, _FULL, {"merchant": merchant, **where, **lines})
        candidates = f"SELECT id, merchant_id FROM skus WHERE id = {sku} AND is_active;\n{full};\n"
    hold, insert = _hold_and_insert(cur, user, store, lines, "15 minutes", None, None)
    fulfilment = "ship_from_store" if shipping else "pickup"
    delivery = f"jsonb_build_object('lat', {lat}, 'lng', {lng})" if shipping else "NULL"
    order = (
        "INSERT INTO orders (public_id, user_id, merchant_id, store_id, reservation_id,"
        " fulfilment, payment_method, payment_state, amount_cents, currency, intent_id,"
        " client_secret, delivery, unit_prices, created_at)"
        f" SELECT gen_random_uuid(), {user}, :hold_merchant_id, {store}, :res_id, '{fulfilment}',"
        " 'online', 'unpaid', price_cents, currency, 'pi_' || md5(random()::text),"
        f" md5(random()::text), {delivery}, jsonb_build_object('{sku}', price_cents), now()"
        f" FROM skus WHERE id = {sku} AND merchant_id = :hold_merchant_id AND is_active"
        " RETURNING id, public_id, intent_id"
    )
    answer = (
        'UPDATE idempotency_keys SET response_status = 201, response_body = \'{"state": '
        '"pending_payment"}\' WHERE id = :claim_key_id;'
    )
    event = _emit(cur, "order.created", AsIs(":hold_merchant_id"), "order:", '{"state": "x"}')
    event = event.replace("'order:'", "'order:' || ':ord_public_id'")
    return (
        f"BEGIN;\n{claim} \\gset claim_\n{candidates}"
        f"SELECT id, price_cents, currency FROM skus WHERE id = {sku} AND is_active;\n"
        f"{hold} \\gset hold_\n\\if :hold_held\n{insert} \\gset res_\n"
        "UPDATE reservations SET awaiting_payment = true WHERE id = :res_id;\n"
        f"{order} \\gset ord_\n{answer}\n{event}\nCOMMIT;\n"
    )


def _order_pay(cur, *, shipping: bool) -> str:
    """The pay call's transaction once the provider said succeeded: the order and its hold
    locked, paid, the hold kept for the pickup (or offered to the store), the event."""
    keep = "interval '15 minutes'" if shipping else "interval '120 minutes'"
    offer = (
        ", offers = offers || jsonb_build_array(jsonb_build_object('store_id', store_id,"
        " 'outcome', 'offered', 'at', now()))"
        if shipping
        else ""
    )
    event = _emit(cur, "order.paid", AsIs(":hold_merchant_id"), "order:", '{"state": "paid"}')
    event = event.replace("'order:'", "'order:' || ':ord_public_id'")
    return (
        "BEGIN;\n"
        "SELECT * FROM orders WHERE public_id = ':ord_public_id';\n"
        "SELECT * FROM orders WHERE intent_id = ':ord_intent_id' FOR UPDATE;\n"
        "SELECT * FROM reservations WHERE id = :res_id FOR UPDATE;\n"
        "SELECT pickup_hold_minutes FROM stores WHERE id = (SELECT store_id FROM reservations"
        " WHERE id = :res_id);\n"
        f"UPDATE orders SET payment_state = 'paid', paid_at = now(), updated_at = now(){offer}"
        " WHERE id = :ord_id;\n"
        f"UPDATE reservations SET awaiting_payment = false, expires_at = now() + {keep},"
        " updated_at = now() WHERE id = :res_id;\n"
        f"{event}\nCOMMIT;\n"
    )


def order_scripts(world, requests, *, shipping: bool) -> list[str]:
    """One script per request's (store, SKU): create the online order, then pay it (the order
    scenarios' create+pay pairs), as a shopper of the bench."""

    def script(cur, user, req) -> str:
        sku = req.body["items"][0]["sku_id"]
        where = req.body.get("delivery") or {}
        lat, lng = where.get("lat"), where.get("lng")
        store = req.body.get("store_id") or _nearest(cur, sku, lat, lng)
        create = _order_create(cur, user, store, sku, shipping=shipping, lat=lat, lng=lng)
        pay = _order_pay(cur, shipping=shipping)
        return create.replace("COMMIT;\n", "COMMIT;\n" + pay, 1) + "\\else\nROLLBACK;\n\\endif\n"

    return _per_request(world, requests, script)


def _nearest(cur, sku: int, lat, lng) -> int:
    """The store a web order for one unit of the SKU goes to (the dispatch's first candidate)."""
    cur.execute(
        "SELECT s.id FROM stores s JOIN stock k ON k.store_id = s.id AND k.sku_id = %s"
        " AND k.channel = 'shared' AND k.on_hand - k.reserved >= 1"
        " WHERE s.is_active AND s.pickup_enabled"
        " ORDER BY s.location <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT 1",
        (sku, lng, lat),
    )
    return cur.fetchone()[0]


def _claim(cur, user: int, campaign: int, kind: str, lat, lng) -> str:
    """The claim's transaction (POST /v1/coupon-campaigns/<id>/claim with a key): the key,
    TAKE, COUNT, the coupon.claimed event and the stored answer (app/coupons/claims.py,
    app/idempotency.py); a claim TAKE or COUNT refuses rolls back (our 409)."""
    from app import idempotency
    from app.coupons import claims

    def var(name: str, type_: str) -> AsIs:  # a TAKE column, NULL when pgbench's copy is empty
        return AsIs(f"NULLIF(':take_{name}', '')::{type_}")  # pasted into the quotes

    key = _sql(
        cur,
        idempotency.CLAIM,
        {"user": user, "scope": "coupons.claim", "key": RANDOM, "digest": RANDOM},
    )
    take = _built_sql(
        cur,
        claims._take_statement(),
        {
            "campaign": campaign,
            "user": user,
            "here": None if lat is None else f"SRID=4326;POINT({lng} {lat})",
            "allowance": 0,
            "u": AsIs("random()"),
        },
    )
    count = _built_sql(
        cur,
        claims._count_statement(),
        {
            "campaign": campaign,
            "user": user,
            "per_user_limit": AsIs(":take_took_per_user_limit"),
            "quota": var("took_daily_quota_per_store", "int"),
            "store": var("store_id", "bigint"),
            "timezone": var("store_timezone", "text"),
            "merchant": AsIs(":take_took_merchant_id"),
            "code": AsIs("upper(substr(md5(random()::text), 1, 19))"),
            "amount": AsIs(":take_draw")
            if kind == "red_packet"
            else var("took_value_cents", "int"),
            "valid_from": var("took_valid_from", "timestamptz"),
            "valid_to": var("took_valid_to", "timestamptz"),
            "days": var("took_valid_days_after_claim", "int"),
        },
    )
    event = _emit(
        cur, "coupon.claimed", AsIs(":take_took_merchant_id"), "coupon:", '{"state": "unused"}'
    )
    event = event.replace("'coupon:'", "'coupon:' || :count_id")
    answer = _sql(
        cur,
        idempotency.REMEMBER,
        {"id": AsIs(":key_id"), "status": 201, "body": '{"state": "unused"}'},
    )
    return (
        f"BEGIN;\n{key} \\gset key_\n{take} \\gset take_\n\\if :take_took\n"
        f"{count} \\gset count_\n\\if :count_user_ok\n{event}\n{answer};\nCOMMIT;\n"
        "\\else\nROLLBACK;\n\\endif\n\\else\nROLLBACK;\n\\endif\n"
    )


def claim_scripts(world, requests) -> list[str]:
    """One script per request's (shopper, campaign[, position]): the claim as the API sends it."""

    def script(cur, user, req) -> str:
        campaign = int(req.path.split("/")[3])
        cur.execute("SELECT kind FROM coupon_campaigns WHERE id = %s", (campaign,))
        body = req.body or {}
        return _claim(cur, user, campaign, cur.fetchone()[0], body.get("lat"), body.get("lng"))

    return _per_request(world, requests, script)
