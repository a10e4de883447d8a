"""Reading posts: the feed, a merchant's page, one post.

Who sees a post in the feed (only live posts: published, `publish_at` passed):
- an untargeted post (no store, no cities): the merchant's followers;
- a store-local post: anyone within `radius` of that store (followers elsewhere do not);
- a city-targeted post: anyone whose city is one of its cities;
- an approved buyer show (feed item of type `buyer_show`, placed at its approval time): the
  followers of the merchant it is about (latest order only).
"My city" is the city of the nearest active store within 20 km of the reader's position; the
position is used for the query and not stored. Signed-out readers get the nearby and city parts.

`sort=hot` ranks the last 14 days by
    hot = (1 + likes + 2·voters) / (age_hours + 2)^1.5 × d,  d = 1 / (1 + distance_m / 1000)
where d applies to store-local posts only (1 otherwise). The clock of the first page is kept in
the cursor so later pages rank by the same moment.
"""

from datetime import datetime, timedelta
from functools import cache as cache_function
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import Session, selectinload

from app import prepared
from app.accounts.models import Merchant
from app.errors import NotFound
from app.feed.posts.models import Like, PollVote, Post
from app.feed.posts.presentation import Known, describe_posts
from app.feed.posts.service import get_live_post, live_condition, now, visible_to
from app.feed.reading.models import Follow
from app.feed.shows import service as buyer_shows
from app.feed.shows.models import BuyerShow
from app.geo import point_ewkt
from app.pagination import decode_cursor, encode_cursor
from app.prepared import param
from app.stores.models import Store

HOT_WINDOW = timedelta(days=14)
HOT_GRAVITY = 1.5
HOT_DISTANCE_M = 1000.0


def _point(lat: float | None, lng: float | None):
    return None if lat is None else func.ST_GeogFromText(point_ewkt(lat, lng))


def city_near(*, session: Session, point) -> str | None:
    """The reader's city: that of the nearest active store within 20 km (lowercased)."""
    # The same function decides the segments' city rule (migration 0011).
    return session.scalar(select(func.city_at(point)))


def _audience(viewer_id: int | None, point, radius_m: int, city: str | None) -> list:
    """Who-sees-what as separate conditions, one per part of the feed (each has its index)."""
    parts = []
    if viewer_id is not None:
        followed = select(Follow.merchant_id).where(Follow.user_id == viewer_id)
        untargeted = Post.store_id.is_(None) & (func.cardinality(Post.cities) == 0)
        parts.append(untargeted & Post.merchant_id.in_(followed))
    if point is not None:
        # The post carries its store's location (migration 0019): one GiST scan of the posts
        # within the radius, not a probe of every store there (2 374 in 5 km of a large city).
        # The branch joins the post's store: it must be active.
        parts.append(func.ST_DWithin(Post.location, point, radius_m) & Store.is_active)
    if city is not None:
        parts.append(Post.cities.overlap(cast(pg_array([city]), Post.cities.type)))
    return parts


def _hot_score(at, distance):
    # In double precision: extract() gives numeric, and power() of a numeric to a fractional
    # exponent cost ~10 µs a post (90 ms over a large city's 8 600 posts, EXPLAIN ANALYZE).
    age_hours = cast(func.extract("epoch", at - Post.publish_at), Float) / 3600
    heat = 1 + Post.like_count + 2 * Post.voter_count
    nearness = case(
        (Post.store_id.is_(None) | distance.is_(None), 1.0),
        else_=1.0 / (1.0 + distance / HOT_DISTANCE_M),
    )
    return cast(heat / func.power(age_hours + 2, HOT_GRAVITY) * nearness, Float)


def _take(session: Session, query, limit: int) -> tuple[list, bool]:
    rows = session.execute(query.limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


# Ties at one instant: posts before buyer shows, then by id (the latest feed's key order).
POST, SHOW = 1, 0


def _key_before(time_column, source: int, id_column, after: tuple):
    return tuple_(time_column, literal(source), id_column) < tuple_(*after)


def _latest_order(at, resumed: bool, distance):
    """(conditions, ORDER BY, extra columns) of `sort=latest` (`at` and the cursor are binds)."""
    after = (param("after_at", _AT), param("after_source", Integer), param("after_id", BigInteger))
    where = [_key_before(Post.publish_at, POST, Post.id, after)] if resumed else []
    return where, (Post.publish_at.desc(), Post.id.desc()), ()


def _hot_order(at, resumed: bool, distance):
    """(conditions, ORDER BY, extra columns) of `sort=hot` (`at` and the cursor are binds)."""
    score = _hot_score(at, distance)
    where = [Post.publish_at > param("window_start", _AT)]
    if resumed:
        last_score, last_id = param("after_score", Float), param("after_id", BigInteger)
        where.append(or_(score < last_score, and_(score == last_score, Post.id < last_id)))
    return where, (score.desc(), Post.id.desc()), (score.label("score"),)


_AT = DateTime(timezone=True)


@cache_function
def _page_statement(sort: str, signed_in: bool, near: bool, in_city: bool, resumed: bool):
    """The ids (with distance, and score for `hot`) of a feed page, as one prepared statement
    per shape, built and compiled once: its plan is made once per connection, not per request
    (planning the three-part union took longer than running it: 20-50 ms on a loaded box).

    One OR over the parts made PostgreSQL walk every live post newest first until a page of
    them matched (59 000 rows, 75–190 ms on the benchmark world). Each part alone has its own
    index (a followed merchant's posts, a nearby store's, a city's), so each is cut to a page
    first and the page is the best of their union (docs/PERFORMANCE.md)."""
    viewer = param("viewer", BigInteger) if signed_in else None
    point = func.ST_GeogFromText(param("pt", String)) if near else None
    city = param("city", String) if in_city else None
    at, n = param("at", _AT), param("n", Integer)
    distance = func.ST_Distance(Store.location, point) if near else null()
    parts = _audience(viewer, point, param("radius", Integer), city)
    if not parts:
        return None
    order = _hot_order if sort == "hot" else _latest_order
    where, order_by, columns = order(at, resumed, distance)
    common = [live_condition(at), visible_to(viewer, point), *where]
    branches = [
        select(Post.id)
        .outerjoin(Store, Store.id == Post.store_id)
        .where(part, *common)
        .order_by(*order_by)
        .limit(n)
        for part in parts
    ]
    candidates = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    # What describing the page would otherwise look up in four more statements: the names of
    # its merchants and stores, and the reader's likes and ballots.
    if signed_in:
        mine = (Like.user_id == viewer) & (Like.post_id == Post.id)
        liked = exists().where(mine)
        ballot = (PollVote.user_id == viewer) & (PollVote.post_id == Post.id)
        votes = select(PollVote.option_ids).where(ballot).scalar_subquery()
    else:
        liked, votes = literal(False), null()
    known = (
        Merchant.name.label("merchant_name"),
        Store.id.label("store_key"),
        Store.name.label("store_name"),
        Store.city.label("store_city"),
        liked.label("liked"),
        votes.label("votes"),
    )
    query = (
        select(Post.id, distance.label("distance_m"), *columns, *known)
        .join(Merchant, Merchant.id == Post.merchant_id)
        .outerjoin(Store, Store.id == Post.store_id)
        .where(Post.id.in_(select(candidates.c.id)))
        .order_by(*order_by)
        .limit(n)
    )
    return prepared.compiled(query)


class _Entry(NamedTuple):
    Post: "PostRead"
    distance_m: float | None
    score: float | None
    known: Known


def _page_of_posts(session: Session, shape: tuple, values: dict) -> list[_Entry]:
    """The page's posts in order, each with its distance (and score)."""
    statement = _page_statement(*shape)
    if statement is None:
        return []
    sql, constants = statement
    rows = prepared.fetch(session, sql, {**constants, **values}, in_transaction=True)
    posts = _posts_read(session, [r.id for r in rows])
    return [
        _Entry(posts[r.id], r.distance_m, getattr(r, "score", None), _known(r))
        for r in rows
        if r.id in posts
    ]


_POSTS_READ = text(
    "SELECT p.*, (SELECT coalesce(json_agg(json_build_object('id', o.id, 'position', o.position,"
    " 'label', o.label, 'votes', o.votes) ORDER BY o.position), '[]') FROM poll_options o"
    " WHERE o.post_id = p.id) AS poll_options"
    " FROM posts p WHERE p.id = ANY (CAST(:ids AS bigint[]))"
)


class PostRead(SimpleNamespace):
    """A post as the feed's page reads it: the posts row's columns and its poll `options`, read
    in one prepared statement instead of loaded as ORM objects (Post plus a selectin load of
    the options: two statements and ~75 instances a page). describe_posts reads only columns
    and options, so it takes either."""


def _posts_read(session: Session, ids: list[int]) -> dict[int, PostRead]:
    if not ids:
        return {}
    rows = prepared.fetch(session, _POSTS_READ, {"ids": ids}, in_transaction=True)
    posts = {}
    for row in rows:
        values = row._asdict()
        options = [SimpleNamespace(**o) for o in values.pop("poll_options")]
        posts[row.id] = PostRead(**values, options=options)
    return posts


def _known(row) -> Known:
    store = None
    if row.store_key is not None:
        store = {"id": row.store_key, "name": row.store_name, "city": row.store_city}
    return Known(row.merchant_name, store, bool(row.liked), row.votes)


def _followed_shows(session: Session, viewer_id: int, at: datetime, after, limit: int) -> list:
    """Approved buyer shows about merchants I follow, newest approval first."""
    followed = select(Follow.merchant_id).where(Follow.user_id == viewer_id)
    query = select(BuyerShow).where(
        BuyerShow.state == "approved",
        BuyerShow.moderated_at <= at,
        BuyerShow.merchant_id.in_(followed),
    )
    if after:
        query = query.where(_key_before(BuyerShow.moderated_at, SHOW, BuyerShow.id, after))
    query = query.order_by(BuyerShow.moderated_at.desc(), BuyerShow.id.desc()).limit(limit)
    return [((show.moderated_at, SHOW, show.id), show) for show in session.scalars(query)]


def _cursor_position(after: list | None, sort: str):
    """(the clock of the first page, where the last page ended) from a decoded cursor."""
    if not after:
        return now(), None
    if sort == "hot":
        return datetime.fromisoformat(after[0]), tuple(after[1:])
    return datetime.fromisoformat(after[0]), (datetime.fromisoformat(after[1]), *after[2:])


def _jsonable(key: tuple) -> list:
    return [part.isoformat() if isinstance(part, datetime) else part for part in key]


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
    """Followed merchants' posts and approved buyer shows, store-local posts near me and my
    city's posts; `sort=hot` ranks posts only."""
    point = _point(lat, lng)
    city = city_near(session=session, point=point) if point is not None else None
    at, after = _cursor_position(decode_cursor(f"feed-{sort}", cursor), sort)
    values = {"viewer": viewer_id, "at": at, "radius": radius_m, "city": city, "n": limit + 1}
    values["window_start"] = at - HOT_WINDOW
    if lat is not None:
        values["pt"] = point_ewkt(lat, lng)
    if after and sort == "hot":
        values.update(after_score=after[0], after_id=after[1])
    elif after:
        values.update(after_at=after[0], after_source=after[1], after_id=after[2])
    shape = (sort, viewer_id is not None, lat is not None, bool(city), bool(after))
    rows = _page_of_posts(session, shape, values)
    if sort == "hot":
        entries = [((row.score, row.Post.id), row) for row in rows]
    else:
        entries = [((row.Post.publish_at, POST, row.Post.id), row) for row in rows]
    if sort == "latest" and viewer_id is not None:
        entries += _followed_shows(session, viewer_id, at, after, limit + 1)
        entries.sort(key=lambda entry: entry[0], reverse=True)
    page, more = entries[:limit], len(entries) > limit
    last = [at.isoformat(), *_jsonable(page[-1][0])] if more else None
    near = (lat, lng) if point is not None else None
    items = _describe_entries(session, [row for _, row in page], viewer_id, near)
    return items, encode_cursor(f"feed-{sort}", last) if last else None


STAFF_ONLY_SHOW_KEYS = frozenset({"report_count"})


def _describe_entries(session: Session, rows: list, viewer_id: int | None, near) -> list[dict]:
    post_rows = [r for r in rows if not isinstance(r, BuyerShow)]
    shows = [r for r in rows if isinstance(r, BuyerShow)]
    posts = describe_posts(
        session=session,
        posts=[r.Post for r in post_rows],
        viewer_id=viewer_id,
        distances={r.Post.id: r.distance_m for r in post_rows},
        near=near,
        known={r.Post.id: r.known for r in post_rows},
    )
    # The feed is sent as built (no schema dump drops keys): what only staff see goes here.
    shown = [
        {k: v for k, v in show.items() if k not in STAFF_ONLY_SHOW_KEYS}
        for show in buyer_shows.describe_shows(session=session, shows=shows)
    ]
    by_row = {("post", v["id"]): {"type": "post", **v} for v in posts}
    by_row.update(
        {
            ("buyer_show", v["id"]): {
                "type": "buyer_show",
                "id": v["id"],
                "published_at": show.moderated_at,
                "buyer_show": v,
            }
            for v, show in zip(shown, shows, strict=True)
        }
    )
    return [
        by_row[("buyer_show", r.id) if isinstance(r, BuyerShow) else ("post", r.Post.id)]
        for r in rows
    ]


def _before(published_at: str, post_id: int):
    at = datetime.fromisoformat(published_at)
    return or_(Post.publish_at < at, and_(Post.publish_at == at, Post.id < post_id))


def merchant_posts(
    *, session: Session, merchant_id: int, viewer_id: int | None, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """A merchant's page: all its live posts, newest first, whatever their targets."""
    if session.get(Merchant, merchant_id) is None:
        raise NotFound("Merchant not found.", type="accounts.merchant_not_found")
    query = (
        select(Post)
        .where(Post.merchant_id == merchant_id, live_condition(now()), visible_to(viewer_id))
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
    post = get_live_post(session=session, post_id=post_id, viewer_id=viewer_id)
    return describe_posts(session=session, posts=[post], viewer_id=viewer_id)[0]
