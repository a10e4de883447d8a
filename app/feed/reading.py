"""Reading posts: the feed, a merchant's page, one post, and how a post looks to its reader.

Who sees a post in the feed (only live posts: published, `publish_at` passed):
- an untargeted post (no store, no cities): the merchant's followers;
- a store-local post: anyone within `radius` of that store (followers elsewhere do not);
- a city-targeted post: anyone whose city is one of its cities.
"My city" is the city of the nearest active store within 20 km of the reader's position; the
position is used for the query and not stored. Signed-out readers get the nearby and city parts.

`sort=hot` ranks the last 14 days by
    hot = (1 + likes + 2·voters) / (age_hours + 2)^1.5 × d,  d = 1 / (1 + distance_m / 1000)
where d applies to store-local posts only (1 otherwise). The clock of the first page is kept in
the cursor so later pages rank by the same moment.
"""

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Float, and_, case, cast, false, func, literal, null, or_, select
from sqlalchemy.orm import Session, selectinload

from app.accounts.models import Merchant
from app.errors import NotFound
from app.feed.models import Follow, Post
from app.feed.service import get_live_post, live_condition, now
from app.feed.views import describe_posts
from app.geo import point_ewkt
from app.pagination import decode_cursor, encode_cursor
from app.stores.models import Store

CITY_RADIUS_M = 20_000
HOT_WINDOW = timedelta(days=14)
HOT_GRAVITY = 1.5
HOT_DISTANCE_M = 1000.0


def _point(lat: float | None, lng: float | None):
    return None if lat is None else func.ST_GeogFromText(point_ewkt(lat, lng))


def city_near(*, session: Session, point) -> str | None:
    """The reader's city: that of the nearest active store within 20 km (lowercased)."""
    return session.scalar(
        select(func.lower(Store.city))
        .where(Store.is_active, func.ST_DWithin(Store.location, point, CITY_RADIUS_M))
        .order_by(Store.location.op("<->")(point))
        .limit(1)
    )


def _audience(viewer_id: int | None, point, radius_m: int, city: str | None):
    parts = []
    if viewer_id is not None:
        followed = select(Follow.merchant_id).where(Follow.user_id == viewer_id)
        untargeted = Post.store_id.is_(None) & (func.cardinality(Post.cities) == 0)
        parts.append(untargeted & Post.merchant_id.in_(followed))
    if point is not None:
        near = select(Store.id).where(
            Store.is_active, func.ST_DWithin(Store.location, point, radius_m)
        )
        parts.append(Post.store_id.in_(near))
    if city:
        parts.append(Post.cities.overlap([city]))
    return or_(*parts) if parts else false()


def _hot_score(at: datetime, distance):
    age_hours = func.extract("epoch", literal(at, DateTime(timezone=True)) - Post.publish_at) / 3600
    heat = 1 + Post.like_count + 2 * Post.voter_count
    nearness = case(
        (Post.store_id.is_(None) | distance.is_(None), 1.0),
        else_=1.0 / (1.0 + distance / HOT_DISTANCE_M),
    )
    return cast(heat / func.power(age_hours + 2, HOT_GRAVITY) * nearness, Float)


def _take(session: Session, query, limit: int) -> tuple[list, bool]:
    rows = session.execute(query.limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def _latest_order(query, at: datetime, after, distance):
    if after:
        query = query.where(_before(after[1], after[2]))

    def position(row) -> list:
        return [at.isoformat(), row.Post.publish_at.isoformat(), row.Post.id]

    return query.order_by(Post.publish_at.desc(), Post.id.desc()), position


def _hot_order(query, at: datetime, after, distance):
    score = _hot_score(at, distance)
    query = query.add_columns(score.label("score")).where(Post.publish_at > at - HOT_WINDOW)
    if after:
        query = query.where(or_(score < after[1], and_(score == after[1], Post.id < after[2])))

    def position(row) -> list:
        return [at.isoformat(), row.score, row.Post.id]

    return query.order_by(score.desc(), Post.id.desc()), position


def _before(published_at: str, post_id: int):
    at = datetime.fromisoformat(published_at)
    return or_(Post.publish_at < at, and_(Post.publish_at == at, Post.id < post_id))


def feed(
    *,
    session: Session,
    viewer_id: int | None,
    lat: float | None,
    lng: float | None,
    radius_m: int,
    sort: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict], str | None]:
    """Followed merchants' posts, store-local posts near me and my city's posts."""
    point = _point(lat, lng)
    city = city_near(session=session, point=point) if point is not None else None
    distance = func.ST_Distance(Store.location, point) if point is not None else null()
    after = decode_cursor(f"feed-{sort}", cursor)
    at = datetime.fromisoformat(after[0]) if after else now()
    query = (
        select(Post, distance.label("distance_m"))
        .outerjoin(Store, Store.id == Post.store_id)
        .where(live_condition(at), _audience(viewer_id, point, radius_m, city))
        .options(selectinload(Post.options))
    )
    order = _hot_order if sort == "hot" else _latest_order
    query, position = order(query, at, after, distance)
    rows, more = _take(session, query, limit)
    next_cursor = encode_cursor(f"feed-{sort}", position(rows[-1])) if more else None
    posts = [r.Post for r in rows]
    distances = {r.Post.id: r.distance_m for r in rows}
    near = (lat, lng) if point is not None else None
    views = describe_posts(
        session=session, posts=posts, viewer_id=viewer_id, distances=distances, near=near
    )
    return views, next_cursor


def merchant_posts(
    *, session: Session, merchant_id: int, viewer_id: int | None, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """A merchant's page: all its live posts, newest first, whatever their targets."""
    if session.get(Merchant, merchant_id) is None:
        raise NotFound("Merchant not found.", type="accounts.merchant_not_found")
    query = (
        select(Post)
        .where(Post.merchant_id == merchant_id, live_condition(now()))
        .options(selectinload(Post.options))
        .order_by(Post.publish_at.desc(), Post.id.desc())
    )
    after = decode_cursor("merchant-posts", cursor)
    if after:
        query = query.where(_before(after[0], after[1]))
    rows, more = _take(session, query, limit)
    last = rows[-1].Post if more else None
    next_cursor = (
        encode_cursor("merchant-posts", [last.publish_at.isoformat(), last.id]) if last else None
    )
    posts = [r.Post for r in rows]
    return describe_posts(session=session, posts=posts, viewer_id=viewer_id), next_cursor


def post_view(*, session: Session, post_id: int, viewer_id: int | None) -> dict:
    """One live post as its reader sees it."""
    post = get_live_post(session=session, post_id=post_id)
    return describe_posts(session=session, posts=[post], viewer_id=viewer_id)[0]
