"""Likes, poll votes and follows: a unique row per user, and a counter moved in the same
transaction only when that row was really inserted or deleted (INSERT ... ON CONFLICT DO NOTHING
RETURNING), so counts equal rows however many requests race.

Votes are final: a shopper votes once per poll (one row, primary key (post_id, user_id)) and
cannot change or withdraw the ballot, so percentages never move backwards under a reader.
"""

from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    DateTime,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import prepared
from app.accounts import service as accounts_service
from app.accounts.models import Merchant
from app.errors import Conflict, Invalid
from app.feed.posts import rewards
from app.feed.posts.models import Like, PollOption, PollVote, Post
from app.feed.posts.presentation import Known, describe_posts
from app.feed.posts.service import PostNotFound, get_live_post, live_condition, now, visible_to
from app.feed.reading.models import Follow, MerchantFollowerCount
from app.pagination import decode_cursor, encode_cursor
from app.stores.models import Store


def insert_once(session: Session, model, **values) -> bool:
    """Insert a row; False, and nothing written, when its primary key is taken already."""
    stmt = insert(model).values(**values).on_conflict_do_nothing().returning(*model.__table__.c)
    return session.execute(stmt).first() is not None


def delete_once(session: Session, model, **key) -> bool:
    """Delete the row `key` names; False when there was none."""
    where = [getattr(model, column) == value for column, value in key.items()]
    stmt = delete(model).where(*where).returning(*model.__table__.c)
    return session.execute(stmt).first() is not None


@cache
def _like_statement(liked: bool):
    """Like (liked=True) or unlike as one prepared statement, built and compiled once: the post
    as get_live_post finds it (live, and untargeted or in one of the reader's segments), the
    like row inserted or deleted at most once, and the counter moved only when it was. Through
    the ORM this was ~45 % of a like's Python (building and compiling the visibility rule and
    loading the Post; cProfile, docs/PERFORMANCE.md)."""
    user = bindparam("user", type_=BigInteger)
    post = (
        select(Post.id, Post.like_count)
        .where(
            Post.id == bindparam("post", type_=BigInteger),
            live_condition(bindparam("at", type_=DateTime(timezone=True))),
            visible_to(user),
        )
        .cte("post")
    )
    if liked:
        changed = (
            insert(Like)
            .from_select(["post_id", "user_id"], select(post.c.id, user))
            .on_conflict_do_nothing()
            .returning(Like.post_id)
        )
    else:
        changed = (
            delete(Like)
            .where(Like.post_id.in_(select(post.c.id)), Like.user_id == user)
            .returning(Like.post_id)
        )
    changed = changed.cte("changed")
    bumped = (
        update(Post)
        .where(Post.id.in_(select(changed.c.post_id)))
        .values(like_count=Post.like_count + (1 if liked else -1))
        .returning(Post.like_count)
        .cte("bumped")
    )
    counted = func.coalesce(select(bumped.c.like_count).scalar_subquery(), post.c.like_count)
    return prepared.compiled(select(post.c.id, counted.label("like_count")))


def _set_like(session: Session, user_id: int, post_id: int, liked: bool) -> dict:
    statement, constants = _like_statement(liked)
    params = {**constants, "post": post_id, "user": user_id, "at": now()}
    rows = prepared.fetch(session, statement, params, in_transaction=True)
    if not rows:
        raise PostNotFound("Post not found.")
    return {"post_id": post_id, "liked": liked, "like_count": rows[0].like_count}


def like_post(*, session: Session, user_id: int, post_id: int) -> dict:
    """Like a live post; liking twice changes nothing."""
    return _set_like(session, user_id, post_id, True)


def unlike_post(*, session: Session, user_id: int, post_id: int) -> dict:
    """Take a like back; unliking twice changes nothing."""
    return _set_like(session, user_id, post_id, False)


def _check_ballot(post: Post, option_ids: list[int], at: datetime) -> list[int]:
    if post.kind != "poll":
        raise Invalid("option_ids", "This post is not a poll.")
    if post.poll_closes_at is not None and post.poll_closes_at <= at:
        raise Conflict("The poll is closed.", type="feed.poll_closed")
    chosen = sorted(set(option_ids))
    if len(chosen) > post.poll_max_choices:
        raise Invalid("option_ids", f"At most {post.poll_max_choices} choice(s).")
    unknown = set(chosen) - {o.id for o in post.options}
    if unknown:
        raise Invalid("option_ids", f"Not options of this poll: {sorted(unknown)}.")
    return chosen


def _keyed(**columns) -> list:
    """json_build_object's arguments with the keys as SQL literals (a bound key has no type a
    PREPARE could infer)."""
    return [x for key, column in columns.items() for x in (literal_column(f"'{key}'"), column)]


@cache
def _vote_statement():
    """A ballot, its options' counts and the post's voter count as one prepared statement, with
    what the answer needs beside (all options' counts, the merchant's name, the store, my like):
    through the ORM a vote was thirteen statements, most of them the answer's lookups and the
    reload of the counters (docs/PERFORMANCE.md). The ballot row is inserted at most once and the
    counters move only then; options are locked before the post, as everywhere."""
    post, user = bindparam("post", type_=BigInteger), bindparam("user", type_=BigInteger)
    chosen = prepared.param("chosen", ARRAY(BigInteger))
    ballot = (
        insert(PollVote)
        .values(post_id=post, user_id=user, option_ids=chosen)
        .on_conflict_do_nothing()
        .returning(PollVote.post_id)
        .cte("ballot")
    )
    o = PollOption
    counted = (
        update(o)
        .where(o.post_id.in_(select(ballot.c.post_id)), o.id == any_(chosen))
        .values(votes=o.votes + 1)
        .returning(o.id, o.votes)
        .cte("counted")
    )
    options_first = select(func.count()).select_from(counted).scalar_subquery() > 0
    voters = (
        update(Post)
        .where(Post.id.in_(select(ballot.c.post_id)), options_first)
        .values(voter_count=Post.voter_count + 1)
        .returning(Post.voter_count)
        .cte("voters")
    )
    store = bindparam("store", type_=BigInteger)
    s = Store
    return prepared.compiled(
        select(
            o.id,
            func.coalesce(counted.c.votes, o.votes).label("votes"),
            select(voters.c.voter_count).scalar_subquery().label("voter_count"),
            select(Merchant.name)
            .where(Merchant.id == bindparam("merchant", type_=BigInteger))
            .scalar_subquery()
            .label("merchant_name"),
            select(func.json_build_object(*_keyed(id=s.id, name=s.name, city=s.city)))
            .where(s.id == store)
            .scalar_subquery()
            .label("store"),
            exists(select(Like.post_id).where(Like.post_id == post, Like.user_id == user)).label(
                "liked"
            ),
        )
        .select_from(o)
        .outerjoin(counted, counted.c.id == o.id)
        .where(o.post_id == post)
    )


def vote(*, session: Session, user_id: int, post_id: int, option_ids: list[int]) -> dict:
    """Cast my one ballot in a live, open poll; the answer is the poll as I now see it."""
    post = get_live_post(session=session, post_id=post_id, viewer_id=user_id)
    chosen = _check_ballot(post, option_ids, now())
    statement, constants = _vote_statement()
    params = {
        **constants,
        "post": post_id,
        "user": user_id,
        "chosen": chosen,
        "merchant": post.merchant_id,
        "store": post.store_id,
    }
    rows = prepared.fetch(session, statement, params, in_transaction=True)
    if rows[0].voter_count is None:
        raise Conflict("You have voted in this poll; votes are final.", type="feed.already_voted")
    # The counters as the statement left them: no reload of the post and its options.
    votes = {r.id: r.votes for r in rows}
    for option in post.options:
        set_committed_value(option, "votes", votes[option.id])
    set_committed_value(post, "voter_count", rows[0].voter_count)
    reward = rewards.grant(session=session, user_id=user_id, campaign_id=post.reward_campaign_id)
    first = rows[0]
    known = {post.id: Known(first.merchant_name, first.store, first.liked, chosen)}
    view = describe_posts(session=session, posts=[post], viewer_id=user_id, known=known)[0]
    return {**view, "reward": reward}


# --- follows --------------------------------------------------------------------------------


def _followers(session: Session, merchant_id: int) -> int:
    count = session.scalar(
        select(MerchantFollowerCount.followers).where(
            MerchantFollowerCount.merchant_id == merchant_id
        )
    )
    return count or 0


def _follow_view(merchant_id: int, following: bool, followers: int, reward=None) -> dict:
    return {
        "merchant_id": merchant_id,
        "following": following,
        "follower_count": followers,
        "reward": reward,
    }


def follow_status(*, session: Session, user_id: int | None, merchant_id: int) -> dict:
    """A merchant's follower count and whether I follow it."""
    accounts_service.get_merchant(session=session, merchant_id=merchant_id)
    following = user_id is not None and bool(
        session.get(Follow, {"user_id": user_id, "merchant_id": merchant_id})
    )
    return _follow_view(merchant_id, following, _followers(session, merchant_id))


def follow(*, session: Session, user_id: int, merchant_id: int) -> dict:
    """Follow a merchant; following twice changes nothing."""
    accounts_service.get_merchant(session=session, merchant_id=merchant_id)
    if not insert_once(session, Follow, user_id=user_id, merchant_id=merchant_id):
        return _follow_view(merchant_id, True, _followers(session, merchant_id))
    counted = insert(MerchantFollowerCount).values(merchant_id=merchant_id, followers=1)
    followers = session.execute(
        counted.on_conflict_do_update(
            index_elements=[MerchantFollowerCount.merchant_id],
            set_={"followers": MerchantFollowerCount.followers + 1},
        ).returning(MerchantFollowerCount.followers)
    ).scalar_one()
    campaign_id = rewards.reward_campaign(
        session=session, merchant_id=merchant_id, trigger="follow"
    )
    reward = rewards.grant(session=session, user_id=user_id, campaign_id=campaign_id)
    return _follow_view(merchant_id, True, followers, reward)


def unfollow(*, session: Session, user_id: int, merchant_id: int) -> dict:
    """Stop following a merchant; unfollowing twice changes nothing."""
    accounts_service.get_merchant(session=session, merchant_id=merchant_id)
    if not delete_once(session, Follow, user_id=user_id, merchant_id=merchant_id):
        return _follow_view(merchant_id, False, _followers(session, merchant_id))
    followers = session.execute(
        update(MerchantFollowerCount)
        .where(MerchantFollowerCount.merchant_id == merchant_id)
        .values(followers=MerchantFollowerCount.followers - 1)
        .returning(MerchantFollowerCount.followers)
    ).scalar_one()
    return _follow_view(merchant_id, False, followers)


def list_follows(
    *, session: Session, user_id: int, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """The merchants I follow, most recently followed first."""
    query = (
        select(
            Follow.merchant_id, Follow.created_at, Merchant.name, MerchantFollowerCount.followers
        )
        .join(Merchant, Merchant.id == Follow.merchant_id)
        .outerjoin(MerchantFollowerCount, MerchantFollowerCount.merchant_id == Follow.merchant_id)
        .where(Follow.user_id == user_id)
        .order_by(Follow.created_at.desc(), Follow.merchant_id.desc())
    )
    after = decode_cursor("follows", cursor)
    if after:
        at = datetime.fromisoformat(after[0])
        query = query.where(
            (Follow.created_at < at) | ((Follow.created_at == at) & (Follow.merchant_id < after[1]))
        )
    rows = session.execute(query.limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(
            "follows", [page[-1].created_at.isoformat(), page[-1].merchant_id]
        )
    items = [
        {
            "merchant_id": r.merchant_id,
            "name": r.name,
            "follower_count": r.followers or 0,
            "followed_at": r.created_at,
        }
        for r in page
    ]
    return items, next_cursor
