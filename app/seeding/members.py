"""Membership programs, members and their ledgers in the generated world (after the feed's
shoppers exist). Every demo merchant, and each chain merchant with a coupon campaign, runs a
program (1 point per unit, 14 days pending, a year's expiry, Silver and Gold tiers). About 40 %
of a merchant's followers are members, each with one till receipt of the last 60 days (its
points pending or available by its age). All in SQL, deterministic from the seed."""

from app.seeding import EXTRA_STEPS

_PROGRAMS = """
INSERT INTO membership_programs (merchant_id, currency, points_per_unit, pending_days, expiry_days)
SELECT DISTINCT merchant_id, 'USD', 1, 14, 365 FROM stores
WHERE %(demo)s OR merchant_id IN (SELECT merchant_id FROM coupon_campaigns);
INSERT INTO membership_tiers (merchant_id, name, threshold_cents, benefit)
SELECT p.merchant_id, t.name, t.threshold, t.benefit FROM membership_programs p
CROSS JOIN (VALUES ('Silver', 20000, 'Birthday treat'), ('Gold', 100000, 'Free delivery'))
  t (name, threshold, benefit);
INSERT INTO members (merchant_id, user_id, member_number, consent_at, joined_at)
SELECT f.merchant_id, f.user_id,
       lpad(((hashint8extended(f.user_id * 1000003 + f.merchant_id, %(seed)s) & 1099511627775)
             %% 1000000000000)::text, 12, '0'),
       now() - interval '90 days', now() - interval '90 days'
FROM follows f JOIN membership_programs p ON p.merchant_id = f.merchant_id
WHERE hashint8extended(f.user_id * 31 + f.merchant_id, %(seed)s) & 1023 < 410
ON CONFLICT DO NOTHING;
CREATE TEMP TABLE seed_member_receipts ON COMMIT DROP AS
SELECT m.id AS member_id, m.merchant_id,
       (SELECT min(id) FROM stores s WHERE s.merchant_id = m.merchant_id) AS store_id,
       1000 + (hashint8extended(m.id, %(seed)s) & 65535) AS total_cents,
       now() - make_interval(secs => (hashint8extended(m.id * 7, %(seed)s) & 16777215)
                                     %% (60 * 86400)) AS at
FROM members m;
WITH lots AS (
  INSERT INTO member_points (merchant_id, member_id, kind, points, receipt_ref, store_id,
                             available_at, expires_at, created_at)
  SELECT merchant_id, member_id, 'earn', total_cents / 100, 'seed-' || member_id, store_id,
         at + interval '14 days', at + interval '365 days', at
  FROM seed_member_receipts RETURNING id, member_id, merchant_id)
INSERT INTO member_receipts (merchant_id, receipt_ref, member_id, store_id, total_cents, currency,
                             points, lot_id, created_at)
SELECT r.merchant_id, 'seed-' || r.member_id, r.member_id, r.store_id, r.total_cents, 'USD',
       r.total_cents / 100, l.id, r.at
FROM seed_member_receipts r JOIN lots l ON l.member_id = r.member_id;
INSERT INTO member_points (merchant_id, member_id, lot_id, kind, points, created_at)
SELECT merchant_id, member_id, id, 'available', 0, available_at FROM member_points
WHERE kind = 'earn' AND available_at <= now();
UPDATE members m SET tier_id = t.id, tier_since = r.created_at
FROM member_receipts r, membership_tiers t
WHERE r.member_id = m.id AND t.merchant_id = m.merchant_id AND t.name = 'Silver'
  AND r.total_cents >= t.threshold_cents;
"""


def seed_members(conn, *, rng_seed: int, demo: bool, progress) -> None:
    """Programs, members and ledgers (inside the seed's transaction)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM membership_programs)")
        if cursor.fetchone()[0]:
            return  # the world is only ever seeded onto empty tables
        with progress(1, "members") as bar:
            cursor.execute(_PROGRAMS, {"seed": rng_seed, "demo": demo})
            bar.update(1)


EXTRA_STEPS.append(seed_members)
