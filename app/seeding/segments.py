"""Segments of the generated world, the posts that target them, and shake weights.

Every merchant with posts gets two segments, "Followers" (follows) and "Regulars or nearby"
(a pickup in the last 30 days, or within 1 km of one of its stores), and one article only for
its followers. The "Shake nearby" campaigns weigh 5 in a shake against 1 for the others. All in
SQL inside the seed's transaction, after the feed and coupons steps (modules run alphabetically).
"""

from app.seeding import EXTRA_STEPS

_SEGMENTS = """
INSERT INTO segments (merchant_id, name, description, rule)
SELECT m.merchant_id, s.name, 'Generated segment', s.rule::jsonb
FROM (SELECT DISTINCT merchant_id FROM posts) m
CROSS JOIN (VALUES
    ('Followers', '{"type": "follows"}'),
    ('Regulars or nearby', '{"type": "or", "rules": [
        {"type": "pickups", "at_least": 1, "days": 30},
        {"type": "near_store", "radius_m": 1000}]}')
) s (name, rule)
ORDER BY m.merchant_id, s.name;
INSERT INTO posts (merchant_id, kind, state, title, body, publish_at, segment_ids)
SELECT merchant_id, 'article', 'published', 'For our followers only', 'Generated post.',
       now() - interval '2 hours', ARRAY[id]
FROM segments WHERE name = 'Followers';
UPDATE coupon_campaigns SET shake_weight = 5 WHERE title LIKE 'Shake nearby%';
"""


def seed_segments(conn, *, rng_seed: int, demo: bool, progress) -> None:
    """Segments, targeted posts and shake weights (inside the seed's transaction)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM segments)")
        if cursor.fetchone()[0]:
            return  # the world is only ever seeded onto empty tables
        with progress(1, "segments") as bar:
            cursor.execute(_SEGMENTS)
            bar.update(1)


EXTRA_STEPS.append(seed_segments)
