"""Store cards: everything a map pin shows, in one call and four SQL statements whatever the page
holds — the stores (the nearby or the map statement), the SKU's stock at them, the coupons
claimable at each, and each store's latest post.

Rows become dicts here, as on the other hot reads (app/stores/search.py).
"""

import datetime as dt

from sqlalchemy import Integer, and_, any_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.coupons.models import (
    CouponCampaign,
    claimable_now,
    claims_held,
    in_store_scope,
    store_quota_left,
)
from app.feed.posts.models import Post
from app.feed.posts.service import live_condition
from app.inventory.models import Stock
from app.stores import search
from app.stores.models import Store


def cards_near(
    *, session: Session, lat: float, lng: float, radius_m: int, limit: int, cursor, **extra
) -> dict:
    """Cards of the stores within radius_m of a point, nearest first, a page at a time."""
    page = search.stores_near(
        session=session,
        lat=lat,
        lng=lng,
        radius_m=radius_m,
        limit=limit,
        cursor=cursor,
        filters={},
        now=extra["now"],
    )
    page["items"] = _cards(session, page["items"], **extra)
    return {**page, "truncated": False}


def cards_in_bbox(*, session: Session, bbox, limit: int, **extra) -> dict:
    """Cards of the stores in a lng/lat box, by id (at most `limit`; `truncated` says when
    there are more: zoom in)."""
    stores, more = search.store_items_in_bbox(
        session=session, bbox=bbox, limit=limit, now=extra["now"]
    )
    return {"items": _cards(session, stores, **extra), "next_cursor": None, "truncated": more}


def _cards(
    session: Session, stores: list[dict], *, sku_id: int | None, user_id: int | None, now
) -> list[dict]:
    ids = [s["id"] for s in stores]
    stock = _stock(session, sku_id, ids) if sku_id is not None and ids else {}
    coupons = _coupons(session, ids, user_id) if ids else {}
    posts = _latest_posts(session, ids, now) if ids else {}
    return [
        {
            **store,
            "distance_m": store.get("distance_m"),
            "stock": _stock_view(stock.get(store["id"]), store) if sku_id is not None else None,
            "coupons": coupons.get(store["id"], {"claimable": 0, "best": None}),
            "latest_post": posts.get(store["id"]),
        }
        for store in stores
    ]


def _stock(session: Session, sku_id: int, ids: list[int]) -> dict:
    rows = session.execute(
        select(
            Stock.store_id, Stock.channel, (Stock.on_hand - Stock.reserved).label("available")
        ).where(Stock.sku_id == sku_id, Stock.store_id.in_(ids))
    )
    return {row.store_id: row for row in rows}


def _stock_view(row, store: dict) -> dict:
    """What a shopper can get of the SKU here: units on the shelf, and whether they can be
    reserved for pickup (shared stock at a pickup store). Online-only stock is not in store."""
    if row is None or row.channel == "online_only":
        return {"available": 0, "reservable": False}
    available = max(0, row.available)
    reservable = row.channel == "shared" and store["pickup_enabled"] and available > 0
    return {"available": available, "reservable": reservable}


# The best coupon of a store: the most money off (an amount, a red packet's most, a percentage's
# cap), then the highest percentage, then the newest campaign.
_MONEY_OFF = func.coalesce(
    CouponCampaign.value_cents,
    CouponCampaign.red_packet_max_cents,
    CouponCampaign.max_discount_cents,
    0,
)


def _coupons(session: Session, ids: list[int], user_id: int | None) -> dict:
    c, s = CouponCampaign, Store
    conditions = [
        s.id.in_(ids),
        claimable_now(),
        in_store_scope(s.id),
        store_quota_left(s.id, s.timezone),
    ]
    if user_id is not None:  # campaigns the shopper has used up are not claimable for them
        conditions.append(func.coalesce(claims_held(c.id, user_id), 0) < c.per_user_limit)
    rows = session.execute(
        select(
            s.id.label("store_id"),
            func.count().over(partition_by=s.id).label("claimable"),
            c.id,
            c.title,
            c.kind,
            c.value_cents,
            c.percent_off,
            c.red_packet_max_cents,
            c.currency,
        )
        .join_from(s, c, c.merchant_id == s.merchant_id)
        .where(*conditions)
        .ext(distinct_on(s.id))
        .order_by(
            s.id,
            _MONEY_OFF.desc(),
            func.coalesce(c.percent_off, literal(0, Integer)).desc(),
            c.id.desc(),
        )
    )
    return {
        row.store_id: {
            "claimable": row.claimable,
            "best": {
                "campaign_id": row.id,
                "title": row.title,
                "kind": row.kind,
                "value_cents": row.value_cents,
                "percent_off": row.percent_off,
                "red_packet_max_cents": row.red_packet_max_cents,
                "currency": row.currency,
            },
        }
        for row in rows
    }


def _latest_posts(session: Session, ids: list[int], now: dt.datetime) -> dict:
    """Each store's newest live post of its merchant meant for it: posted at this store, or for
    the whole merchant (everywhere, or in the store's city)."""
    p, s = Post, Store
    for_store = or_(
        p.store_id == s.id,
        and_(
            p.store_id.is_(None),
            or_(func.cardinality(p.cities) == 0, func.lower(s.city) == any_(p.cities)),
        ),
    )
    rows = session.execute(
        select(s.id.label("store_id"), p.id, p.title, p.kind, p.publish_at)
        .join_from(s, p, p.merchant_id == s.merchant_id)
        .where(s.id.in_(ids), live_condition(now), for_store)
        .ext(distinct_on(s.id))
        .order_by(s.id, p.publish_at.desc(), p.id.desc())
    )
    return {
        row.store_id: {
            "id": row.id,
            "title": row.title,
            "kind": row.kind,
            "published_at": row.publish_at,
        }
        for row in rows
    }
