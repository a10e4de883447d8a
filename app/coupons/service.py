"""Coupon campaigns: the merchant's rules and stats, and what a shopper can claim nearby."""

from functools import cache as cache_function

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app import cache, prepared
from app.catalog import lookups as catalog_lookups
from app.coupons import events, lookups
from app.coupons.models import (
    Coupon,
    CouponCampaign,
    accuracy_allowance,
    claimable_now,
    claims_held,
    in_store_scope,
    sql_now,
    store_quota_left,
)
from app.errors import Conflict, Invalid, NotFound
from app.geo import point_ewkt
from app.pagination import decode_cursor, encode_cursor, page_by_id
from app.segments import service as segments_service
from app.stores import lookups as stores_lookups
from app.stores.models import Store

# Fields a merchant may still change once shoppers hold coupons, and those that may only grow:
# everything else (kind, value, scope, fence...) is part of what the shopper was promised.
SAFE_AFTER_CLAIMS = frozenset(
    {"title", "description", "total_qty", "per_user_limit", "claim_ends_at", "valid_to"}
    | {"budget_cents", "daily_quota_per_store", "segment_ids", "shake_weight"}
)
ONLY_UP = frozenset(SAFE_AFTER_CLAIMS - {"title", "description", "segment_ids", "shake_weight"})
KIND_FIELDS = {
    "amount_off": ("value_cents",),
    "percent_off": ("percent_off",),
    "red_packet": ("red_packet_min_cents", "red_packet_max_cents", "budget_cents"),
}
NEAR_STORES = 200  # nearby looks at this many nearest stores at most (KNN over the GiST index)
TRANSITIONS = {"pause": ("active", "paused"), "resume": ("paused", "active")}


def _check_kind(values: dict) -> None:
    kind = values["kind"]
    for name, fields in KIND_FIELDS.items():
        for field in fields:
            if name == kind and values.get(field) is None:
                raise Invalid(field, f"Required for a {kind} campaign.")
            if name != kind and values.get(field) is not None and field not in KIND_FIELDS[kind]:
                raise Invalid(field, f"Only for a {name} campaign.")
    if kind != "percent_off" and values.get("max_discount_cents") is not None:
        raise Invalid("max_discount_cents", "Only for a percent_off campaign.")
    low, high = values.get("red_packet_min_cents"), values.get("red_packet_max_cents")
    if kind == "red_packet" and not 1 <= low <= high:
        raise Invalid("red_packet_min_cents", "Must be at least 1 and at most the maximum.")


def _check_windows(values: dict) -> None:
    if values["claim_starts_at"] >= values["claim_ends_at"]:
        raise Invalid("claim_ends_at", "Must be after claim_starts_at.")
    valid_to, days = values.get("valid_to"), values.get("valid_days_after_claim")
    if (valid_to is None) == (days is None):
        raise Invalid("valid_to", "Give either valid_to or valid_days_after_claim.")
    if valid_to is None:
        if values.get("valid_from") is not None:
            raise Invalid("valid_from", "Only with valid_to.")
        return
    if values.get("valid_from") is not None and values["valid_from"] >= valid_to:
        raise Invalid("valid_to", "Must be after valid_from.")
    if valid_to <= values["claim_starts_at"]:
        raise Invalid("valid_to", "Coupons would expire before they can be claimed.")


def _check_scope(session: Session, merchant_id: int, values: dict) -> None:
    if store_ids := values.get("store_ids"):
        stores_lookups.require_merchant_stores(
            session=session,
            merchant_id=merchant_id,
            store_ids=store_ids,
            detail="store_ids: not found",
        )
    if sku_ids := values.get("sku_ids"):
        found = catalog_lookups.merchant_sku_ids(
            session=session, merchant_id=merchant_id, sku_ids=sku_ids
        )
        if missing := sorted(set(sku_ids) - found):
            # Clients know this answer by this code (catalog's own lookups say sku_not_found).
            raise NotFound(f"sku_ids: not found: {missing}.", type="catalog.not_found")


def check_campaign(*, session: Session, merchant_id: int, values: dict) -> None:
    """Refuse impossible campaigns: mixed kinds, reversed windows, other merchants' stores/SKUs."""
    _check_kind(values)
    _check_windows(values)
    _check_scope(session, merchant_id, values)
    if values.get("segment_ids"):
        values["segment_ids"] = segments_service.check_targets(
            session=session,
            merchant_id=merchant_id,
            segment_ids=values["segment_ids"],
            field="segment_ids",
        )


def create_campaign(*, session: Session, merchant_id: int, data: dict) -> CouponCampaign:
    """A new, active campaign."""
    check_campaign(session=session, merchant_id=merchant_id, values=data)
    campaign = CouponCampaign(merchant_id=merchant_id, claimed_qty=0, spent_cents=0, **data)
    session.add(campaign)
    session.flush()  # the id (and server defaults) for the response
    events.campaign_changed(session, "campaign.created", campaign)
    return campaign


def list_campaigns(
    *, session: Session, merchant_id: int, state: str | None, limit: int, cursor: str | None
) -> tuple[list[CouponCampaign], str | None]:
    """The merchant's campaigns, newest first."""
    query = select(CouponCampaign).where(CouponCampaign.merchant_id == merchant_id)
    if state:
        query = query.where(CouponCampaign.state == state)
    return page_by_id(
        session,
        query,
        id_column=CouponCampaign.id,
        kind="coupons.campaigns",
        limit=limit,
        cursor=cursor,
    )


def _check_safe(campaign: CouponCampaign, changes: dict) -> None:
    for field, value in changes.items():
        old = getattr(campaign, field)
        if value == old:
            continue
        if field not in SAFE_AFTER_CLAIMS:
            raise Conflict(
                f"{field} cannot change once coupons are claimed.",
                type="coupons.campaign_locked",
                errors={field: ["Cannot change once coupons are claimed."]},
            )
        if field in ONLY_UP and (value is None or (old is not None and value < old)):
            raise Conflict(
                f"{field} can only grow once coupons are claimed.",
                type="coupons.campaign_locked",
                errors={field: ["Can only grow once coupons are claimed."]},
            )


CAMPAIGN_FIELDS = (
    "kind",
    "claim_starts_at",
    "claim_ends_at",
    "valid_from",
    "valid_to",
    "valid_days_after_claim",
    *{field for fields in KIND_FIELDS.values() for field in fields},
    "max_discount_cents",
)


def update_campaign(
    *, session: Session, merchant_id: int, campaign_id: int, changes: dict
) -> CouponCampaign:
    """Change a campaign; once claimed, only safe changes (raise totals, extend windows)."""
    campaign = lookups.merchant_campaign(
        session=session, merchant_id=merchant_id, campaign_id=campaign_id, lock=True
    )
    if campaign.state == "ended":
        raise Conflict("The campaign has ended.", type="coupons.campaign_ended")
    cache.invalidate(session, "campaign", campaign_id)
    if campaign.claimed_qty:
        _check_safe(campaign, changes)
    merged = {field: getattr(campaign, field) for field in CAMPAIGN_FIELDS} | changes
    check_campaign(session=session, merchant_id=merchant_id, values=merged)
    for field, value in changes.items():
        setattr(campaign, field, value)
    if changes:  # an empty PATCH changed nothing: no event
        events.campaign_changed(session, "campaign.updated", campaign)
    return campaign


def change_campaign_state(
    *, session: Session, merchant_id: int, campaign_id: int, action: str
) -> CouponCampaign:
    """Pause, resume or end a campaign (ending is for good)."""
    campaign = lookups.merchant_campaign(
        session=session, merchant_id=merchant_id, campaign_id=campaign_id, lock=True
    )
    cache.invalidate(session, "campaign", campaign_id)
    if action == "end" and campaign.state != "ended":
        campaign.state, campaign.ended_at = "ended", sql_now()
    elif action in TRANSITIONS and campaign.state == TRANSITIONS[action][0]:
        campaign.state = TRANSITIONS[action][1]
    else:
        raise Conflict(
            f"Cannot {action} a campaign that is {campaign.state}.",
            type="coupons.bad_transition",
        )
    session.flush()  # the new state and ended_at, read back for the response
    session.refresh(campaign)
    events.campaign_changed(
        session, "campaign.ended" if action == "end" else "campaign.updated", campaign
    )
    return campaign


def campaign_stats(*, session: Session, merchant_id: int, campaign_id: int) -> dict:
    """Claimed, redeemed, expired, remaining, redemption rate, per store."""
    campaign = lookups.merchant_campaign(
        session=session, merchant_id=merchant_id, campaign_id=campaign_id
    )
    c = Coupon
    expired = and_(c.state == "unused", c.expires_at <= sql_now())
    counts = session.execute(
        select(
            func.count().filter(c.state == "used").label("redeemed"),
            func.count().filter(c.state == "held").label("held"),
            func.count().filter(expired).label("expired"),
            func.coalesce(func.sum(c.discount_cents), 0).label("discount_cents"),
        ).where(c.campaign_id == campaign_id)
    ).one()
    claimed = campaign.claimed_qty
    return {
        "campaign_id": campaign.id,
        "claimed": claimed,
        **counts._asdict(),
        "unused": claimed - counts.redeemed - counts.held - counts.expired,
        "remaining": campaign.total_qty - claimed,
        "redemption_rate": round(counts.redeemed / claimed, 4) if claimed else 0.0,
        "budget_cents": campaign.budget_cents,
        "spent_cents": campaign.spent_cents,
        "per_store": _per_store(session, campaign_id),
        "by_segment": _by_segment(session, merchant_id, campaign_id),
    }


def _by_segment(session: Session, merchant_id: int, campaign_id: int) -> list[dict]:
    """Claimed and redeemed by the shoppers of each of the merchant's segments (as of now)."""
    held = select(Coupon.user_id, Coupon.state).where(Coupon.campaign_id == campaign_id).subquery()
    rows = segments_service.split_by_segment(
        session=session,
        merchant_id=merchant_id,
        rows=held,
        user_column=held.c.user_id,
        counts={"claimed": func.count(), "redeemed": func.count().filter(held.c.state == "used")},
    )
    for row in rows:
        row["redemption_rate"] = (
            round(row["redeemed"] / row["claimed"], 4) if row["claimed"] else 0.0
        )
    return rows


def _per_store(session: Session, campaign_id: int) -> list[dict]:
    stores: dict[int, dict] = {}
    for column, key in ((Coupon.claim_store_id, "claimed"), (Coupon.redeemed_store_id, "redeemed")):
        rows = session.execute(
            select(column, func.count())
            .where(Coupon.campaign_id == campaign_id, column.is_not(None))
            .group_by(column)
        )
        for store_id, count in rows:
            stores.setdefault(store_id, {"store_id": store_id, "claimed": 0, "redeemed": 0})
            stores[store_id][key] = count
    return sorted(stores.values(), key=lambda row: row["store_id"])


# --- shopper side ------------------------------------------------------------------------------


def get_public_campaign(*, session: Session, campaign_id: int) -> CouponCampaign:
    """A campaign as every shopper sees it."""
    campaign = session.get(CouponCampaign, campaign_id)
    if campaign is None:
        raise lookups.CampaignNotFound("Campaign not found.")
    return campaign


def my_claims(*, session: Session, campaign_id: int, user_id: int) -> int:
    """How many coupons of the campaign the shopper holds."""
    return session.scalar(select(claims_held(campaign_id, user_id))) or 0


def claimable_near(*, here, radius_m, allowance, user_id):
    """SQL subquery: each campaign claimable at `here` by the user (window, stock, scope, fence
    widened by `allowance` metres, the store's quota, their limit, its segments) with its
    nearest qualifying store. The arguments are values or SQL (binds of a prepared read)."""
    near = (
        select(Store.id, Store.merchant_id, Store.name, Store.location, Store.timezone)
        .where(Store.is_active, func.ST_DWithin(Store.location, here, radius_m))
        .order_by(Store.location.op("<->")(here))
        .limit(NEAR_STORES)
        .subquery()
    )
    c = CouponCampaign
    distance = cast(func.ST_Distance(near.c.location, here), Float).label("distance")
    conditions = [
        claimable_now(),
        in_store_scope(near.c.id),
        func.coalesce(
            func.ST_DWithin(near.c.location, here, c.geofence_radius_m + allowance), True
        ),
        store_quota_left(near.c.id, near.c.timezone),
        segments_service.targets_viewer(c.segment_ids, user_id, here),
    ]
    if user_id is not None:
        conditions.append(func.coalesce(claims_held(c.id, user_id), 0) < c.per_user_limit)
    return (
        select(c.id.label("campaign_id"), near.c.id.label("store_id"), near.c.name, distance)
        .join_from(near, c, c.merchant_id == near.c.merchant_id)
        .where(*conditions)
        .ext(distinct_on(c.id))
        .order_by(c.id, distance)
        .subquery()
    )


# What coupons nearby shows of a campaign (CampaignSummarySchema), read as columns.
_SUMMARY = (
    "id", "merchant_id", "title", "description", "kind", "state", "value_cents", "percent_off",
    "max_discount_cents", "red_packet_min_cents", "red_packet_max_cents", "min_spend_cents",
    "currency", "total_qty", "per_user_limit", "claim_starts_at", "claim_ends_at", "valid_from",
    "valid_to", "valid_days_after_claim", "store_ids", "sku_ids", "geofence_radius_m",
)  # fmt: skip


@cache_function
def _nearby_statement(signed_in: bool, resumed: bool):
    """Coupons nearby as one prepared statement per shape (signed in or not, first page or
    not), built and compiled once; every value of a request is a bind."""
    c = CouponCampaign
    here = func.ST_GeogFromText(bindparam("pt", type_=String))
    best = claimable_near(
        here=here,
        radius_m=bindparam("radius", type_=Integer),
        allowance=bindparam("allowance", type_=Integer),
        user_id=bindparam("user", type_=BigInteger) if signed_in else None,
    )
    query = select(
        *(getattr(c, name) for name in _SUMMARY),
        (c.total_qty - c.claimed_qty).label("remaining_qty"),
        best.c.store_id,
        best.c.name.label("store_name"),
        best.c.distance,
    ).join(best, best.c.campaign_id == c.id)
    if resumed:
        after = (bindparam("after_distance", type_=Float), bindparam("after_id", type_=BigInteger))
        query = query.where(tuple_(best.c.distance, best.c.campaign_id) > tuple_(*after))
    query = query.order_by(best.c.distance, best.c.campaign_id)
    return prepared.compiled(query.limit(bindparam("limit", type_=Integer)))


def campaigns_near(
    *,
    session: Session,
    lat: float,
    lng: float,
    radius_m: int,
    accuracy_m: int,
    user_id: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict], str | None]:
    """Campaigns claimable here and now, nearest qualifying store first (plain dicts)."""
    after = decode_cursor("coupons.nearby", cursor)
    statement, constants = _nearby_statement(user_id is not None, after is not None)
    values = {
        "pt": point_ewkt(lat, lng),
        "radius": radius_m,
        "allowance": accuracy_allowance(accuracy_m),
        "user": user_id,
        "limit": limit + 1,
    }
    if after is not None:
        values.update(after_distance=after[0], after_id=after[1])
    rows = prepared.fetch(session, statement, {**constants, **values})
    more = len(rows) > limit
    items = [
        {
            "campaign": {name: getattr(r, name) for name in (*_SUMMARY, "remaining_qty")},
            "store": {"id": r.store_id, "name": r.store_name},
            "distance_m": round(r.distance),
        }
        for r in rows[:limit]
    ]
    last = rows[limit - 1] if more else None
    return items, encode_cursor("coupons.nearby", [last.distance, last.id]) if more else None
