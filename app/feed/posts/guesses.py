"""Guess the price: one guess per shopper, and each game settled exactly once.

A guess first moves the post's `guess_count` in one conditional UPDATE that also says the game is
open and unsettled: that takes the post's row lock, so a guess either commits before the game is
settled (and is ranked) or waits and then finds it settled (409). Settling is one conditional
UPDATE of the post (`guess_settled_at IS NULL AND guess_closes_at <= now`): however many readers
and sweepers arrive at the moment of closing, one of them updates the row; the others wait on its
row lock, then find it settled and read what it wrote. The one that settles fixes the answer (the
merchant's hidden price, else the SKU's price at that moment), ranks every guess (closest first,
ties: the earlier guess) and claims the reward coupon for each winner, all in its transaction.
"""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.catalog.models import Sku
from app.errors import Conflict, NotFound
from app.feed.posts import rewards
from app.feed.posts.models import Post, PriceGuess
from app.feed.posts.service import get_live_post


def make_guess(*, session: Session, user_id: int, post_id: int, price_cents: int) -> dict:
    """My one guess in an open game of a post I may see."""
    post = get_live_post(session=session, post_id=post_id, viewer_id=user_id)
    if post.kind != "price_guess":  # no game behind this path, as for a post one may not see
        raise NotFound("This post is not a guess game.", type="feed.guess_game_not_found")
    at = clock.now()
    counted = session.execute(
        update(Post)
        .where(
            Post.id == post_id,
            Post.guess_settled_at.is_(None),
            Post.guess_closes_at > at,
        )
        .values(guess_count=Post.guess_count + 1)
        .returning(Post.id)
        .execution_options(synchronize_session=False)
    ).first()
    if counted is None:
        raise Conflict("The game is closed.", type="feed.guess_closed")
    stmt = (
        insert(PriceGuess)
        .values(
            merchant_id=post.merchant_id, post_id=post_id, user_id=user_id, price_cents=price_cents
        )
        .on_conflict_do_nothing(index_elements=[PriceGuess.post_id, PriceGuess.user_id])
        .returning(PriceGuess.created_at)
    )
    guessed_at = session.execute(stmt).scalar()
    if guessed_at is None:  # the count moved above is rolled back with the request
        raise Conflict("You have guessed in this game; guesses are final.", type="feed.guessed")
    return {
        "post_id": post_id,
        "price_cents": price_cents,
        "guessed_at": guessed_at,
        "closes_at": post.guess_closes_at,
    }


def _due(at: datetime):
    """SQL: a published game past closing that nobody has settled (a hidden game waits: its
    merchant may bring it back, and then its first reader settles it)."""
    return (
        (Post.kind == "price_guess")
        & (Post.state == "published")
        & Post.guess_settled_at.is_(None)
        & (Post.guess_closes_at <= at)
    )


def settle(*, session: Session, post_id: int, at: datetime | None = None) -> bool:
    """Settle a closed game unless someone has: True when this call did."""
    at = at or clock.now()
    sku_price = select(Sku.price_cents).where(Sku.id == Post.guess_sku_id).scalar_subquery()
    row = session.execute(
        update(Post)
        .where(
            Post.id == post_id,
            _due(at),
        )
        .values(
            guess_settled_at=at,
            guess_answer_cents=func.coalesce(Post.guess_price_cents, sku_price),
        )
        .returning(Post.guess_answer_cents, Post.guess_winners, Post.reward_campaign_id)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    if row.guess_answer_cents is not None:
        _rank(session, post_id, row.guess_answer_cents)
        _reward(session, post_id, row.guess_winners, row.reward_campaign_id)
    return True


def _rank(session: Session, post_id: int, answer: int) -> None:
    order = (func.abs(PriceGuess.price_cents - answer), PriceGuess.created_at, PriceGuess.id)
    ranked = (
        select(PriceGuess.id, func.row_number().over(order_by=order).label("rank"))
        .where(PriceGuess.post_id == post_id)
        .subquery()
    )
    session.execute(
        update(PriceGuess)
        .where(PriceGuess.id == ranked.c.id)
        .values(rank=ranked.c.rank)
        .execution_options(synchronize_session=False)
    )


def _reward(session: Session, post_id: int, winners: int, campaign_id: int | None) -> None:
    rows = session.execute(
        select(PriceGuess.id, PriceGuess.user_id)
        .where(PriceGuess.post_id == post_id, PriceGuess.rank <= winners)
        .order_by(PriceGuess.rank)
    ).all()
    for guess_id, user_id in rows:
        outcome = rewards.grant(session=session, user_id=user_id, campaign_id=campaign_id)
        if outcome is not None:
            session.execute(
                update(PriceGuess)
                .where(PriceGuess.id == guess_id)
                .values(coupon_id=outcome["coupon_id"], reward_reason=outcome["reason"])
                .execution_options(synchronize_session=False)
            )


def settle_due(*, session: Session, batch_size: int) -> int:
    """Settle up to `batch_size` games past closing (the sweeper; safe to run several at once)."""
    at = clock.now()
    due = session.scalars(
        select(Post.id)
        .where(_due(at))
        .order_by(Post.guess_closes_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    return sum(settle(session=session, post_id=post_id, at=at) for post_id in due)


def awaits_settling(post: Post, at: datetime) -> bool:
    """A game past closing that nobody has settled yet."""
    return (
        post.kind == "price_guess"
        and post.guess_settled_at is None
        and post.guess_closes_at is not None
        and post.guess_closes_at <= at
    )


def describe_games(
    *, session: Session, posts: list[Post], viewer_id: int | None, admin: bool
) -> dict[int, dict]:
    """The guess game of each price_guess post, as its reader sees it (two queries a page)."""
    games = [p for p in posts if p.kind == "price_guess"]
    if not games:
        return {}
    at = clock.now()
    mine = {}
    if viewer_id is not None:
        rows = session.scalars(
            select(PriceGuess).where(
                PriceGuess.user_id == viewer_id, PriceGuess.post_id.in_([p.id for p in games])
            )
        )
        mine = {g.post_id: g for g in rows}
    leaders = _leaders(session, [p for p in games if p.guess_settled_at is not None], viewer_id)
    return {
        p.id: _game_view(p, at, mine.get(p.id), leaders.get(p.id, []), admin=admin) for p in games
    }


def _leaders(session: Session, settled: list[Post], viewer_id: int | None) -> dict[int, list]:
    if not settled:
        return {}
    answers = {p.id: p.guess_answer_cents for p in settled}
    rows = session.execute(
        select(PriceGuess.post_id, PriceGuess.rank, PriceGuess.price_cents, PriceGuess.user_id)
        .join(Post, Post.id == PriceGuess.post_id)
        .where(PriceGuess.post_id.in_(answers), PriceGuess.rank <= Post.guess_winners)
        .order_by(PriceGuess.post_id, PriceGuess.rank)
    )
    leaders: dict[int, list] = {}
    for r in rows:
        leaders.setdefault(r.post_id, []).append(
            {
                "rank": r.rank,
                "price_cents": r.price_cents,
                "off_by_cents": abs(r.price_cents - answers[r.post_id]),
                "mine": r.user_id == viewer_id,
            }
        )
    return leaders


def _game_view(post: Post, at: datetime, mine: PriceGuess | None, leaders, *, admin: bool):
    settled = post.guess_settled_at is not None
    my_guess = None
    if mine is not None:
        my_guess = {
            "price_cents": mine.price_cents,
            "guessed_at": mine.created_at,
            "rank": mine.rank,
            "won": (mine.rank is not None and mine.rank <= post.guess_winners) if settled else None,
            "coupon_id": mine.coupon_id,
            "reward_reason": mine.reward_reason,
        }
    return {
        "sku_id": post.guess_sku_id,
        "closes_at": post.guess_closes_at,
        "closed": post.guess_closes_at <= at,
        "settled": settled,
        "winners": post.guess_winners,
        "guess_count": post.guess_count,
        "answer_cents": post.guess_answer_cents if settled else None,
        "hidden_price_cents": post.guess_price_cents if admin else None,
        "leaders": leaders,
        "my_guess": my_guess,
    }
