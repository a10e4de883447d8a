"""Likes, follows and poll votes: idempotent, final votes, and counts equal to rows under races."""

from datetime import timedelta

from sqlalchemy import any_, func, select

from app.feed.posts.models import Like, PollOption, PollVote, Post
from app.feed.reading.models import Follow, MerchantFollowerCount
from tests import factories, factories_stores
from tests import factories_feed as ff
from tests.race import race, signed_in


def test_like_and_unlike_are_idempotent(client, session, merchant, shopper):
    post = ff.post(session, merchant=merchant)
    session.commit()
    url = f"/v1/posts/{post.id}/like"
    for _ in range(2):
        resp = client.put(url, headers=shopper.headers)
        assert resp.status_code == 200
        assert resp.get_json() == {"post_id": post.id, "liked": True, "like_count": 1}
    for _ in range(2):
        resp = client.delete(url, headers=shopper.headers)
        assert resp.get_json() == {"post_id": post.id, "liked": False, "like_count": 0}
    assert session.scalar(select(func.count()).select_from(Like)) == 0
    assert client.put(url).status_code == 401


def test_follow_unfollow_and_the_list_of_follows(client, session, merchant, make_shopper):
    me, other = make_shopper(), make_shopper()
    second = factories.merchant(session, name="Second")
    session.commit()
    url = f"/v1/merchants/{merchant.id}/follow"
    assert client.put(url, headers=me.headers).get_json()["follower_count"] == 1
    assert client.put(url, headers=me.headers).get_json()["follower_count"] == 1
    assert client.put(url, headers=other.headers).get_json()["follower_count"] == 2
    client.put(f"/v1/merchants/{second.id}/follow", headers=me.headers)
    assert client.get(url).get_json() == {
        "merchant_id": merchant.id,
        "following": False,
        "follower_count": 2,
        "reward": None,
    }
    assert client.get(url, headers=me.headers).get_json()["following"] is True
    page = client.get("/v1/me/follows?limit=1", headers=me.headers).get_json()
    rest = client.get(f"/v1/me/follows?cursor={page['next_cursor']}", headers=me.headers).get_json()
    assert [i["merchant_id"] for i in page["items"] + rest["items"]] == [second.id, merchant.id]
    assert rest["items"][0]["follower_count"] == 2
    for _ in range(2):
        resp = client.delete(url, headers=me.headers)
        assert resp.get_json() == {
            "merchant_id": merchant.id,
            "following": False,
            "follower_count": 1,
            "reward": None,
        }
    assert client.put("/v1/merchants/999999/follow", headers=me.headers).status_code == 404


def poll(session, merchant, **kwargs):
    post = ff.post(
        session, merchant=merchant, kind="poll", options=["Oolong", "Matcha", "Chai"], **kwargs
    )
    session.commit()
    return post, [o.id for o in post.options]


def test_a_vote_counts_once_and_is_final(client, session, merchant, make_shopper):
    post, options = poll(session, merchant)
    me, other = make_shopper(), make_shopper()
    url = f"/v1/posts/{post.id}/votes"
    resp = client.post(url, json={"option_ids": [options[0]]}, headers=me.headers)
    assert resp.status_code == 201
    result = resp.get_json()["poll"]
    assert result["my_choices"] == [options[0]]
    assert result["voter_count"] == 1
    assert [o["percent"] for o in result["options"]] == [100.0, 0.0, 0.0]
    resp = client.post(url, json={"option_ids": [options[1]]}, headers=me.headers)
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "feed.already_voted"
    client.post(url, json={"option_ids": [options[1]]}, headers=other.headers)
    votes = client.get(f"/v1/posts/{post.id}").get_json()["poll"]["options"]
    assert [(o["votes"], o["percent"]) for o in votes] == [(1, 50.0), (1, 50.0), (0, 0.0)]


def test_the_vote_answer_is_the_post_as_the_voter_reads_it_next(
    client, session, merchant, make_shopper
):
    # A store's poll, liked by the voter, with another shopper's ballot on another option: the
    # answer is built without reading the post back, so it must equal what a read then shows.
    shop = factories_stores.store(session, merchant=merchant, name="Da'an tea bar")
    post, options = poll(session, merchant, store_id=shop.id)
    me, other = make_shopper(), make_shopper()
    url = f"/v1/posts/{post.id}/votes"
    assert (
        client.post(url, json={"option_ids": [options[2]]}, headers=other.headers).status_code
        == 201
    )
    assert client.put(f"/v1/posts/{post.id}/like", headers=me.headers).status_code == 200
    resp = client.post(url, json={"option_ids": [options[0]]}, headers=me.headers)
    assert resp.status_code == 201
    answer = resp.get_json()
    assert answer.pop("reward") is None
    assert answer["store"] == {"id": shop.id, "name": "Da'an tea bar", "city": shop.city}
    assert answer["merchant"]["name"] == merchant.name and answer["liked_by_me"] is True
    assert [o["votes"] for o in answer["poll"]["options"]] == [1, 0, 1]
    assert answer == client.get(f"/v1/posts/{post.id}", headers=me.headers).get_json()


def test_ballot_rules(client, session, merchant, shopper):
    post, options = poll(session, merchant, max_choices=2)
    other, _ = poll(session, merchant)
    url = f"/v1/posts/{post.id}/votes"
    assert (
        client.post(url, json={"option_ids": options}, headers=shopper.headers).status_code == 422
    )
    unknown = {"option_ids": [other.options[0].id]}
    assert client.post(url, json=unknown, headers=shopper.headers).status_code == 422
    assert client.post(url, json={"option_ids": []}, headers=shopper.headers).status_code == 422
    resp = client.post(url, json={"option_ids": options[:2]}, headers=shopper.headers)
    assert resp.status_code == 201
    assert sorted(resp.get_json()["poll"]["my_choices"]) == sorted(options[:2])
    article = ff.post(session, merchant=merchant)
    session.commit()
    resp = client.post(
        f"/v1/posts/{article.id}/votes", json={"option_ids": [1]}, headers=shopper.headers
    )
    assert resp.status_code == 422


def test_a_closed_poll_takes_no_votes(client, session, merchant, shopper):
    post, options = poll(session, merchant, closes_in=-timedelta(minutes=1))
    resp = client.post(
        f"/v1/posts/{post.id}/votes", json={"option_ids": options[:1]}, headers=shopper.headers
    )
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "feed.poll_closed"


def test_hidden_results_show_only_after_close_but_always_to_staff(
    client, session, merchant, shopper, owner
):
    post, options = poll(session, merchant, closes_in=timedelta(hours=1), hide_results=True)
    resp = client.post(
        f"/v1/posts/{post.id}/votes", json={"option_ids": options[:1]}, headers=shopper.headers
    )
    result = resp.get_json()["poll"]
    assert result["results_visible"] is False
    assert result["my_choices"] == options[:1]
    assert {o["votes"] for o in result["options"]} == {None}
    admin = client.get(f"/v1/admin/posts/{post.id}", headers=owner.headers).get_json()["poll"]
    assert [o["votes"] for o in admin["options"]] == [1, 0, 0]
    post.poll_closes_at = post.publish_at + timedelta(seconds=1)
    session.commit()
    result = client.get(f"/v1/posts/{post.id}").get_json()["poll"]
    assert (result["closed"], result["results_visible"]) == (True, True)
    assert [o["votes"] for o in result["options"]] == [1, 0, 0]


# --- races ----------------------------------------------------------------------------------


def requests(calls):
    """(method, url, json, headers) as calls for `race`, each answering its status."""
    return [
        lambda client, m=m, u=u, b=b, h=h: client.open(u, method=m, json=b, headers=h).status_code
        for m, u, b, h in calls
    ]


def count(session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


def test_sixteen_racing_likers_and_voters_leave_exact_counts(
    committed, make_shopper, merchant, session
):
    shoppers = signed_in(make_shopper, 16)
    post = ff.post(session, merchant=merchant)
    poll_post = ff.post(session, merchant=merchant, kind="poll", options=["a", "b"], max_choices=2)
    session.commit()
    options = [o.id for o in poll_post.options]
    like = [("PUT", f"/v1/posts/{post.id}/like", None, s.headers) for s in shoppers]
    vote = [
        ("POST", f"/v1/posts/{poll_post.id}/votes", {"option_ids": options}, s.headers)
        for s in shoppers
    ]
    # Four shoppers like and vote twice at the same moment: the second of each changes nothing.
    statuses = race(committed, requests(like + vote + like[:4] + vote[:4]))
    assert statuses.count(200) == 20
    assert (statuses.count(201), statuses.count(409)) == (16, 4)

    session.expire_all()
    likes = count(session, select(Like).where(Like.post_id == post.id))
    assert likes == 16 == session.get(Post, post.id).like_count
    ballots = count(session, select(PollVote).where(PollVote.post_id == poll_post.id))
    assert ballots == 16 == session.get(Post, poll_post.id).voter_count
    for option_id in options:
        rows = count(session, select(PollVote).where(any_(PollVote.option_ids) == option_id))
        assert rows == 16 == session.get(PollOption, option_id).votes


def test_sixteen_racing_followers_leave_an_exact_count(committed, make_shopper, merchant, session):
    shoppers = signed_in(make_shopper, 16)
    url = f"/v1/merchants/{merchant.id}/follow"
    calls = [("PUT", url, None, s.headers) for s in shoppers + shoppers[:4]]
    assert set(race(committed, requests(calls))) == {200}
    session.expire_all()
    follows = count(session, select(Follow).where(Follow.merchant_id == merchant.id))
    assert follows == 16 == session.get(MerchantFollowerCount, merchant.id).followers


def test_sixteen_racing_unlikers_leave_exact_counts(committed, make_shopper, merchant, session):
    shoppers = signed_in(make_shopper, 16)
    post = ff.post(session, merchant=merchant)
    session.commit()
    for s in shoppers[:12]:
        session.add(Like(post_id=post.id, user_id=s.id))
    post.like_count = 12
    session.commit()
    calls = [("DELETE", f"/v1/posts/{post.id}/like", None, s.headers) for s in shoppers[:8]]
    calls += [("PUT", f"/v1/posts/{post.id}/like", None, s.headers) for s in shoppers[8:]]
    assert set(race(committed, requests(calls))) == {200}
    session.expire_all()
    likes = count(session, select(Like).where(Like.post_id == post.id))
    assert likes == 8 == session.get(Post, post.id).like_count
