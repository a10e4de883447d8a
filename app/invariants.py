"""The rules that must hold whatever happened (DESIGN rules 1, 2 and the counters), as queries
that return the rows breaking them. The soak, the crash tests and `flask check-invariants` run
them; every query must come back empty."""

from sqlalchemy import Connection, text

RULE_1 = """
    SELECT k.store_id, k.sku_id, k.on_hand, k.reserved, COALESCE(h.held, 0) AS held
    FROM stock k
    LEFT JOIN (
        SELECT r.store_id, i.sku_id, sum(i.qty) AS held
        FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
        WHERE r.state IN ('reserved', 'preparing', 'ready') GROUP BY r.store_id, i.sku_id
    ) h ON h.store_id = k.store_id AND h.sku_id = k.sku_id
    WHERE k.reserved <> COALESCE(h.held, 0) OR k.reserved < 0 OR k.reserved > k.on_hand"""

# Rule 1 since the ledger (issue 13; rule 9): on_hand and reserved are what their ledger rows add
# up to.
LEDGER = """
    SELECT k.store_id, k.sku_id, k.on_hand, k.reserved, l.on_hand AS ledger_on_hand,
           l.reserved AS ledger_reserved
    FROM stock k
    LEFT JOIN (
        SELECT store_id, sku_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
        FROM stock_changes GROUP BY store_id, sku_id
    ) l ON l.store_id = k.store_id AND l.sku_id = k.sku_id
    WHERE k.on_hand <> COALESCE(l.on_hand, 0) OR k.reserved <> COALESCE(l.reserved, 0)"""

RULE_2 = {
    "claimed_qty within 0..total_qty and equal to the coupons issued": """
        SELECT c.id FROM coupon_campaigns c
        LEFT JOIN (SELECT campaign_id, count(*) n, coalesce(sum(amount_cents), 0) s
                   FROM coupons GROUP BY campaign_id) k ON k.campaign_id = c.id
        WHERE c.claimed_qty < 0 OR c.claimed_qty > c.total_qty
           OR c.claimed_qty <> coalesce(k.n, 0)
           OR (c.kind = 'red_packet' AND c.spent_cents <> coalesce(k.s, 0))""",
    "red packet budget never exceeded": """
        SELECT id FROM coupon_campaigns WHERE spent_cents > budget_cents""",
    "a user's coupons within per_user_limit and equal to their counter": """
        SELECT k.campaign_id, k.user_id FROM
          (SELECT campaign_id, user_id, count(*) n FROM coupons GROUP BY 1, 2) k
        JOIN coupon_campaigns c ON c.id = k.campaign_id
        LEFT JOIN coupon_user_claims u ON (u.campaign_id, u.user_id) = (k.campaign_id, k.user_id)
        WHERE k.n > c.per_user_limit OR u.claimed IS DISTINCT FROM k.n""",
    "a store's day within the daily quota": """
        SELECT d.campaign_id FROM coupon_store_days d
        JOIN coupon_campaigns c ON c.id = d.campaign_id
        WHERE d.claimed > c.daily_quota_per_store""",
    "used exactly when redeemed": """
        SELECT id FROM coupons WHERE (state = 'used') <> (redeemed_at IS NOT NULL)""",
}

COUNTERS = {
    "posts.like_count equals its likes": """
        SELECT p.id, p.like_count, count(l.user_id) FROM posts p
        LEFT JOIN likes l ON l.post_id = p.id GROUP BY p.id
        HAVING p.like_count <> count(l.user_id)""",
    "posts.voter_count equals its ballots": """
        SELECT p.id, p.voter_count, count(v.user_id) FROM posts p
        LEFT JOIN poll_votes v ON v.post_id = p.id GROUP BY p.id
        HAVING p.voter_count <> count(v.user_id)""",
    "posts.guess_count equals its guesses": """
        SELECT p.id, p.guess_count, count(g.user_id) FROM posts p
        LEFT JOIN price_guesses g ON g.post_id = p.id GROUP BY p.id
        HAVING p.guess_count <> count(g.user_id)""",
    "a settled guess game has at most its winners rewarded, each rank once": """
        SELECT g.post_id, count(*) FROM price_guesses g JOIN posts p ON p.id = g.post_id
        WHERE g.coupon_id IS NOT NULL OR g.rank IS NOT NULL
        GROUP BY g.post_id, p.guess_winners
        HAVING count(g.coupon_id) > p.guess_winners OR count(g.rank) <> count(DISTINCT g.rank)""",
    "poll_options.votes equals the ballots naming it": """
        SELECT o.id, o.votes, count(v.user_id) FROM poll_options o
        LEFT JOIN poll_votes v ON v.post_id = o.post_id AND o.id = ANY (v.option_ids)
        GROUP BY o.id HAVING o.votes <> count(v.user_id)""",
    "merchant_follower_counts.followers equals its follows": """
        SELECT c.merchant_id, c.followers, count(f.user_id) FROM merchant_follower_counts c
        LEFT JOIN follows f ON f.merchant_id = c.merchant_id GROUP BY c.merchant_id
        HAVING c.followers <> count(f.user_id)""",
    "follows counted for every merchant followed": """
        SELECT f.merchant_id FROM follows f
        LEFT JOIN merchant_follower_counts c ON c.merchant_id = f.merchant_id
        WHERE c.merchant_id IS NULL""",
    "buyer_shows.report_count equals its reports": """
        SELECT s.id, s.report_count, count(r.user_id) FROM buyer_shows s
        LEFT JOIN buyer_show_reports r ON r.show_id = s.id GROUP BY s.id
        HAVING s.report_count <> count(r.user_id)""",
}

WHOLE_WRITES = {
    "every reservation holds items": """
        SELECT r.id FROM reservations r
        WHERE NOT EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id)""",
    "every remembered idempotency key has its answer": """
        SELECT id FROM idempotency_keys WHERE response_status IS NULL""",
}

CHECKS = {
    "rule 1: stock never oversold": RULE_1,
    "rule 1: stock equals its ledger": LEDGER,
    **RULE_2,
    **COUNTERS,
    **WHOLE_WRITES,
}

# Every check in one statement answering the numbers of the broken ones: the test suite runs it
# after each of its ~1100 tests, and one round trip (mostly planning) takes a third of the time of
# the 17 statements one by one (5 against 13-20 ms on a loaded 2-core box). Not prepared: behind
# a transaction-pooling PgBouncer the next transaction may not find it (tests/test_pooled.py).
_BROKEN = text(
    " UNION ALL ".join(f"SELECT {n} WHERE EXISTS ({sql})" for n, sql in enumerate(CHECKS.values()))
)


def violations(connection: Connection) -> dict[str, list]:
    """{rule: rows breaking it} for every rule that does not hold (empty when all hold)."""
    rules = list(CHECKS.items())
    found = {}
    for (n,) in connection.execute(_BROKEN).all():
        rule, sql = rules[n]
        found[rule] = [tuple(row) for row in connection.execute(text(sql)).fetchmany(20)]
    return found
