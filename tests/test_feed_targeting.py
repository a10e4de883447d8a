"""Posts targeted at segments: only their shoppers see them, in the feed, on the merchant's page
and by id (404 for anyone else, signed out included)."""

from sqlalchemy import select

from app.feed.posts.models import Post
from tests import factories, factories_stores
from tests import factories_feed as ff
from tests import factories_segments as seg
from tests.factories_feed import media_root  # noqa: F401  (autouse)
from tests.factories_stores import TAIPEI


def _targeted(session, merchant, rule):
    segment = seg.segment(session, merchant=merchant, rule=rule)
    post = ff.post(session, merchant=merchant, title="For you")
    post.segment_ids = [segment.id]
    session.flush()  # visible to the requests
    return post


def _feed_ids(client, caller=None, **args):
    headers = caller.headers if caller else {}
    resp = client.get("/v1/feed", query_string=args, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return [item["id"] for item in resp.get_json()["items"] if item["type"] == "post"]


def test_a_segment_post_reaches_only_its_members(client, session, merchant, make_shopper):
    member, outsider = make_shopper(), make_shopper()
    for caller in (member, outsider):
        seg.follow(session, user_id=caller.id, merchant=merchant)
    store = factories_stores.store(session, merchant=merchant)
    ff.show(session, user_id=member.id, merchant=merchant)
    post = _targeted(session, merchant, {"type": "buyer_show"})
    everyone = ff.post(session, merchant=merchant, title="For all")
    session.commit()
    assert store
    assert {everyone.id, post.id} <= set(_feed_ids(client, member))
    assert post.id not in _feed_ids(client, outsider)
    assert everyone.id in _feed_ids(client, outsider)
    page = client.get(f"/v1/merchants/{merchant.id}/posts", headers=outsider.headers).get_json()
    assert [p["id"] for p in page["items"]] == [everyone.id]
    page = client.get(f"/v1/merchants/{merchant.id}/posts", headers=member.headers).get_json()
    assert {p["id"] for p in page["items"]} == {everyone.id, post.id}
    assert client.get(f"/v1/posts/{post.id}", headers=member.headers).status_code == 200
    assert client.get(f"/v1/posts/{post.id}", headers=outsider.headers).status_code == 404
    assert client.get(f"/v1/posts/{post.id}").status_code == 404
    assert client.put(f"/v1/posts/{post.id}/like", headers=outsider.headers).status_code == 404
    assert client.delete(f"/v1/posts/{post.id}/like", headers=outsider.headers).status_code == 404
    liked = client.put(f"/v1/posts/{post.id}/like", headers=member.headers)
    assert liked.status_code == 200 and liked.get_json()["like_count"] == 1


def test_not_a_follower_segment_sees_the_city_post_followers_do_not(
    client, session, merchant, make_shopper
):
    fan, passerby = make_shopper(), make_shopper()
    seg.follow(session, user_id=fan.id, merchant=merchant)
    factories_stores.store(session, merchant=merchant)
    post = _targeted(session, merchant, {"type": "not", "rule": {"type": "follows"}})
    post.cities = ["taipei"]
    session.commit()
    here = {"lat": TAIPEI[0], "lng": TAIPEI[1]}
    assert post.id in _feed_ids(client, passerby, **here)
    assert post.id not in _feed_ids(client, fan, **here)
    assert post.id not in _feed_ids(client, None, **here)  # signed out: in no segment


def test_targeting_is_set_by_the_merchant_and_checked(client, session, merchant, owner):
    mine = seg.segment(session, merchant=merchant, rule={"type": "follows"})
    theirs = seg.segment(session, merchant=factories.merchant(session), rule={"type": "follows"})
    session.commit()
    body = {"kind": "article", "title": "Members only", "segment_ids": [mine.id]}
    resp = client.post("/v1/admin/posts", json=body, headers=owner.headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["segment_ids"] == [mine.id]
    post_id = resp.get_json()["id"]
    assert session.scalar(select(Post.segment_ids).where(Post.id == post_id)) == [mine.id]
    resp = client.post(
        "/v1/admin/posts", json={**body, "segment_ids": [theirs.id]}, headers=owner.headers
    )
    assert resp.status_code == 422 and "segment_ids" in resp.get_json()["errors"]
    resp = client.delete(f"/v1/admin/segments/{mine.id}", headers=owner.headers)
    assert resp.status_code == 409 and resp.get_json()["type"] == "segments.in_use"
