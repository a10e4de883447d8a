"""pgbench scripts for the reservation scenarios: the statements our reserve and cancel
transactions send (app/pickup/reserving.py, the same text with the request's values filled in),
with the random parts (public id, idempotency key, code hash) made by SQL, one script per
(shopper, store, SKU). Like the API, a hold that finds too little stock rolls back (our 409) and
holds nothing."""

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


def _reserve(cur, user: int, store: int, sku: int, then: str) -> str:
    lines = {"skus": [sku], "qtys": [1]}
    claim = _sql(
        cur,
        reserving.CLAIM,
        {"user": user, "key": RANDOM, "digest": RANDOM, "scope": "pickup.reserve"},
    )
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
            "expires_at": AsIs("now() + interval '2 hours'"),
            "at": NOW,
            "key_id": AsIs(":claim_key_id"),
            "body": '{"state": "reserved"}',
            **lines,
        },
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


def reserve_scripts(world, requests, *, cancel: bool) -> list[str]:
    """One script per request's (store, SKU): reserve (then cancel) as a shopper of the bench."""
    conn = psycopg2.connect(**world.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE email LIKE 'bench-shopper-%' ORDER BY id")
            users = [r[0] for r in cur.fetchall()]
            scripts = []
            for i, req in enumerate(requests[:100]):
                store, sku = req.body["store_id"], req.body["items"][0]["sku_id"]
                user = users[i % len(users)]
                then = _cancel(cur, user) if cancel else ""
                scripts.append(_reserve(cur, user, store, sku, then))
            return scripts
    finally:
        conn.close()
