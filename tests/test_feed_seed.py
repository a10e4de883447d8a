"""`flask seed` fills the feed: posts of every kind, follows, likes, votes, buyer shows, with
counters equal to the rows they count."""

from sqlalchemy import text

COUNTERS_OFF = """
SELECT (SELECT count(*) FROM posts p
        WHERE like_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)
           OR voter_count <> (SELECT count(*) FROM poll_votes v WHERE v.post_id = p.id)
           OR guess_count <> (SELECT count(*) FROM price_guesses g WHERE g.post_id = p.id))
     + (SELECT count(*) FROM poll_options o
        WHERE votes <> (SELECT count(*) FROM poll_votes v WHERE o.id = ANY (v.option_ids)))
     + (SELECT count(*) FROM merchants m
        LEFT JOIN merchant_follower_counts c ON c.merchant_id = m.id
        WHERE coalesce(c.followers, 0)
              <> (SELECT count(*) FROM follows f WHERE f.merchant_id = m.id))
"""


def test_the_demo_world_has_a_feed_with_exact_counters(app, session):
    result = app.test_cli_runner().invoke(args=["seed", "--demo", "--reset"])
    assert result.exit_code == 0, result.output
    kinds = dict(session.execute(text("SELECT kind, count(*) FROM posts GROUP BY kind")).all())
    assert set(kinds) == {"article", "product", "poll", "price_guess"}
    for table in ("follows", "likes", "poll_votes", "price_guesses", "buyer_shows"):
        assert session.scalar(text(f"SELECT count(*) FROM {table}")) > 0, table
    assert session.scalar(text(COUNTERS_OFF)) == 0
