"""`flask seed` builds segments, posts only their shoppers see, and shake weights."""

from sqlalchemy import text


def test_the_demo_world_has_segments_targeted_posts_and_shake_weights(app, session):
    result = app.test_cli_runner().invoke(args=["seed", "--demo", "--reset"])
    assert result.exit_code == 0, result.output
    assert session.scalar(text("SELECT count(*) FROM segments")) > 0
    targeted = session.scalar(text("SELECT count(*) FROM posts WHERE segment_ids <> '{}'"))
    assert targeted == session.scalar(
        text("SELECT count(*) FROM segments WHERE name = 'Followers'")
    )
    weights = dict(
        session.execute(
            text("SELECT shake_weight, count(*) FROM coupon_campaigns GROUP BY 1")
        ).all()
    )
    assert set(weights) == {1, 5}
    # Every seeded segment's rule runs in SQL for every user.
    sizes = session.execute(
        text(
            "SELECT s.id, count(u.id) FROM segments s LEFT JOIN users u"
            " ON segment_rule_matches(s.rule, s.merchant_id, u.id, NULL) GROUP BY s.id"
        )
    ).all()
    assert sizes and any(n > 0 for _, n in sizes)
