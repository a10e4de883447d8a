"""Claiming coupons into the wallet, and reading the wallet.

Rule 2 (limits hold under concurrency) lives here: every limit is one conditional write that the
database decides, in a fixed order (campaign row, the user's counter, the store's day counter),
so concurrent claims queue on the campaign row and no Python read decides a limit.
"""

import secrets
from datetime import timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import cache
from app.coupons import events, lookups
from app.coupons.models import (
    Coupon,
    CouponCampaign,
    CouponStoreDay,
    CouponUserClaims,
    claimable_now,
    geofence_reach,
    in_store_scope,
    sql_now,
    store_day,
)
from app.errors import Conflict, Invalid
from app.geo import point_ewkt, sql_point
from app.pagination import page_by_id
from app.segments import service as segments_service
from app.stores.models import Store

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a till


def new_code() -> str:
    """80 random bits as XXXX-XXXX-XXXX-XXXX: a guessed code is worthless, a typed one legible."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _campaign(session: Session, campaign_id: int) -> CouponCampaign:
    campaign = session.get(CouponCampaign, campaign_id)
    if campaign is None:
        raise lookups.CampaignNotFound("Campaign not found.")
    return campaign


def _nearest_store(session: Session, campaign: CouponCampaign, here, within=None):
    query = select(
        Store.id, Store.timezone, func.ST_Distance(Store.location, here).label("distance")
    ).where(Store.merchant_id == campaign.merchant_id, Store.is_active)
    if campaign.store_ids is not None:
        query = query.where(Store.id.in_(campaign.store_ids))
    if within is not None:
        query = query.where(func.ST_DWithin(Store.location, here, within))
    return session.execute(query.order_by(Store.location.op("<->")(here)).limit(1)).first()


def needs_position(campaign: CouponCampaign) -> bool:
    """A claim must say where the shopper is: the campaign is geo-fenced or has a daily quota
    per store (a claim counts for the store it is made at)."""
    return campaign.geofence_radius_m is not None or bool(campaign.daily_quota_per_store)


def _require_position(campaign: CouponCampaign, lat: float | None) -> None:
    if lat is None and needs_position(campaign):
        raise Invalid("lat", "Required: this campaign is claimed near its stores.")


def _require_audience(session: Session, campaign: CouponCampaign, user_id: int, here) -> None:
    """A targeted campaign is claimable only by shoppers in one of its segments (at `here`)."""
    if not campaign.segment_ids:
        return
    c = CouponCampaign
    allowed = session.scalar(
        select(segments_service.targets_viewer(c.segment_ids, user_id, here)).where(
            c.id == campaign.id
        )
    )
    if not allowed:
        raise Conflict("This campaign is for another audience.", type="coupons.not_eligible")


def _too_far(session: Session, campaign: CouponCampaign, here) -> Conflict:
    nearest = _nearest_store(session, campaign, here)
    return Conflict(
        "Too far from the campaign's stores.",
        type="coupons.too_far",
        distance_m=round(nearest.distance) if nearest else None,
        radius_m=campaign.geofence_radius_m,
    )


def _claim_store(session, campaign: CouponCampaign, lat, lng, accuracy_m: int):
    """The store a claim counts for: the nearest in scope; inside the fence when there is one.
    Fails closed: no store in scope (or none active) is "too far" for a fence or a daily quota."""
    if lat is None:
        return None
    here = func.ST_GeogFromText(point_ewkt(lat, lng))
    fence = campaign.geofence_radius_m
    within = None if fence is None else geofence_reach(fence, accuracy_m)
    store = _nearest_store(session, campaign, here, within=within)
    if store is None and (fence is not None or campaign.daily_quota_per_store):
        raise _too_far(session, campaign, here)
    return store


def _why_not_claimable(session: Session, campaign_id: int) -> Conflict:
    c = CouponCampaign
    row = session.execute(
        select(
            c.state, c.claim_starts_at, c.claim_ends_at, c.valid_to, sql_now().label("now")
        ).where(c.id == campaign_id)
    ).one()
    if row.state == "ended" or row.now >= row.claim_ends_at:
        return Conflict("The campaign has ended.", type="coupons.ended")
    if row.valid_to is not None and row.now >= row.valid_to:
        return Conflict("The campaign's coupons have expired.", type="coupons.ended")
    if row.state == "paused":
        return Conflict("The campaign is paused.", type="coupons.paused")
    if row.now < row.claim_starts_at:
        return Conflict(
            "The campaign has not started.",
            type="coupons.not_started",
            starts_at=row.claim_starts_at,
        )
    return Conflict("All coupons have been claimed.", type="coupons.sold_out")


def _red_packet_draw(session: Session, campaign: CouponCampaign) -> int:
    # Lock the campaign row first so the draw can be capped to exactly what is left; the
    # UPDATE below still guards the budget on its own.
    left = session.scalar(
        select(CouponCampaign.budget_cents - CouponCampaign.spent_cents)
        .where(CouponCampaign.id == campaign.id)
        .with_for_update()
    )
    low, high = campaign.red_packet_min_cents, campaign.red_packet_max_cents
    return max(0, min(low + secrets.randbelow(high - low + 1), left))


def _take_one(session: Session, campaign: CouponCampaign):
    """claimed_qty + 1 (and the red packet's draw from the budget), or the reason why not."""
    c = CouponCampaign
    draw = _red_packet_draw(session, campaign) if campaign.kind == "red_packet" else 0
    row = session.execute(
        update(c)
        .where(
            c.id == campaign.id,
            claimable_now(),
            or_(c.budget_cents.is_(None), c.spent_cents + draw <= c.budget_cents),
        )
        .values(claimed_qty=c.claimed_qty + 1, spent_cents=c.spent_cents + draw)
        .returning(
            c.per_user_limit,
            c.daily_quota_per_store,
            c.value_cents,
            c.valid_from,
            c.valid_to,
            c.valid_days_after_claim,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise _why_not_claimable(session, campaign.id)
    cache.invalidate(session, "campaign", campaign.id)  # remaining_qty changed
    return row, (draw if campaign.kind == "red_packet" else row.value_cents)


def _count_up(session: Session, counter, keys: dict, limit: int) -> bool:
    """One more on a counter row (created at 1) unless it is at `limit`; False when it is."""
    stmt = pg_insert(counter).values(**keys, claimed=1)
    return (
        session.scalar(
            stmt.on_conflict_do_update(
                index_elements=list(keys),
                set_={"claimed": counter.claimed + 1},
                where=counter.claimed < limit,
            ).returning(counter.claimed)
        )
        is not None
    )


def _count_user(session: Session, campaign_id: int, user_id: int, limit: int) -> None:
    keys = {"campaign_id": campaign_id, "user_id": user_id}
    if not _count_up(session, CouponUserClaims, keys, limit):
        raise Conflict(
            "You hold as many of these coupons as allowed.",
            type="coupons.limit_reached",
            limit=limit,
        )


def _count_store_day(session: Session, campaign_id: int, store, quota: int) -> None:
    keys = {"campaign_id": campaign_id, "store_id": store.id, "day": store_day(store.timezone)}
    if not _count_up(session, CouponStoreDay, keys, quota):
        raise Conflict(
            "Today's coupons at this store are gone; try tomorrow.",
            type="coupons.daily_quota_reached",
            store_id=store.id,
        )


def claim_coupon(
    *,
    session: Session,
    user_id: int,
    campaign_id: int,
    lat: float | None,
    lng: float | None,
    accuracy_m: int = 0,
) -> Coupon:
    """A coupon of the campaign into the user's wallet, if every limit allows it."""
    campaign = _campaign(session, campaign_id)
    _require_position(campaign, lat)
    _require_audience(session, campaign, user_id, sql_point(lat, lng))
    # The campaign row first (its lock orders concurrent claims), so "ended" or "sold out" is
    # said before "too far"; any later refusal rolls the whole claim back.
    terms, amount = _take_one(session, campaign)
    store = _claim_store(session, campaign, lat, lng, accuracy_m)
    _count_user(session, campaign.id, user_id, terms.per_user_limit)
    if terms.daily_quota_per_store:
        _count_store_day(session, campaign.id, store, terms.daily_quota_per_store)
    days = terms.valid_days_after_claim
    coupon = session.scalars(
        insert(Coupon)
        .values(
            campaign_id=campaign.id,
            merchant_id=campaign.merchant_id,
            user_id=user_id,
            code=new_code(),
            amount_cents=amount,
            claim_store_id=store.id if store else None,
            valid_from=terms.valid_from,
            claimed_at=sql_now(),
            expires_at=terms.valid_to or sql_now() + timedelta(days=days),
        )
        .returning(Coupon)
    ).one()
    events.coupon_changed(session, "coupon.claimed", coupon)
    return coupon


# --- the wallet --------------------------------------------------------------------------------

_STATE_FILTERS = {
    "unused": lambda: and_(Coupon.state == "unused", Coupon.expires_at > sql_now()),
    "expired": lambda: or_(
        Coupon.state == "expired", and_(Coupon.state == "unused", Coupon.expires_at <= sql_now())
    ),
    "held": lambda: Coupon.state == "held",
    "used": lambda: Coupon.state == "used",
}


def list_wallet(
    *, session: Session, user_id: int, state: str | None, limit: int, cursor: str | None
) -> tuple[list[Coupon], str | None]:
    """The user's coupons, newest claim first, by their state as of now."""
    query = select(Coupon).where(Coupon.user_id == user_id)
    if state:
        query = query.where(_STATE_FILTERS[state]())
    return page_by_id(
        session, query, id_column=Coupon.id, kind="coupons.wallet", limit=limit, cursor=cursor
    )


def usable_at_store(*, session: Session, user_id: int, merchant_id: int, store_id: int):
    """The user's coupons of this merchant that could be redeemed at this store right now."""
    now = sql_now()
    return list(
        session.scalars(
            select(Coupon)
            .join(CouponCampaign)
            .where(
                Coupon.user_id == user_id,
                Coupon.merchant_id == merchant_id,
                Coupon.state == "unused",
                Coupon.expires_at > now,
                func.coalesce(Coupon.valid_from, now) <= now,
                in_store_scope(store_id),
            )
            .order_by(Coupon.expires_at)
            .limit(50)
        )
    )
