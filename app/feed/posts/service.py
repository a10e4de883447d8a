"""Merchant posts: drafts, edits, scheduling, publishing, hiding and deleting.

A post is `draft`, `published` or `hidden`; a published post whose `publish_at` lies ahead is
reported as `scheduled` and goes live at that moment. Poll options and choice rules can change
only while the poll has not gone live, so a vote never names an option that later disappears.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.accounts import service as accounts_service
from app.catalog import lookups as catalog_lookups
from app.clock import now
from app.errors import Conflict, Invalid, NotFound
from app.events import service as events_service
from app.feed.media import service as media_service
from app.feed.posts import rewards
from app.feed.posts.models import PollOption, Post
from app.pagination import page_by_id
from app.segments import service as segments_service
from app.stores import lookups as stores_lookups

CONTENT_FIELDS = ("title", "body", "image_ids", "video_url", "cover_id", "sku_ids")
POLL_FIELDS = {
    "max_choices": "poll_max_choices",
    "closes_at": "poll_closes_at",
    "hide_results_until_close": "poll_hide_results",
}
GUESS_FIELDS = {
    "sku_id": "guess_sku_id",
    "closes_at": "guess_closes_at",
    "winners": "guess_winners",
    "price_cents": "guess_price_cents",
}


# What a new post starts with (the column defaults, needed before the row is written).
NEW_POST = {
    "state": "draft",
    "image_ids": [],
    "sku_ids": [],
    "cities": [],
    "segment_ids": [],
    "options": [],
    "poll_max_choices": 1,
    "poll_hide_results": False,
    "guess_winners": 1,
}


class PostNotFound(NotFound):
    type = "feed.post_not_found"


def get_post(*, session: Session, merchant_id: int, post_id: int, lock: bool = False) -> Post:
    """One post of the merchant; other merchants' posts are 404."""
    query = select(Post).where(Post.id == post_id, Post.merchant_id == merchant_id)
    post = session.scalar(query.with_for_update() if lock else query)
    if post is None:
        raise PostNotFound("Post not found.")
    return post


def list_posts(
    *, session: Session, merchant_id: int, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Post], str | None]:
    """The merchant's posts, newest first, optionally of one status."""
    query = select(Post).where(Post.merchant_id == merchant_id).options(selectinload(Post.options))
    at = now()
    if status == "scheduled":
        query = query.where(Post.state == "published", Post.publish_at > at)
    elif status == "published":
        query = query.where(Post.state == "published", Post.publish_at <= at)
    elif status:
        query = query.where(Post.state == status)
    return page_by_id(
        session, query, id_column=Post.id, kind="admin-posts", limit=limit, cursor=cursor
    )


def check_skus(*, session: Session, merchant_id: int, sku_ids: list[int]) -> list[int]:
    """The ids without repeats, if every one is an active SKU of the merchant; else 404."""
    return catalog_lookups.require_merchant_skus(
        session=session, merchant_id=merchant_id, sku_ids=sku_ids
    )


def _check_media(session: Session, merchant_id: int, data: dict) -> None:
    # Posts show images uploaded by the merchant's staff, never another account's uploads.
    staff_ids = {
        s.user_id for s in accounts_service.list_staff(session=session, merchant_id=merchant_id)
    }
    for field, ids in (("image_ids", data.get("image_ids")), ("cover_id", [data.get("cover_id")])):
        ids = [i for i in ids or () if i is not None]
        if ids:
            media_service.require_media(
                session=session, media_ids=ids, uploader_ids=staff_ids, field=field
            )


def _check_references(session: Session, merchant_id: int, data: dict) -> None:
    """Store, SKUs and images must be the merchant's own; other tenants' are not found."""
    if (store_id := data.get("store_id")) is not None:
        stores_lookups.merchant_store(session=session, merchant_id=merchant_id, store_id=store_id)
    if data.get("sku_ids"):
        data["sku_ids"] = check_skus(
            session=session, merchant_id=merchant_id, sku_ids=data["sku_ids"]
        )
    _check_media(session, merchant_id, data)
    guess_sku = (data.get("guess") or {}).get("sku_id")
    if guess_sku is not None:
        check_skus(session=session, merchant_id=merchant_id, sku_ids=[guess_sku])
    if data.get("reward_campaign_id") is not None:
        rewards.check_campaign(
            session=session,
            merchant_id=merchant_id,
            campaign_id=data["reward_campaign_id"],
            field="reward_campaign_id",
        )
    if data.get("segment_ids"):
        data["segment_ids"] = segments_service.check_targets(
            session=session,
            merchant_id=merchant_id,
            segment_ids=data["segment_ids"],
            field="segment_ids",
        )
    if "cities" in data:
        # Stored lowercased: a shopper's city matches whatever the case the merchant typed.
        data["cities"] = sorted({c.strip().lower() for c in data["cities"] if c.strip()})


def _check_complete(post: Post) -> None:
    """What each kind needs, checked on the post as it will be stored."""
    required = {
        "article": ("title",),
        "video": ("video_url", "cover_id"),
        "poll": ("title",),
        "product": ("sku_ids",),
        "price_guess": ("title",),
    }[post.kind]
    for field in required:
        if not getattr(post, field):
            raise Invalid(field, f"Required for {post.kind} posts.")
    if post.kind != "video" and post.video_url:
        raise Invalid("video_url", "Only video posts have a video.")
    if post.kind not in ("poll", "price_guess") and post.reward_campaign_id:
        raise Invalid("reward_campaign_id", "Only polls and guess games reward.")
    if post.kind == "price_guess":
        _check_guess_complete(post)
    if post.kind == "poll":
        _check_poll_complete(post)


def _check_guess_complete(post: Post) -> None:
    for key in ("sku_id", "closes_at"):
        if getattr(post, GUESS_FIELDS[key]) is None:
            raise Invalid(f"guess.{key}", "Required for price_guess posts.")


def _check_poll_complete(post: Post) -> None:
    if not post.options:
        raise Invalid("poll", "Required for poll posts.")
    if post.poll_max_choices > len(post.options):
        raise Invalid("poll.max_choices", "At most the number of options.")
    if post.poll_hide_results and post.poll_closes_at is None:
        raise Invalid("poll.hide_results_until_close", "Needs closes_at.")


def _apply_poll(session: Session, post: Post, poll: dict | None, at: datetime) -> None:
    if poll is None:
        return
    if post.kind != "poll":
        raise Invalid("poll", "Only poll posts have a poll.")
    if post.state != "draft" and post.publish_at <= at:
        raise Conflict("A poll that went live cannot change.", type="feed.poll_locked")
    for key, column in POLL_FIELDS.items():
        if key in poll:
            setattr(post, column, poll[key])
    if "options" in poll:
        if post.id is not None:
            post.options = []
            session.flush()  # the old options go before the new ones take their positions
        post.options = [
            PollOption(position=i, label=label) for i, label in enumerate(poll["options"])
        ]


def _apply_guess(post: Post, guess: dict | None, at: datetime) -> None:
    if guess is None:
        return
    if post.kind != "price_guess":
        raise Invalid("guess", "Only price_guess posts have a guess game.")
    if post.state != "draft" and post.publish_at <= at:
        raise Conflict("A guess game that went live cannot change.", type="feed.guess_locked")
    for key, column in GUESS_FIELDS.items():
        if key in guess:
            setattr(post, column, guess[key])


def create_post(*, session: Session, merchant_id: int, user_id: int, data: dict) -> Post:
    """A draft post of the merchant."""
    _check_references(session, merchant_id, data)
    poll, guess = data.pop("poll", None), data.pop("guess", None)
    post = Post(merchant_id=merchant_id, created_by=user_id, **{**NEW_POST, **data})
    _apply_poll(session, post, poll, now())
    _apply_guess(post, guess, now())
    _check_complete(post)
    session.add(post)
    session.flush()  # the id goes back to the caller
    return post


def update_post(*, session: Session, merchant_id: int, post_id: int, changes: dict) -> Post:
    """Change a post's content or targets; a live poll keeps its options."""
    post = get_post(session=session, merchant_id=merchant_id, post_id=post_id, lock=True)
    _check_references(session, merchant_id, changes)
    _apply_poll(session, post, changes.pop("poll", None), now())
    _apply_guess(post, changes.pop("guess", None), now())
    for key, value in changes.items():
        setattr(post, key, value)
    _check_complete(post)
    if post.state == "published" and post.kind in ("poll", "price_guess"):
        _check_closes_after_publish(post)
    return post


def _check_closes_after_publish(post: Post) -> None:
    for field, closes_at in (("poll", post.poll_closes_at), ("guess", post.guess_closes_at)):
        if closes_at is not None and closes_at <= post.publish_at:
            raise Invalid(f"{field}.closes_at", "Must be after the post is published.")


def publish_post(
    *, session: Session, merchant_id: int, post_id: int, publish_at: datetime | None
) -> Post:
    """Publish now, or schedule for `publish_at`; a hidden post comes back as it was."""
    post = get_post(session=session, merchant_id=merchant_id, post_id=post_id, lock=True)
    at = now()
    if publish_at is not None and publish_at <= at:
        raise Invalid("publish_at", "Must be in the future; leave it out to publish now.")
    was_live = post.publish_at is not None and post.publish_at <= at
    if publish_at is not None and post.state != "draft" and was_live:
        raise Conflict("The post has been live; it cannot be rescheduled.", type="feed.was_live")
    if publish_at is not None:
        post.publish_at = publish_at
    elif not (post.state == "hidden" and was_live):
        post.publish_at = at  # keeps its old place in the feed when unhidden
    post.state, post.hidden_reason = "published", None
    _check_closes_after_publish(post)
    events_service.emit(
        session=session,
        type="post.published",
        merchant_id=merchant_id,
        ordering_key=f"post:{post.id}",
        data={
            "post_id": post.id,
            "kind": post.kind,
            "title": post.title,
            "publish_at": post.publish_at,
            "segment_ids": post.segment_ids,
        },
    )
    return post


def hide_post(*, session: Session, merchant_id: int, post_id: int, reason: str | None) -> Post:
    """Take a post off every reader's screen (it answers 404 to them)."""
    post = get_post(session=session, merchant_id=merchant_id, post_id=post_id, lock=True)
    if post.state == "draft":
        raise Conflict("A draft is not shown anyway.", type="feed.not_published")
    post.state, post.hidden_reason = "hidden", reason
    return post


def delete_post(*, session: Session, merchant_id: int, post_id: int) -> None:
    """Delete a post with its likes, options and votes."""
    post = get_post(session=session, merchant_id=merchant_id, post_id=post_id, lock=True)
    session.delete(post)


def live_condition(at: datetime):
    """The SQL condition for posts readers may see."""
    return (Post.state == "published") & (Post.publish_at <= at)


def visible_to(viewer_id: int | None, point=None):
    """SQL: the post targets no segment, or the reader is in one of its segments (at `point`)."""
    return segments_service.targets_viewer(Post.segment_ids, viewer_id, point)


def get_live_post(
    *, session: Session, post_id: int, viewer_id: int | None, lock: bool = False
) -> Post:
    """A post this reader may see; drafts, scheduled, hidden posts and posts of segments the
    reader is not in are 404."""
    query = select(Post).where(Post.id == post_id, live_condition(now()), visible_to(viewer_id))
    post = session.scalar(query.with_for_update() if lock else query)
    if post is None:
        raise PostNotFound("Post not found.")
    return post
