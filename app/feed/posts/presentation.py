"""How a post looks to its reader: merchant, store, images, likes, poll results, products.

A page of posts costs a fixed handful of queries (merchants, stores, media, my likes and votes,
SKUs, the nearest store holding each SKU when read with a position, and for guess games my
guesses and the winners), whatever the page holds.
"""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Merchant
from app.catalog.models import Product, Sku
from app.feed.media import service as media_service
from app.feed.posts import guesses
from app.feed.posts.models import Like, PollVote, Post
from app.feed.posts.service import now
from app.inventory import availability
from app.stores.models import Store


class Known(NamedTuple):
    """What the feed's page statement already read for a post (no lookups needed for them)."""

    merchant_name: str | None
    store: dict | None
    liked: bool
    votes: list[int] | None


def _viewer_marks(session: Session, post_ids: list[int], viewer_id: int | None):
    if viewer_id is None or not post_ids:
        return set(), {}
    liked = set(
        session.scalars(
            select(Like.post_id).where(Like.user_id == viewer_id, Like.post_id.in_(post_ids))
        )
    )
    votes = dict(
        session.execute(
            select(PollVote.post_id, PollVote.option_ids).where(
                PollVote.user_id == viewer_id, PollVote.post_id.in_(post_ids)
            )
        ).all()
    )
    return liked, votes


NEAREST_STOCK_RADIUS_M = 20_000
# The nearest store is looked up (in one statement) for at most this many SKUs of a page, the
# first tagged in page order; the rest show their price without a nearest store.
NEAREST_STOCK_SKUS = 20


def _names(session: Session, posts: list[Post]) -> tuple[dict, dict]:
    merchant_ids = {p.merchant_id for p in posts}
    store_ids = {p.store_id for p in posts if p.store_id}
    merchants = dict(
        session.execute(
            select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids))
        ).all()
    )
    if not store_ids:  # no statement for an empty list (as media and games)
        return merchants, {}
    rows = session.execute(select(Store.id, Store.name, Store.city).where(Store.id.in_(store_ids)))
    stores = {r.id: {"id": r.id, "name": r.name, "city": r.city} for r in rows}
    return merchants, stores


def _near(item: dict | None) -> dict | None:
    """The nearest holding store as a post's product shows it (no channel: `reservable` says
    what the shopper can do with it)."""
    if item is None:
        return None
    return {k: item[k] for k in ("store", "distance_m", "available", "reservable")}


def _products(session: Session, posts: list[Post], near) -> dict[int, dict]:
    """Active tagged SKUs with price, and the nearest store holding one when `near` is given."""
    sku_ids = list(dict.fromkeys(s for p in posts for s in p.sku_ids))
    if not sku_ids:
        return {}
    nearest = (
        availability.nearest_holding(
            session=session,
            sku_ids=sku_ids[:NEAREST_STOCK_SKUS],
            lat=near[0],
            lng=near[1],
            radius_m=NEAREST_STOCK_RADIUS_M,
        )
        if near
        else {}
    )
    rows = session.execute(
        select(Sku.id, Sku.title, Sku.price_cents, Sku.currency, Product.title.label("product"))
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id.in_(sku_ids), Sku.is_active, Product.is_active)
    )
    products = {
        r.id: {
            "sku_id": r.id,
            "title": r.title,
            "product_title": r.product,
            "price_cents": r.price_cents,
            "currency": r.currency,
            "nearest_store": _near(nearest.get(r.id)),
        }
        for r in rows
    }
    return products


def describe_posts(
    *,
    session: Session,
    posts: list[Post],
    viewer_id: int | None,
    distances: dict[int, float | None] | None = None,
    near: tuple[float, float] | None = None,
    admin: bool = False,
    known: dict[int, Known] | None = None,
) -> list[dict]:
    """Posts as dicts for the schemas, with a handful of queries for the whole page (fewer when
    the caller `known`s each post's names and the viewer's marks)."""
    if not posts:
        return []
    if known is None:
        merchants, stores = _names(session, posts)
        liked, votes = _viewer_marks(session, [p.id for p in posts], viewer_id)
    else:
        merchants = {p.merchant_id: known[p.id].merchant_name for p in posts}
        stores = {p.store_id: known[p.id].store for p in posts if p.store_id}
        liked = {p.id for p in posts if known[p.id].liked}
        votes = {p.id: known[p.id].votes for p in posts if known[p.id].votes is not None}
    media_ids = [i for p in posts for i in p.image_ids] + [p.cover_id for p in posts if p.cover_id]
    media = media_service.media_by_ids(session=session, media_ids=media_ids)
    products = _products(session, posts, near)
    games = guesses.describe_games(session=session, posts=posts, viewer_id=viewer_id, admin=admin)
    at, distances = now(), distances or {}
    views = []
    for post in posts:
        distance = distances.get(post.id)
        view = {
            "id": post.id,
            "merchant": {"id": post.merchant_id, "name": merchants.get(post.merchant_id)},
            "kind": post.kind,
            "title": post.title,
            "body": post.body,
            "images": [media_service.describe_media(media.get(i)) for i in post.image_ids],
            "video_url": post.video_url,
            "cover": media_service.describe_media(media.get(post.cover_id)),
            "sku_ids": post.sku_ids,
            "products": [products[s] for s in post.sku_ids if s in products],
            "store": stores.get(post.store_id),
            "cities": post.cities,
            "published_at": post.publish_at,
            "like_count": post.like_count,
            "liked_by_me": post.id in liked,
            "distance_m": round(distance) if distance is not None else None,
            "poll": _poll_view(post, at, votes.get(post.id), admin=admin),
            "guess": games.get(post.id),
        }
        if admin:
            view.update(_admin_fields(post, at))
        views.append(view)
    return views


def _admin_fields(post: Post, at: datetime) -> dict:
    return {
        "state": post.state,
        "status": post.status(at),
        "publish_at": post.publish_at,
        "hidden_reason": post.hidden_reason,
        "reward_campaign_id": post.reward_campaign_id,
        "segment_ids": post.segment_ids,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
    }


def _poll_view(post: Post, at: datetime, my_choices: list[int] | None, *, admin: bool):
    if post.kind != "poll":
        return None
    closed = post.poll_closes_at is not None and post.poll_closes_at <= at
    visible = admin or closed or not post.poll_hide_results
    voters = post.voter_count
    return {
        "max_choices": post.poll_max_choices,
        "closes_at": post.poll_closes_at,
        "closed": closed,
        "results_visible": visible,
        "voter_count": voters,
        "my_choices": my_choices,
        "options": [
            {
                "id": o.id,
                "label": o.label,
                "votes": o.votes if visible else None,
                "percent": (round(100 * o.votes / voters, 1) if voters else 0.0)
                if visible
                else None,
            }
            for o in post.options
        ],
    }
