"""Merchant admin of posts: drafts, kinds, scheduling, publishing, hiding, deleting, tenancy."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.feed.posts.models import Like, PollOption, Post
from tests import factories, factories_stores
from tests import factories_feed as ff
from tests.factories_feed import media_root  # noqa: F401  (autouse fixture)


def create(client, caller, **body):
    body.setdefault("kind", "article")
    if body["kind"] in ("article", "poll"):
        body.setdefault("title", "Spring teas")
    return client.post("/v1/admin/posts", json=body, headers=caller.headers)


def upload(client, caller) -> int:
    return ff.upload(client, caller).get_json()["id"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_an_article_starts_as_a_draft(client, owner):
    image_id = upload(client, owner)
    resp = create(client, owner, body="Three harvests.", image_ids=[image_id], cities=["Taipei"])
    assert resp.status_code == 201, resp.get_json()
    post = resp.get_json()
    assert (post["status"], post["state"], post["publish_at"]) == ("draft", "draft", None)
    assert post["images"][0]["id"] == image_id
    assert post["images"][0]["thumb_url"].endswith("-thumb.webp")
    assert post["cities"] == ["taipei"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "article", "title": None}, "title"),
        ({"kind": "video", "video_url": "https://v.example.com/1.mp4"}, "cover_id"),
        ({"kind": "video", "video_url": "http://v.example.com/1.mp4"}, "video_url"),
        ({"kind": "poll"}, "poll"),
        ({"kind": "poll", "poll": {"options": ["only one"]}}, "poll.options"),
        ({"kind": "poll", "poll": {"options": ["a", "b"], "max_choices": 3}}, "poll.max_choices"),
        ({"kind": "poll", "poll": {"options": list("abcdefghijk")}}, "poll.options"),
        (
            {"kind": "poll", "poll": {"options": ["a", "b"], "hide_results_until_close": True}},
            "poll.hide_results_until_close",
        ),
        ({"kind": "product"}, "sku_ids"),
        ({"kind": "article", "body": "x" * 10_001}, "body"),
        ({"kind": "article", "image_ids": list(range(1, 11))}, "image_ids"),
        ({"kind": "article", "poll": {"options": ["a", "b"]}}, "poll"),
        ({"kind": "gossip"}, "kind"),
    ],
)
def test_each_kind_needs_its_fields(client, owner, body, field):
    resp = create(client, owner, **body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_a_video_post_with_its_cover(client, owner):
    cover = upload(client, owner)
    resp = create(
        client, owner, kind="video", video_url="https://v.example.com/1.mp4", cover_id=cover
    )
    assert resp.status_code == 201
    assert resp.get_json()["cover"]["id"] == cover


def test_images_must_come_from_the_merchants_staff(client, owner, shopper):
    someone_elses = upload(client, shopper)
    resp = create(client, owner, image_ids=[someone_elses])
    assert resp.status_code == 422
    assert "image_ids" in resp.get_json()["errors"]


def test_product_posts_tag_the_merchants_own_skus(client, owner, merchant, session):
    mine = ff.sku(session, merchant=merchant)
    theirs = ff.sku(session, merchant=factories.merchant(session))
    session.commit()
    assert create(client, owner, kind="product", sku_ids=[mine.id]).status_code == 201
    resp = create(client, owner, kind="product", sku_ids=[mine.id, theirs.id])
    assert resp.status_code == 404
    assert resp.get_json()["type"] == "catalog.sku_not_found"


def test_a_store_target_must_be_the_merchants_store(client, owner, merchant, session):
    mine = factories_stores.store(session, merchant=merchant)
    theirs = factories_stores.store(session, merchant=factories.merchant(session))
    session.commit()
    assert create(client, owner, store_id=mine.id).get_json()["store"]["id"] == mine.id
    assert create(client, owner, store_id=theirs.id).status_code == 404


def test_publish_now_schedule_and_hide(client, owner):
    post_id = create(client, owner).get_json()["id"]
    ahead = datetime.now(UTC) + timedelta(days=1)
    resp = client.post(
        f"/v1/admin/posts/{post_id}/publish", json={"publish_at": iso(ahead)}, headers=owner.headers
    )
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "scheduled"
    resp = client.post(f"/v1/admin/posts/{post_id}/publish", json={}, headers=owner.headers)
    assert resp.get_json()["status"] == "published"
    first_published = resp.get_json()["publish_at"]
    resp = client.post(
        f"/v1/admin/posts/{post_id}/hide", json={"reason": "Outdated"}, headers=owner.headers
    )
    assert (resp.get_json()["status"], resp.get_json()["hidden_reason"]) == ("hidden", "Outdated")
    resp = client.post(f"/v1/admin/posts/{post_id}/publish", json={}, headers=owner.headers)
    assert resp.get_json()["status"] == "published"
    assert resp.get_json()["publish_at"] == first_published  # keeps its place in the feed


def test_a_post_that_was_live_cannot_be_rescheduled(client, owner):
    post_id = create(client, owner).get_json()["id"]
    client.post(f"/v1/admin/posts/{post_id}/publish", json={}, headers=owner.headers)
    ahead = datetime.now(UTC) + timedelta(days=1)
    resp = client.post(
        f"/v1/admin/posts/{post_id}/publish", json={"publish_at": iso(ahead)}, headers=owner.headers
    )
    assert resp.status_code == 409


def test_publish_at_in_the_past_is_refused(client, owner):
    post_id = create(client, owner).get_json()["id"]
    past = datetime.now(UTC) - timedelta(minutes=5)
    resp = client.post(
        f"/v1/admin/posts/{post_id}/publish", json={"publish_at": iso(past)}, headers=owner.headers
    )
    assert resp.status_code == 422


def test_a_poll_cannot_close_before_it_is_published(client, owner):
    closes = datetime.now(UTC) + timedelta(hours=1)
    post = create(
        client, owner, kind="poll", poll={"options": ["a", "b"], "closes_at": iso(closes)}
    ).get_json()
    later = closes + timedelta(hours=1)
    resp = client.post(
        f"/v1/admin/posts/{post['id']}/publish",
        json={"publish_at": iso(later)},
        headers=owner.headers,
    )
    assert resp.status_code == 422
    assert "poll.closes_at" in resp.get_json()["errors"]


def test_poll_options_change_until_the_poll_goes_live(client, owner, session):
    post = create(client, owner, kind="poll", poll={"options": ["a", "b"]}).get_json()
    url = f"/v1/admin/posts/{post['id']}"
    resp = client.patch(url, json={"poll": {"options": ["x", "y", "z"]}}, headers=owner.headers)
    assert [o["label"] for o in resp.get_json()["poll"]["options"]] == ["x", "y", "z"]
    client.post(f"{url}/publish", json={}, headers=owner.headers)
    resp = client.patch(url, json={"poll": {"options": ["p", "q"]}}, headers=owner.headers)
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "feed.poll_locked"
    assert client.patch(url, json={"body": "Vote!"}, headers=owner.headers).status_code == 200
    labels = session.scalars(select(PollOption.label).where(PollOption.post_id == post["id"]))
    assert sorted(labels) == ["x", "y", "z"]


def test_the_admin_list_filters_by_status(client, owner, merchant, session):
    ff.post(session, merchant=merchant, state="draft")
    ff.post(session, merchant=merchant, ago=-timedelta(hours=2))
    ff.post(session, merchant=merchant)
    ff.post(session, merchant=merchant, state="hidden")
    ff.post(session, merchant=factories.merchant(session))
    session.commit()
    resp = client.get("/v1/admin/posts?limit=2", headers=owner.headers)
    page = resp.get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/v1/admin/posts?limit=2&cursor={page['next_cursor']}", headers=owner.headers
    ).get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    for status in ("draft", "scheduled", "published", "hidden"):
        items = client.get(f"/v1/admin/posts?status={status}", headers=owner.headers).get_json()
        assert [i["status"] for i in items["items"]] == [status]


def test_delete_removes_the_post_and_its_likes(client, owner, merchant, shopper, session):
    post = ff.post(session, merchant=merchant)
    session.commit()
    client.put(f"/v1/posts/{post.id}/like", headers=shopper.headers)
    assert client.delete(f"/v1/admin/posts/{post.id}", headers=owner.headers).status_code == 204
    assert session.scalar(select(Post).where(Post.id == post.id)) is None
    assert session.scalar(select(Like).where(Like.post_id == post.id)) is None


def test_roles_operators_edit_service_only_hides_store_managers_nothing(
    client, make_staff, merchant, session
):
    post = ff.post(session, merchant=merchant)
    session.commit()
    operator, service, manager = (
        make_staff("operator"),
        make_staff("service"),
        make_staff(
            "store_manager", store_ids=[factories_stores.store(session, merchant=merchant).id]
        ),
    )
    assert create(client, operator).status_code == 201
    assert create(client, service).status_code == 403
    url = f"/v1/admin/posts/{post.id}"
    assert client.patch(url, json={"body": "x"}, headers=service.headers).status_code == 403
    assert client.post(f"{url}/hide", json={}, headers=service.headers).status_code == 200
    assert client.post(f"{url}/publish", json={}, headers=service.headers).status_code == 403
    assert client.get("/v1/admin/posts", headers=manager.headers).status_code == 403


def test_another_merchants_post_is_404(client, owner, session, unchanged):
    theirs = ff.post(session, merchant=factories.merchant(session))
    session.commit()
    url = f"/v1/admin/posts/{theirs.id}"
    with unchanged():
        assert client.get(url, headers=owner.headers).status_code == 404
        assert client.patch(url, json={"body": "x"}, headers=owner.headers).status_code == 404
        assert client.post(f"{url}/hide", json={}, headers=owner.headers).status_code == 404
        assert client.delete(url, headers=owner.headers).status_code == 404


def test_an_idempotency_key_replays_the_first_draft(client, owner, session):
    headers = {**owner.headers, "Idempotency-Key": "draft-1"}
    body = {"kind": "article", "title": "Once"}
    first = client.post("/v1/admin/posts", json=body, headers=headers)
    again = client.post("/v1/admin/posts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(session.scalars(select(Post)).all()) == 1
