"""Claiming coupons into the wallet, and reading the wallet.

Rule 2 (limits hold under concurrency) lives here: every limit is one conditional write that the
database decides, in a fixed order (campaign row, the user's counter, the store's day counter),
so concurrent claims queue on the campaign row and no Python read decides a limit.
"""

import functools
import secrets

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Integer,
    Text,
    and_,
    any_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import cache, prepared
from app.coupons import events, lookups
from app.coupons.models import (
    Coupon,
    CouponCampaign,
    CouponStoreDay,
    CouponUserClaims,
    accuracy_allowance,
    claimable_now,
    in_store_scope,
    sql_now,
    store_day,
)
from app.errors import ApiError, Conflict, Invalid
from app.geo import point_ewkt, sql_point
from app.pagination import page_by_id
from app.prepared import param
from app.segments import service as segments_service
from app.stores.models import Store

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a till


def new_code() -> str:
    """80 random bits as XXXX-XXXX-XXXX-XXXX: a guessed code is worthless, a typed one legible."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _nearest_store(session: Session, campaign: CouponCampaign, here, within=None):
    query = select(
        Store.id, Store.timezone, func.ST_Distance(Store.location, here).label("distance")
    ).where(Store.merchant_id == campaign.merchant_id, Store.is_active)
    if campaign.store_ids is not None:
        query = query.where(Store.id.in_(campaign.store_ids))
    if within is not None:
        query = query.where(func.ST_DWithin(Store.location, here, within))
    return session.execute(query.order_by(Store.location.op("<->")(here)).limit(1)).first()


def needs_position(campaign) -> bool:
    """A claim must say where the shopper is: the campaign is geo-fenced or has a daily quota
    per store (a claim counts for the store it is made at)."""
    return campaign.geofence_radius_m is not None or bool(campaign.daily_quota_per_store)


def _needs_position_sql(c):
    return or_(c.geofence_radius_m.is_not(None), func.coalesce(c.daily_quota_per_store, 0) > 0)


def _too_far(session: Session, campaign, here) -> Conflict:
    nearest = _nearest_store(session, campaign, here)
    return Conflict(
        "Too far from the campaign's stores.",
        type="coupons.too_far",
        distance_m=round(nearest.distance) if nearest else None,
        radius_m=campaign.geofence_radius_m,
    )


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


# --- the claim as two prepared statements (the promotion-day hot path) -----------------------
#
# Through the ORM a claim was eight statements (the campaign loaded, locked, updated, the nearest
# store, two counters, the coupon inserted and its campaign loaded again), each built, compiled
# and planned per request: 10.3 ms in-process, of it ~6 ms Python (docs/PERFORMANCE.md). The
# rules are the same SQLAlchemy expressions, compiled once (prepared.compiled):
# - TAKE locks the campaign row first (FOR UPDATE: concurrent claims queue on it, and the red
#   packet's draw is capped by the budget left on the locked row), finds the store the claim
#   counts for, and takes one coupon (and the draw) only when the claim may go on: position
#   given where needed, the shopper in the audience, the campaign claimable on the locked row,
#   a store in reach where one is needed. Its row says which of these failed.
# - COUNT moves the user's counter, then the store's day counter, each one conditional write
#   (rule 2), and inserts the coupon only when both allowed it; a refusal rolls everything back.


_CAMPAIGN_COLUMNS = [column.key for column in CouponCampaign.__table__.c]
_COUPON_COLUMNS = [column.key for column in Coupon.__table__.c]


@functools.cache
def _take_statement():
    c = CouponCampaign
    user = param("user", BigInteger)
    # Made once per execution (an InitPlan): a generic plan would parse the text on every row.
    here = select(func.ST_GeogFromText(param("here", Text))).scalar_subquery()
    locked = (
        select(
            c.id,
            c.merchant_id,
            c.kind,
            c.store_ids,
            c.geofence_radius_m,
            c.daily_quota_per_store,
            _needs_position_sql(c).label("needs_position"),
            segments_service.targets_viewer(c.segment_ids, user, here).label("in_audience"),
            case(
                (
                    c.kind == "red_packet",
                    func.greatest(
                        0,
                        func.least(
                            c.red_packet_min_cents
                            + cast(
                                func.floor(
                                    param("u", Float)
                                    * (c.red_packet_max_cents - c.red_packet_min_cents + 1)
                                ),
                                Integer,
                            ),
                            c.budget_cents - c.spent_cents,
                        ),
                    ),
                ),
                else_=0,
            ).label("draw"),
        )
        .where(c.id == param("campaign", BigInteger))
        .with_for_update(of=c)
        .cte("locked")
    )
    s = Store
    reach = locked.c.geofence_radius_m + param("allowance", Integer)
    store = (
        select(s.id, s.timezone)
        .where(
            s.merchant_id == locked.c.merchant_id,
            s.is_active,
            or_(locked.c.store_ids.is_(None), s.id == any_(locked.c.store_ids)),
            or_(locked.c.geofence_radius_m.is_(None), func.ST_DWithin(s.location, here, reach)),
            here.is_not(None),
        )
        .order_by(s.location.op("<->")(here))
        .limit(1)
        .cte("store")
    )
    has_store = exists(select(store.c.id))
    position_ok = or_(here.is_not(None), not_(locked.c.needs_position))
    store_ok = or_(not_(locked.c.needs_position), has_store)
    took = (
        update(c)
        .where(
            c.id == locked.c.id,
            claimable_now(),
            or_(c.budget_cents.is_(None), c.spent_cents + locked.c.draw <= c.budget_cents),
            position_ok,
            locked.c.in_audience,
            store_ok,
        )
        .values(claimed_qty=c.claimed_qty + 1, spent_cents=c.spent_cents + locked.c.draw)
        .returning(*c.__table__.c)
        .cte("took")
    )
    answer = select(
        took.c.id.is_not(None).label("took"),
        locked.c.needs_position,
        locked.c.in_audience,
        locked.c.draw,
        has_store.label("has_store"),
        select(store.c.id).scalar_subquery().label("store_id"),
        select(store.c.timezone).scalar_subquery().label("store_timezone"),
        *(took.c[k].label(f"took_{k}") for k in _CAMPAIGN_COLUMNS),
    ).select_from(locked.outerjoin(took, true()))
    return prepared.compiled(answer)


@functools.cache
def _count_statement():
    u, d = CouponUserClaims, CouponStoreDay
    campaign, user = param("campaign", BigInteger), param("user", BigInteger)
    quota, store_id = param("quota", Integer), param("store", BigInteger)
    user_count = (
        pg_insert(u)
        .values(campaign_id=campaign, user_id=user, claimed=1)
        .on_conflict_do_update(
            index_elements=[u.campaign_id, u.user_id],
            set_={"claimed": u.claimed + 1},
            where=u.claimed < param("per_user_limit", Integer),
        )
        .returning(u.claimed)
        .cte("user_count")
    )
    user_ok = exists(select(user_count.c.claimed))
    day = store_day(param("timezone", Text))
    day_count = (
        pg_insert(d)
        .from_select(
            ["campaign_id", "store_id", "day", "claimed"],
            select(campaign, store_id, day, literal(1)).where(quota.is_not(None), user_ok),
        )
        .on_conflict_do_update(
            index_elements=[d.campaign_id, d.store_id, d.day],
            set_={"claimed": d.claimed + 1},
            where=d.claimed < quota,
        )
        .returning(d.claimed)
        .cte("day_count")
    )
    day_ok = or_(quota.is_(None), exists(select(day_count.c.claimed)))
    expires = func.coalesce(
        param("valid_to", DateTime(timezone=True)),
        sql_now() + func.make_interval(0, 0, 0, param("days", Integer)),
    )
    coupon = (
        insert(Coupon)
        .from_select(
            [
                "campaign_id",
                "merchant_id",
                "user_id",
                "code",
                "amount_cents",
                "claim_store_id",
                "valid_from",
                "claimed_at",
                "expires_at",
            ],
            select(
                campaign,
                param("merchant", BigInteger),
                user,
                param("code", Text),
                param("amount", Integer),
                store_id,
                param("valid_from", DateTime(timezone=True)),
                sql_now(),
                expires,
            ).where(user_ok, day_ok),
        )
        .returning(*Coupon.__table__.c)
        .cte("coupon")
    )
    answer = select(user_ok.label("user_ok"), day_ok.label("day_ok"), *coupon.c).select_from(
        select(literal(1).label("one")).subquery().outerjoin(coupon, true())
    )
    return prepared.compiled(answer)


def _take(session: Session, *, campaign_id: int, user_id: int, lat, lng, accuracy_m: int):
    statement, constants = _take_statement()
    params = {
        **constants,
        "campaign": campaign_id,
        "user": user_id,
        "here": None if lat is None else point_ewkt(lat, lng),
        "allowance": accuracy_allowance(accuracy_m),
        "u": secrets.randbelow(1 << 53) / (1 << 53),  # the red packet's draw, in [0, 1)
    }
    rows = prepared.fetch(session, statement, params, in_transaction=True)
    if not rows:
        raise lookups.CampaignNotFound("Campaign not found.")
    return rows[0]


def _refusal(session: Session, row, campaign_id: int, lat, lng) -> ApiError:
    """Why TAKE took nothing, in the order a shopper should hear it."""
    if row.needs_position and lat is None:
        return Invalid("lat", "Required: this campaign is claimed near its stores.")
    if not row.in_audience:
        return Conflict("This campaign is for another audience.", type="coupons.not_eligible")
    campaign = session.get(CouponCampaign, campaign_id)
    claimable = session.scalar(select(claimable_now()).where(CouponCampaign.id == campaign_id))
    if claimable and row.needs_position and not row.has_store:
        return _too_far(session, campaign, sql_point(lat, lng))
    return _why_not_claimable(session, campaign_id)


def claim_coupon(
    *,
    session: Session,
    user_id: int,
    campaign_id: int,
    lat: float | None,
    lng: float | None,
    accuracy_m: int = 0,
) -> Coupon:
    """A coupon of the campaign into the user's wallet, if every limit allows it (a Coupon not
    in the session: the rows were written by the two statements above)."""
    row = _take(
        session, campaign_id=campaign_id, user_id=user_id, lat=lat, lng=lng, accuracy_m=accuracy_m
    )
    if not row.took:
        raise _refusal(session, row, campaign_id, lat, lng)
    cache.invalidate(session, "campaign", campaign_id)  # remaining_qty changed
    campaign = CouponCampaign(**{k: getattr(row, f"took_{k}") for k in _CAMPAIGN_COLUMNS})
    quota = campaign.daily_quota_per_store or None
    statement, constants = _count_statement()
    params = {
        **constants,
        "campaign": campaign_id,
        "user": user_id,
        "per_user_limit": campaign.per_user_limit,
        "quota": quota,
        "store": row.store_id,
        "timezone": row.store_timezone,
        "merchant": campaign.merchant_id,
        "code": new_code(),
        "amount": row.draw if campaign.kind == "red_packet" else campaign.value_cents,
        "valid_from": campaign.valid_from,
        "valid_to": campaign.valid_to,
        "days": campaign.valid_days_after_claim,
    }
    counted = prepared.fetch(session, statement, params, in_transaction=True)[0]
    if not counted.user_ok:
        raise Conflict(
            "You hold as many of these coupons as allowed.",
            type="coupons.limit_reached",
            limit=campaign.per_user_limit,
        )
    if not counted.day_ok:
        raise Conflict(
            "Today's coupons at this store are gone; try tomorrow.",
            type="coupons.daily_quota_reached",
            store_id=row.store_id,
        )
    coupon = Coupon(**{k: getattr(counted, k) for k in _COUPON_COLUMNS})
    coupon.campaign = campaign
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
