"""Catalog and stock of the generated world, built inside PostgreSQL after the stores.

Per merchant: products of 4 SKUs each, 50 SKUs for merchants of up to 3 stores and 200 for
chains (the full world: ~3 M SKUs for ~55 000 merchants). Per store: ~50 SKUs of its merchant
(all of them in the demo), each with channel shared 60 % / offline-only 25 % / online-only 15 %
and 0-34 units, ~15 % sold out. Rows are made by INSERT ... SELECT over generate_series rather
than COPY: the data never leaves the server, which beats streaming 9 M CSV rows from Python.
Deterministic from the seed (hashint8extended), so the same seed gives the same world.
"""

from app.seeding import EXTRA_STEPS, analyze_written, keys_built_after

TABLES = ("products", "skus", "stock", "stock_changes")
STOCK_PER_STORE = 50
DEMO_PRODUCTS = 6
VARIANTS = 4
STORES_PER_CHUNK = 20_000

NOUNS = (
    "Tea", "Coffee", "Bread", "Milk", "Juice", "Soap", "Shampoo", "Notebook", "Socks", "T-shirt",
    "Cookies", "Rice", "Noodles", "Chocolate", "Water", "Vitamins", "Umbrella", "Charger",
    "Candle", "Towel",
)  # fmt: skip
ADJECTIVES = (
    "Classic", "Organic", "Premium", "Everyday", "Mini", "Family", "Fresh", "Spicy", "Light",
    "Original", "Limited", "Eco",
)  # fmt: skip
SIZES = ("S", "M", "L", "XL")


def _sql_array(words) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


_MERCHANTS = """
CREATE TEMP TABLE seed_catalog_merchants ON COMMIT DROP AS
SELECT merchant_id, CASE WHEN %(demo)s THEN %(demo_products)s
                         WHEN count(*) <= 3 THEN 52 / %(variants)s ELSE 200 / %(variants)s END
       AS n_products
FROM stores GROUP BY merchant_id
"""
_PRODUCTS = f"""
INSERT INTO products (merchant_id, title, description)
SELECT m.merchant_id,
       ({_sql_array(ADJECTIVES)})[1 + (hashint8extended(m.merchant_id * 1000 + g, %(seed)s)
                                      & 1048575) %% {len(ADJECTIVES)}]
       || ' ' || ({_sql_array(NOUNS)})[1 + (m.merchant_id + g) %% {len(NOUNS)}] || ' ' || g,
       'Generated product'
FROM seed_catalog_merchants m CROSS JOIN generate_series(1, m.n_products) g
ORDER BY m.merchant_id, g
"""
_SKUS = f"""
INSERT INTO skus (merchant_id, product_id, code, title, price_cents, currency)
SELECT p.merchant_id, p.id, 'P' || p.id || '-' || v, ({_sql_array(SIZES)})[v],
       100 * (1 + (hashint8extended(p.id * 8 + v, %(seed)s) & 1048575) %% 50) + 99, 'USD'
FROM products p JOIN seed_catalog_merchants m USING (merchant_id)
CROSS JOIN generate_series(1, %(variants)s) v
ORDER BY p.id, v
"""
_SKU_LISTS = """
CREATE TEMP TABLE seed_catalog_skus ON COMMIT DROP AS
SELECT merchant_id, array_agg(id ORDER BY id) AS ids
FROM skus JOIN seed_catalog_merchants USING (merchant_id) GROUP BY merchant_id
"""
# ~50 consecutive SKUs (wrapping) of the merchant's list from a per-store start: distinct ones.
# The opening balance goes to the ledger (rule 9) in the same statement, as the ledger trigger
# would write it (reason 'seed', no events), with that trigger off for the load.
_STOCK = """
WITH loaded AS (
INSERT INTO stock (store_id, sku_id, merchant_id, channel, on_hand)
SELECT s.id, l.ids[1 + (c.start + g) %% c.n], s.merchant_id,
       CASE WHEN x.h %% 100 < 60 THEN 'shared' WHEN x.h %% 100 < 85 THEN 'offline_only'
            ELSE 'online_only' END,
       GREATEST(0, (x.h / 100) %% 40 - 5)
FROM stores s
JOIN seed_catalog_skus l ON l.merchant_id = s.merchant_id
CROSS JOIN LATERAL (SELECT cardinality(l.ids) AS n,
                           hashint8extended(s.id, %(seed)s) & 1048575 AS start) c
CROSS JOIN LATERAL generate_series(0, LEAST(%(per_store)s, c.n) - 1) g
CROSS JOIN LATERAL (SELECT hashint8extended(s.id * 64 + g, %(seed)s) & 2147483647 AS h) x
WHERE s.id BETWEEN %(lo)s AND %(hi)s
ORDER BY s.id, g
RETURNING merchant_id, store_id, sku_id, on_hand, reserved
)
INSERT INTO stock_changes (merchant_id, store_id, sku_id, on_hand_delta, reserved_delta,
                           on_hand, reserved, reason)
SELECT merchant_id, store_id, sku_id, on_hand, reserved, on_hand, reserved, 'seed'
FROM loaded WHERE on_hand <> 0 OR reserved <> 0
"""


def seed_catalog(conn, *, rng_seed: int, demo: bool, progress) -> None:
    """Products and SKUs per merchant, then stock rows per store (inside the seed's transaction)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM stock)")
        if cursor.fetchone()[0]:
            return  # a catalog is loaded: the world is only ever seeded onto empty tables
        # The stock statement writes its ledger rows itself (_STOCK), so the ledger's insert
        # trigger (migration 0008) is off for the load: it would keep each chunk's million rows
        # in a transition table, sort them into one array and unnest it again. A seed sends no
        # inventory events either way. Transactional: a failed seed leaves the trigger on.
        # Any later stock change of the seed is the seed's too: ledger reason 'seed', no events.
        cursor.execute("SELECT set_config('shopnear.stock_reason', 'seed', true)")
        cursor.execute("ALTER TABLE stock DISABLE TRIGGER stock_inserted")
        with keys_built_after(cursor, TABLES):
            _load(cursor, rng_seed=rng_seed, demo=demo, progress=progress)
        cursor.execute("ALTER TABLE stock ENABLE TRIGGER stock_inserted")


def _load(cursor, *, rng_seed: int, demo: bool, progress) -> None:
    params = {
        "seed": rng_seed,
        "demo": demo,
        "demo_products": DEMO_PRODUCTS,
        "variants": VARIANTS,
        "per_store": 10_000 if demo else STOCK_PER_STORE,
    }
    for statement in (_MERCHANTS, _PRODUCTS, _SKUS, _SKU_LISTS):
        cursor.execute(statement, params)
        # Unanalysed, seed_catalog_skus looked 8x its size: the stock chunks then joined it by a
        # nested loop over a materialised copy spilled to disk (4-5 minutes a chunk).
        analyze_written(cursor.connection)
    cursor.execute("SET LOCAL work_mem = '256MB'")  # a chunk's sort by store stays in memory
    cursor.execute("SELECT min(id), max(id) FROM stores")
    first, last = cursor.fetchone()
    if first is None:
        return
    with progress(last - first + 1, "stock") as bar:
        for lo in range(first, last + 1, STORES_PER_CHUNK):
            hi = min(lo + STORES_PER_CHUNK - 1, last)
            cursor.execute(_STOCK, {**params, "lo": lo, "hi": hi})
            bar.update(hi - lo + 1)


EXTRA_STEPS.append(seed_catalog)
