"""Guess the price: one guess per shopper, ranks with ties to the earlier guess, a hidden answer,
the game settled once however many readers arrive at closing, and segment targeting."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from app.coupons.models import Coupon
from app.feed.posts.models import Post, PriceGuess
from app.notifications.models import Notification
from tests import factories
from tests import factories_coupons as fc
from tests import factories_feed as ff
from tests import factories_segments as seg
from tests.race import race, signed_in


def game(session, merchant, *, price_cents=1000, hidden=None, winners=2, campaign=None):
    """A live guess game on a new SKU, closing in an hour."""
    sku = ff.sku(session, merchant=merchant, price_cents=price_cents)
    post = ff.post(session, merchant=merchant, kind="price_guess", title="Guess the price")
    post.guess_sku_id, post.guess_winners, post.guess_price_cents = sku.id, winners, hidden
    post.guess_closes_at = datetime.now(UTC) + timedelta(hours=1)
    post.reward_campaign_id = campaign.id if campaign else None
    session.flush()
    return post, sku


def guess(client, caller, post_id, price_cents, **headers):
    return client.post(
        f"/v1/posts/{post_id}/guesses",
        json={"price_cents": price_cents},
        headers={**caller.headers, **headers},
    )


def close(session, post) -> None:
    session.execute(
        text("UPDATE posts SET guess_closes_at = now() - interval '1 second' WHERE id = :id"),
        {"id": post.id},
    )
    session.commit()


def test_a_merchant_creates_a_game_on_its_own_sku(client, session, merchant, owner):
    sku = ff.sku(session, merchant=merchant)
    closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"kind": "price_guess", "title": "Guess!", "guess": {"closes_at": closes}}
    resp = client.post("/v1/admin/posts", json=body, headers=owner.headers)
    assert resp.status_code == 422 and "guess.sku_id" in resp.get_json()["errors"]
    body["guess"] |= {"sku_id": sku.id, "winners": 3, "price_cents": 990}
    resp = client.post("/v1/admin/posts", json=body, headers=owner.headers)
    assert resp.status_code == 201, resp.get_json()
    admin = resp.get_json()["guess"]
    assert (admin["sku_id"], admin["winners"], admin["hidden_price_cents"]) == (sku.id, 3, 990)
    theirs = ff.sku(session, merchant=factories.merchant(session))
    body["guess"]["sku_id"] = theirs.id
    assert client.post("/v1/admin/posts", json=body, headers=owner.headers).status_code == 404
    article = {"kind": "article", "title": "x", "guess": {"sku_id": sku.id}}
    resp = client.post("/v1/admin/posts", json=article, headers=owner.headers)
    assert resp.status_code == 422 and "guess" in resp.get_json()["errors"]


def test_one_guess_each_and_a_retry_replays(client, session, merchant, shopper):
    post, _ = game(session, merchant)
    session.commit()
    first = guess(client, shopper, post.id, 950, **{"Idempotency-Key": "g-1"})
    assert first.status_code == 201, first.get_json()
    replay = guess(client, shopper, post.id, 950, **{"Idempotency-Key": "g-1"})
    assert (replay.status_code, replay.get_json()) == (201, first.get_json())
    assert guess(client, shopper, post.id, 951, **{"Idempotency-Key": "g-1"}).status_code == 422
    fraction = guess(client, shopper, post.id, 950.5)
    assert fraction.status_code == 422 and "price_cents" in fraction.get_json()["errors"]
    again = guess(client, shopper, post.id, 900)
    assert again.status_code == 409 and again.get_json()["type"].endswith("feed.guessed")
    mine = client.get(f"/v1/posts/{post.id}", headers=shopper.headers).get_json()["guess"]
    assert mine["my_guess"]["price_cents"] == 950 and mine["guess_count"] == 1
    assert (mine["settled"], mine["answer_cents"], mine["leaders"]) == (False, None, [])


def test_closest_win_ties_go_to_the_earlier_and_sold_out_is_said(
    client, session, merchant, make_shopper
):
    campaign = fc.campaign(session, merchant=merchant, total_qty=1)
    post, _ = game(session, merchant, price_cents=1000, winners=2, campaign=campaign)
    session.commit()
    early, late, exact, far = signed_in(make_shopper, 4)
    for caller, price in ((early, 900), (late, 1100), (exact, 1000), (far, 2000)):
        assert guess(client, caller, post.id, price).status_code == 201
    close(session, post)
    assert (
        guess(client, make_shopper(), post.id, 1000)
        .get_json()["type"]
        .endswith("feed.guess_closed")
    )

    view = client.get(f"/v1/posts/{post.id}", headers=late.headers).get_json()["guess"]
    assert (view["settled"], view["answer_cents"]) == (True, 1000)
    assert [(g["rank"], g["price_cents"], g["off_by_cents"]) for g in view["leaders"]] == [
        (1, 1000, 0),
        (2, 900, 100),
    ]
    assert (view["my_guess"]["rank"], view["my_guess"]["won"]) == (3, False)
    winner = client.get(f"/v1/posts/{post.id}", headers=exact.headers).get_json()["guess"]
    assert winner["my_guess"]["won"] and winner["my_guess"]["coupon_id"]
    assert winner["leaders"][0]["mine"] is True
    runner_up = client.get(f"/v1/posts/{post.id}", headers=early.headers).get_json()["guess"]
    assert runner_up["my_guess"]["won"] is True
    assert (runner_up["my_guess"]["coupon_id"], runner_up["my_guess"]["reward_reason"]) == (
        None,
        "coupons.sold_out",
    )


def test_a_hidden_price_is_the_answer_and_shown_only_after_close(
    client, session, merchant, owner, shopper
):
    post, _ = game(session, merchant, price_cents=1000, hidden=1500, winners=1)
    session.commit()
    assert guess(client, shopper, post.id, 1450).status_code == 201
    before = client.get(f"/v1/posts/{post.id}", headers=shopper.headers).get_json()["guess"]
    assert (before["answer_cents"], before["hidden_price_cents"]) == (None, None)
    admin = client.get(f"/v1/admin/posts/{post.id}", headers=owner.headers).get_json()["guess"]
    assert admin["hidden_price_cents"] == 1500
    close(session, post)
    after = client.get(f"/v1/posts/{post.id}").get_json()["guess"]
    assert (after["answer_cents"], after["leaders"][0]["off_by_cents"]) == (1500, 50)


def test_a_targeted_game_is_invisible_to_a_shopper_outside_its_segment(
    client, session, merchant, make_shopper
):
    fan, stranger = make_shopper(), make_shopper()
    seg.follow(session, user_id=fan.id, merchant=merchant)
    followers = seg.segment(session, merchant=merchant, rule={"type": "follows"})
    post, _ = game(session, merchant)
    post.segment_ids = [followers.id]
    session.commit()
    assert guess(client, stranger, post.id, 1000).status_code == 404
    assert client.get(f"/v1/posts/{post.id}", headers=stranger.headers).status_code == 404
    assert guess(client, fan, post.id, 1000).status_code == 201
    article = ff.post(session, merchant=merchant)
    session.commit()
    resp = guess(client, fan, article.id, 1000)
    assert resp.status_code == 404 and resp.get_json()["type"].endswith("guess_game_not_found")


def test_the_sweeper_settles_games_past_closing(app, client, session, merchant, shopper):
    post, _ = game(session, merchant, winners=1)
    hidden, _ = game(session, merchant)
    hidden.state = "hidden"  # its merchant may bring it back; its first reader then settles it
    session.commit()
    guess(client, shopper, post.id, 1000)
    close(session, post)
    close(session, hidden)
    result = app.test_cli_runner().invoke(args=["sweep-expired"])
    assert result.exit_code == 0 and "settled 1 guess games" in result.output, result.output
    session.expire_all()
    assert session.get(Post, post.id).guess_answer_cents == 1000
    assert session.get(Post, hidden.id).guess_settled_at is None
    assert session.scalar(select(PriceGuess.rank).where(PriceGuess.post_id == post.id)) == 1


def test_eight_readers_at_closing_settle_the_game_once(committed, make_shopper, merchant, session):
    shoppers = signed_in(make_shopper, 8)
    # Ten per shopper: a second settling would claim a second coupon for each winner.
    campaign = fc.campaign(session, merchant=merchant, per_user_limit=10)
    post, _ = game(session, merchant, price_cents=1000, winners=3, campaign=campaign)
    session.commit()
    client = committed.test_client()
    for i, caller in enumerate(shoppers):
        assert guess(client, caller, post.id, 1000 + 10 * i).status_code == 201
    close(session, post)

    def read(caller):
        return lambda client: client.get(f"/v1/posts/{post.id}", headers=caller.headers)

    answers = [(status, body["guess"]) for status, body in race(committed, map(read, shoppers))]
    assert {status for status, _ in answers} == {200}
    assert all(g["settled"] and g["answer_cents"] == 1000 for _, g in answers)
    assert {tuple(x["price_cents"] for x in g["leaders"]) for _, g in answers} == {
        (1000, 1010, 1020)
    }
    coupons = session.scalar(
        select(func.count()).select_from(Coupon).where(Coupon.campaign_id == campaign.id)
    )
    rewarded = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "reward_granted")
    )
    assert coupons == rewarded == 3
    ranks = session.scalars(
        select(PriceGuess.rank).where(PriceGuess.post_id == post.id).order_by(PriceGuess.rank)
    ).all()
    assert ranks == list(range(1, 9))
