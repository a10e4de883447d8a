"""Feed of the generated world: posts, follows, likes, polls and votes, buyer shows.

Per merchant four posts published over the last 14 days: an article for its followers, a
product post local to its first store (tagging its first SKU), a poll targeted at that
store's city and a guess-the-price game on its first SKU closing in three days (3 winners).
Seeded shoppers (feed-N@seed.shopnear.test, the demo password) follow merchants, like about a
quarter of their posts, vote in half of their polls and guess in half of their games; a
quarter of the merchants (all in the demo) get an approved buyer show. Counters are set from the
rows they count, so they start exact. All in SQL inside the seed's transaction, deterministic
from the seed.
"""

from app.accounts import service as accounts_service
from app.seeding import EXTRA_STEPS, analyze_written, keys_built_after
from app.seeding.demo import PASSWORD

SHOPPERS = {True: 50, False: 5_000}  # demo world, full world
FOLLOWS_PER_SHOPPER = {True: 3, False: 8}

_SHOPPERS = (
    """
INSERT INTO users (email, password_hash, display_name)
SELECT 'feed-' || g || '@seed.shopnear.test', %(hash)s, 'Shopper ' || g
FROM generate_series(1, %(shoppers)s) g
ON CONFLICT ((lower(email))) DO NOTHING
""",
    """
CREATE TEMP TABLE seed_feed_users ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM users
WHERE email LIKE 'feed-%%@seed.shopnear.test'
""",
    """
CREATE TEMP TABLE seed_feed_merchants ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY merchant_id) AS n, merchant_id, store_id, city
FROM (SELECT DISTINCT ON (merchant_id) merchant_id, id AS store_id, city
      FROM stores ORDER BY merchant_id, id) first_store
""",
)
_POSTS = (
    """
INSERT INTO posts (merchant_id, kind, state, title, body, sku_ids, store_id, cities,
                   publish_at, poll_closes_at, guess_sku_id, guess_closes_at, guess_winners)
SELECT m.merchant_id, k.kind, 'published', k.title, 'Generated post.',
       CASE WHEN k.kind IN ('product', 'price_guess') THEN ARRAY[sku.id] ELSE '{}' END,
       CASE WHEN k.kind = 'product' THEN m.store_id END,
       CASE WHEN k.kind = 'poll' THEN ARRAY[lower(m.city)] ELSE '{}' END,
       now() - make_interval(secs => (hashint8extended(m.merchant_id * 4 + k.n, %(seed)s)
                                      & 1048575) %% (14 * 86400)),
       CASE WHEN k.kind = 'poll' THEN now() + interval '7 days' END,
       CASE WHEN k.kind = 'price_guess' THEN sku.id END,
       CASE WHEN k.kind = 'price_guess' THEN now() + interval '3 days' END,
       3
FROM seed_feed_merchants m
CROSS JOIN (VALUES (1, 'article', 'New this week'), (2, 'product', 'In store now'),
                   (3, 'poll', 'What should we stock next?'),
                   (4, 'price_guess', 'Guess the price')) k (n, kind, title)
-- one pass over the SKUs: a per-merchant ORDER BY id LIMIT 1 walks the primary key through
-- every earlier merchant's SKUs (they are numbered merchant by merchant)
LEFT JOIN (SELECT merchant_id, min(id) AS id FROM skus GROUP BY merchant_id) sku
  ON sku.merchant_id = m.merchant_id
WHERE k.kind NOT IN ('product', 'price_guess') OR sku.id IS NOT NULL
""",
    """
INSERT INTO poll_options (post_id, position, label)
SELECT p.id, o.position, o.label FROM posts p
CROSS JOIN (VALUES (0, 'Oolong'), (1, 'Matcha'), (2, 'Chai')) o (position, label)
WHERE p.kind = 'poll'
""",
)
_FOLLOWS = (
    """
INSERT INTO follows (user_id, merchant_id)
SELECT u.id, m.merchant_id FROM seed_feed_users u
CROSS JOIN generate_series(1, %(follows)s) g
JOIN seed_feed_merchants m
  ON m.n = 1 + (hashint8extended(u.n * 64 + g, %(seed)s) & 1048575)
           %% (SELECT count(*) FROM seed_feed_merchants)
ON CONFLICT DO NOTHING
""",
    """
INSERT INTO likes (post_id, user_id)
SELECT p.id, f.user_id FROM follows f JOIN posts p ON p.merchant_id = f.merchant_id
WHERE hashint8extended(p.id * 7919 + f.user_id, %(seed)s) & 3 = 0
""",
    """
INSERT INTO poll_votes (post_id, user_id, option_ids)
SELECT p.id, f.user_id, ARRAY[o.id]
FROM follows f JOIN posts p ON p.merchant_id = f.merchant_id AND p.kind = 'poll'
JOIN poll_options o ON o.post_id = p.id
 AND o.position = (hashint8extended(p.id * 31 + f.user_id, %(seed)s) & 1048575) %% 3
WHERE hashint8extended(p.id * 17 + f.user_id, %(seed)s) & 1 = 0
""",
    """
INSERT INTO price_guesses (merchant_id, post_id, user_id, price_cents)
SELECT p.merchant_id, p.id, f.user_id,
       greatest(1, s.price_cents * (50 + (hashint8extended(p.id * 37 + f.user_id, %(seed)s)
                                          & 1048575) %% 101) / 100)
FROM follows f JOIN posts p ON p.merchant_id = f.merchant_id AND p.kind = 'price_guess'
JOIN skus s ON s.id = p.guess_sku_id
WHERE hashint8extended(p.id * 13 + f.user_id, %(seed)s) & 1 = 0
""",
    """
INSERT INTO buyer_shows (user_id, merchant_id, sku_ids, body, rating, verified, state,
                         moderated_at)
SELECT DISTINCT ON (f.merchant_id) f.user_id, f.merchant_id, COALESCE(p.sku_ids, '{}'),
       'Generated buyer show: just as pictured.', 4 + f.user_id %% 2, false, 'approved',
       now() - interval '1 day'
FROM follows f
LEFT JOIN posts p ON p.merchant_id = f.merchant_id AND p.kind = 'product'
WHERE %(demo)s OR hashint8extended(f.merchant_id, %(seed)s) & 3 = 0
ORDER BY f.merchant_id, f.user_id
""",
)
# Counters from the rows they count (DESIGN: counters never drift).
_COUNTERS = (
    """
INSERT INTO merchant_follower_counts (merchant_id, followers)
SELECT merchant_id, count(*) FROM follows GROUP BY merchant_id
ON CONFLICT (merchant_id) DO UPDATE SET followers = EXCLUDED.followers
""",
    """
UPDATE posts SET like_count = c.n
FROM (SELECT post_id, count(*) AS n FROM likes GROUP BY post_id) c WHERE posts.id = c.post_id
""",
    """
UPDATE posts SET voter_count = c.n
FROM (SELECT post_id, count(*) AS n FROM poll_votes GROUP BY post_id) c
WHERE posts.id = c.post_id
""",
    """
UPDATE posts SET guess_count = c.n
FROM (SELECT post_id, count(*) AS n FROM price_guesses GROUP BY post_id) c
WHERE posts.id = c.post_id
""",
    """
UPDATE poll_options SET votes = c.n
FROM (SELECT unnest(option_ids) AS option_id, count(*) AS n FROM poll_votes GROUP BY 1) c
WHERE poll_options.id = c.option_id
""",
)


def seed_feed(conn, *, rng_seed: int, demo: bool, progress) -> None:
    """Posts, follows, likes, votes and buyer shows (inside the seed's transaction)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM posts)")
        if cursor.fetchone()[0]:
            return  # the world is only ever seeded onto empty tables
        params = {
            "seed": rng_seed,
            "demo": demo,
            "shoppers": SHOPPERS[demo],
            "follows": FOLLOWS_PER_SHOPPER[demo],
            "hash": accounts_service.hash_password(PASSWORD),
        }
        # The posts and their poll options (four posts a merchant) load without their keys and
        # indexes, built once after.
        batches = ((_SHOPPERS, ()), (_POSTS, ("posts", "poll_options")), (_FOLLOWS + _COUNTERS, ()))
        with progress(sum(len(batch) for batch, _ in batches), "feed") as bar:
            for batch, bare in batches:
                with keys_built_after(cursor, bare):
                    for statement in batch:
                        cursor.execute(statement, params)
                        analyze_written(conn)  # each statement reads what the ones before loaded
                        bar.update(1)


EXTRA_STEPS.append(seed_feed)
