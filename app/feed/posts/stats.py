"""A post's reactions, in all and by the merchant's segments."""

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from app.feed.posts.models import Like, PollVote
from app.feed.posts.service import get_post
from app.segments import service as segments_service


def post_stats(*, session: Session, merchant_id: int, post_id: int) -> dict:
    """Likes and voters of one of the merchant's posts, and by segment (membership now)."""
    post = get_post(session=session, merchant_id=merchant_id, post_id=post_id)
    reactions = union_all(
        select(Like.user_id, literal(1).label("liked"), literal(0).label("voted")).where(
            Like.post_id == post_id
        ),
        select(PollVote.user_id, literal(0), literal(1)).where(PollVote.post_id == post_id),
    ).subquery()
    by_segment = segments_service.split_by_segment(
        session=session,
        merchant_id=merchant_id,
        rows=reactions,
        user_column=reactions.c.user_id,
        counts={
            "likes": func.coalesce(func.sum(reactions.c.liked), 0),
            "voters": func.coalesce(func.sum(reactions.c.voted), 0),
        },
    )
    return {
        "post_id": post.id,
        "likes": post.like_count,
        "voters": post.voter_count,
        "by_segment": by_segment,
    }
