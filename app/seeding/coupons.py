"""Coupon campaigns of the generated world, made inside PostgreSQL after the stores.

Five templates: an amount off, a percent off with a cap, a red packet with a budget, an amount
off geo-fenced to 1 km of the merchant's stores ("shake for coupons") and a percent off with a
per-store daily quota. Every demo merchant gets all five; in the full world each chain merchant
(more than 3 stores) gets one or two of them, picked by hashint8extended from the seed. All
campaigns apply to all the merchant's stores and SKUs, their claim window is open (a day ago to
30 days ahead), stock is large and the per-user limit is the API's maximum (100), so benchmark
shoppers can claim many times. Counters start at zero (nothing claimed, nothing spent), as
rule 2 wants them: coupons, coupon_user_claims and coupon_store_days stay empty.
"""

from app.seeding import EXTRA_STEPS, analyze_written

CHAIN_MIN_STORES = 4
TEMPLATES = 5

_MERCHANTS = """
CREATE TEMP TABLE seed_coupon_merchants ON COMMIT DROP AS
SELECT merchant_id, hashint8extended(merchant_id, %(seed)s) & 1048575 AS h
FROM stores GROUP BY merchant_id
HAVING %(demo)s OR count(*) >= %(chain)s
"""
# n, kind, title, value, percent, cap, red packet min/max, budget, min spend, total, per user,
# absolute validity (valid_to 60 days ahead) or days after claim, geofence, daily quota.
_CAMPAIGNS = """
INSERT INTO coupon_campaigns (
    merchant_id, title, description, kind, value_cents, percent_off, max_discount_cents,
    red_packet_min_cents, red_packet_max_cents, budget_cents, min_spend_cents, currency,
    total_qty, per_user_limit, claim_starts_at, claim_ends_at, valid_to,
    valid_days_after_claim, geofence_radius_m, daily_quota_per_store)
SELECT m.merchant_id, t.title, 'Generated campaign', t.kind, t.value_cents, t.percent_off,
       t.max_discount_cents, t.rp_min, t.rp_max, t.budget_cents, t.min_spend_cents, 'USD',
       t.total_qty, t.per_user_limit, now() - interval '1 day', now() + interval '30 days',
       CASE WHEN t.absolute THEN now() + interval '60 days' END,
       CASE WHEN NOT t.absolute THEN t.days END, t.geofence_radius_m, t.daily_quota
FROM seed_coupon_merchants m
CROSS JOIN (VALUES
    (1, 'amount_off', '$5 off $30', 500, NULL::smallint, NULL::int, NULL::int, NULL::int,
     NULL::bigint, 3000, 1000000, 100, false, 14, NULL::int, NULL::int),
    (2, 'percent_off', '15%% off, up to $10', NULL, 15, 1000, NULL, NULL,
     NULL, 2000, 1000000, 100, true, NULL, NULL, NULL),
    (3, 'red_packet', 'Red packet: $1 to $8.88', NULL, NULL, NULL, 100, 888,
     1000000000, 0, 1000000, 100, false, 7, NULL, NULL),
    (4, 'amount_off', 'Shake nearby: $3 off', 300, NULL, NULL, NULL, NULL,
     NULL, 0, 1000000, 100, false, 7, 1000, NULL),
    (5, 'percent_off', 'Daily deal: 10%% off', NULL, 10, 500, NULL, NULL,
     NULL, 0, 1000000, 100, false, 1, NULL, 500)
) t (n, kind, title, value_cents, percent_off, max_discount_cents, rp_min, rp_max,
     budget_cents, min_spend_cents, total_qty, per_user_limit, absolute, days,
     geofence_radius_m, daily_quota)
-- demo: every template; chains: one or two consecutive templates from a per-merchant start
WHERE %(demo)s OR (t.n - 1 - m.h %% %(templates)s + %(templates)s) %% %(templates)s
                   < 1 + (m.h / 8) %% 2
ORDER BY m.merchant_id, t.n
"""


def seed_coupons(conn, *, rng_seed: int, demo: bool, progress) -> None:
    """Open campaigns for the demo merchants or the chains (inside the seed's transaction)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM coupon_campaigns)")
        if cursor.fetchone()[0]:
            return  # the world is only ever seeded onto empty tables
        params = {"seed": rng_seed, "demo": demo, "chain": CHAIN_MIN_STORES, "templates": TEMPLATES}
        with progress(2, "coupons") as bar:
            for statement in (_MERCHANTS, _CAMPAIGNS):
                cursor.execute(statement, params)
                analyze_written(conn)
                bar.update(1)


EXTRA_STEPS.append(seed_coupons)
