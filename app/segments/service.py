"""Segments of a merchant: saving rules, sizing them, and the SQL that targets by them."""

from sqlalchemy import and_, any_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.catalog import lookups as catalog_lookups
from app.coupons import lookups as coupons_lookups
from app.coupons.models import CouponCampaign
from app.errors import Conflict, Invalid, NotFound
from app.feed.posts.models import Post
from app.geo import sql_point
from app.pagination import page_by_id
from app.segments import rules
from app.segments.models import Segment

MAX_SEGMENTS = 100  # per merchant
MAX_TARGETS = 10  # segments one post or campaign may target


def _check_references(session: Session, merchant_id: int, sku_ids: dict, campaign_ids: dict):
    for field, ids in sku_ids.items():
        try:
            catalog_lookups.require_merchant_skus(
                session=session, merchant_id=merchant_id, sku_ids=ids
            )
        except NotFound as missing:
            raise Invalid(field, missing.detail) from None
    for field, campaign_id in campaign_ids.items():
        try:
            coupons_lookups.merchant_campaign(
                session=session, merchant_id=merchant_id, campaign_id=campaign_id
            )
        except NotFound:
            raise Invalid(field, "No such campaign of this merchant.") from None


def _parse(session: Session, merchant_id: int, rule) -> dict:
    parsed, sku_ids, campaign_ids = rules.parse_rule(rule)
    _check_references(session, merchant_id, sku_ids, campaign_ids)
    return parsed


def create_segment(*, session: Session, merchant_id: int, data: dict) -> Segment:
    """A new segment, its rule checked against the bounds and the merchant's own objects."""
    count = session.scalar(select(func.count()).where(Segment.merchant_id == merchant_id))
    if count >= MAX_SEGMENTS:
        raise Conflict(f"A merchant has at most {MAX_SEGMENTS} segments.", type="segments.too_many")
    segment = Segment(
        merchant_id=merchant_id,
        name=data["name"],
        description=data.get("description"),
        rule=_parse(session, merchant_id, data["rule"]),
    )
    session.add(segment)
    session.flush()  # the id for the response
    return segment


def get_segment(
    *, session: Session, merchant_id: int, segment_id: int, lock: bool = False
) -> Segment:
    """One of the merchant's segments; other merchants' are 404."""
    query = select(Segment).where(Segment.id == segment_id, Segment.merchant_id == merchant_id)
    segment = session.scalar(query.with_for_update() if lock else query)
    if segment is None:
        raise NotFound("Segment not found.", type="segments.not_found")
    return segment


def list_segments(
    *, session: Session, merchant_id: int, limit: int, cursor: str | None
) -> tuple[list[Segment], str | None]:
    """The merchant's segments, newest first."""
    query = select(Segment).where(Segment.merchant_id == merchant_id)
    return page_by_id(
        session, query, id_column=Segment.id, kind="segments", limit=limit, cursor=cursor
    )


def update_segment(*, session: Session, merchant_id: int, segment_id: int, changes: dict):
    """Rename or change the rule (what it targets follows at once)."""
    segment = get_segment(session=session, merchant_id=merchant_id, segment_id=segment_id)
    if "rule" in changes:
        changes["rule"] = _parse(session, merchant_id, changes["rule"])
    for field, value in changes.items():
        setattr(segment, field, value)
    return segment


def _targeting(session: Session, segment_id: int) -> list[str]:
    users = []
    for model, name in ((Post, "posts"), (CouponCampaign, "coupon campaigns")):
        if session.scalar(select(exists().where(segment_id == any_(model.segment_ids)))):
            users.append(name)
    return users


def delete_segment(*, session: Session, merchant_id: int, segment_id: int) -> None:
    """Delete a segment nothing targets (409 naming what still does)."""
    segment = get_segment(
        session=session, merchant_id=merchant_id, segment_id=segment_id, lock=True
    )
    if users := _targeting(session, segment_id):
        raise Conflict(
            f"Still targeted by {' and '.join(users)}.", type="segments.in_use", used_by=users
        )
    session.delete(segment)


def segment_size(
    *, session: Session, merchant_id: int, segment_id: int, lat=None, lng=None
) -> dict:
    """How many shoppers match now (position rules as if each stood at lat/lng, else false)."""
    segment = get_segment(session=session, merchant_id=merchant_id, segment_id=segment_id)
    match = rules.rule_matches(segment.rule, merchant_id, User.id, sql_point(lat, lng))
    size = session.scalar(select(func.count()).select_from(User).where(match))
    return {"segment_id": segment.id, "size": size, "at_point": lat is not None}


def check_targets(*, session: Session, merchant_id: int, segment_ids: list[int], field: str):
    """The ids without repeats if each is one of the merchant's segments (locked, so none is
    deleted under a post or campaign that starts targeting it); else 422 naming the field."""
    ids = sorted(set(segment_ids))
    if len(ids) > MAX_TARGETS:
        raise Invalid(field, f"At most {MAX_TARGETS} segments.")
    found = set(
        session.scalars(
            select(Segment.id)
            .where(Segment.merchant_id == merchant_id, Segment.id.in_(ids))
            .order_by(Segment.id)
            .with_for_update()
        )
    )
    if missing := [i for i in ids if i not in found]:
        raise Invalid(field, f"Not segments of this merchant: {missing}.")
    return ids


def targets_viewer(segment_ids, user_id: int | None, point):
    """SQL: whatever carries `segment_ids` (an array column) is untargeted, or the viewer is in
    one of those segments at `point`. A signed-out reader is in no segment."""
    untargeted = func.cardinality(segment_ids) == 0
    if user_id is None:
        return untargeted
    member = exists(
        select(1).where(
            Segment.id == any_(segment_ids),
            rules.rule_matches(Segment.rule, Segment.merchant_id, user_id, point),
        )
    )
    return or_(untargeted, and_(member))


def split_by_segment(*, session: Session, merchant_id: int, rows, user_column, counts: dict):
    """Per segment of the merchant: `counts` (label → SQL aggregate) over the `rows` (a FROM
    clause with a user id column) whose user is in the segment now (no position)."""
    s = Segment
    query = (
        select(s.id.label("segment_id"), s.name, *(agg.label(k) for k, agg in counts.items()))
        .select_from(s)
        .join(rows, rules.rule_matches(s.rule, s.merchant_id, user_column, None))
        .where(s.merchant_id == merchant_id)
        .group_by(s.id, s.name)
        .order_by(s.id)
    )
    found = {r.segment_id: r._asdict() for r in session.execute(query)}
    names = session.execute(select(s.id, s.name).where(s.merchant_id == merchant_id).order_by(s.id))
    zero = dict.fromkeys(counts, 0)
    return [found.get(i, {"segment_id": i, "name": n, **zero}) for i, n in names]
