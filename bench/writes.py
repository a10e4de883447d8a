"""pgbench scripts for the reservation scenarios: the statements our reserve and cancel
transactions send (captured from app/pickup, see docs/PERFORMANCE.md), with the random parts
(public id, idempotency key, code hash) made by SQL, one script per (shopper, store, SKU).
Like the API, a hold that finds too little stock rolls back (our 409) and holds nothing."""

import psycopg2

RESERVE = r"""BEGIN;
INSERT INTO idempotency_keys (user_id, scope, key, request_hash)
  VALUES ({user}, 'pickup.reserve', md5(random()::text), md5(random()::text))
  ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id \gset key_
SELECT id, merchant_id, code, name, address, city, ST_AsBinary(location), timezone, phone,
  pickup_enabled, pickup_hold_minutes, is_active, hours, open_minutes, created_at, updated_at
  FROM stores WHERE id = {store};
SELECT id, merchant_id FROM skus WHERE id IN ({sku}) AND is_active;
SELECT pg_advisory_xact_lock(hashtextextended('pickup.user:' || {user}, 0));
SELECT count(*) FROM reservations WHERE user_id = {user} AND state IN ('reserved', 'ready')
  AND expires_at > now();
SELECT ri.sku_id, sum(ri.qty) FROM reservation_items ri JOIN reservations r
  ON r.id = ri.reservation_id WHERE r.user_id = {user} AND r.state IN ('reserved', 'ready')
  AND r.expires_at > now() AND ri.sku_id IN ({sku}) GROUP BY ri.sku_id;
SELECT store_id, sku_id, channel, on_hand, reserved FROM stock WHERE (store_id, sku_id) IN
  (SELECT * FROM unnest(CAST(ARRAY[{store}] AS bigint[]), CAST(ARRAY[{sku}] AS bigint[])))
  ORDER BY store_id, sku_id FOR NO KEY UPDATE;
WITH held AS (UPDATE stock SET reserved = reserved + r.qty
  FROM unnest(CAST(ARRAY[{sku}] AS bigint[]), CAST(ARRAY[1] AS int[])) AS r(sku_id, qty)
  WHERE stock.store_id = {store} AND stock.sku_id = r.sku_id AND stock.channel = 'shared'
  AND stock.on_hand - stock.reserved >= r.qty RETURNING 1)
  SELECT count(*) AS held FROM held \gset
\if :held
INSERT INTO reservations (public_id, user_id, store_id, merchant_id, state, pickup_code_hash,
  failed_code_attempts, expires_at, created_at) VALUES (gen_random_uuid(), {user}, {store},
  {merchant}, 'reserved', '', 0, now() + interval '2 hours', now()) RETURNING id \gset res_
INSERT INTO reservation_items (reservation_id, sku_id, qty) VALUES (:res_id, {sku}, 1);
UPDATE idempotency_keys SET response_status = 201, response_body = '{{"state": "reserved"}}'
  WHERE id = :key_id;
UPDATE reservations SET pickup_code_hash = md5(random()::text), updated_at = now()
  WHERE id = :res_id;
COMMIT;
{then}\else
ROLLBACK;
\endif
"""

CANCEL = r"""BEGIN;
SELECT id, public_id, user_id, store_id, merchant_id, state, pickup_code_hash, expires_at
  FROM reservations WHERE id = :res_id AND user_id = {user} FOR UPDATE;
SELECT reservation_id, sku_id, qty FROM reservation_items WHERE reservation_id IN (:res_id)
  ORDER BY sku_id;
SELECT store_id, sku_id, channel, on_hand, reserved FROM stock WHERE (store_id, sku_id) IN
  (SELECT * FROM unnest(CAST(ARRAY[{store}] AS bigint[]), CAST(ARRAY[{sku}] AS bigint[])))
  ORDER BY store_id, sku_id FOR NO KEY UPDATE;
UPDATE stock SET reserved = reserved - 1 WHERE store_id = {store} AND sku_id = {sku};
UPDATE reservations SET state = 'cancelled', closed_at = now(), closed_by_user_id = {user},
  close_reason = 'Cancelled by shopper.', updated_at = now() WHERE id = :res_id;
COMMIT;
"""


def _user_ids(world) -> list[int]:
    conn = psycopg2.connect(**world.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE email LIKE 'bench-shopper-%' ORDER BY id")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def _merchant(world, store: int) -> int:
    conn = psycopg2.connect(**world.libpq)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT merchant_id FROM stores WHERE id = %s", (store,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def reserve_scripts(world, requests, *, cancel: bool) -> list[str]:
    """One script per request's (store, SKU): reserve (then cancel) as a shopper of the bench."""
    users = _user_ids(world)
    scripts = []
    for i, req in enumerate(requests[:100]):
        store, sku = req.body["store_id"], req.body["items"][0]["sku_id"]
        values = {
            "user": users[i % len(users)],
            "store": store,
            "sku": sku,
            "merchant": _merchant(world, store),
        }
        then = CANCEL.format(**values) if cancel else ""
        scripts.append(RESERVE.format(then=then, **values))
    return scripts
