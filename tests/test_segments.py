"""Segments: admin CRUD, rule bounds (422 naming the field), and each rule against rows built
for it, sized in SQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.coupons.models import CouponUserClaims
from app.feed.posts.models import Like
from app.members.models import Member, MembershipProgram, MembershipTier
from app.segments.rules import MAX_DEPTH, MAX_NODES
from tests import factories, factories_stores
from tests import factories_coupons as coupon_factory
from tests import factories_feed as feed_factory
from tests import factories_segments as seg
from tests.factories_stores import TAIPEI

KAOHSIUNG = (22.6273, 120.3014)


def _create(client, owner, rule, name="Fans"):
    return client.post(
        "/v1/admin/segments", json={"name": name, "rule": rule}, headers=owner.headers
    )


def _size(client, owner, segment_id, **point):
    resp = client.get(
        f"/v1/admin/segments/{segment_id}/size", query_string=point, headers=owner.headers
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["size"]


def _users(session, n):
    return [factories.user(session) for _ in range(n)]


def test_create_read_update_delete(client, owner):
    resp = _create(client, owner, {"type": "follows"})
    assert resp.status_code == 201, resp.get_json()
    segment = resp.get_json()
    assert segment["rule"] == {"type": "follows"}
    listed = client.get("/v1/admin/segments", headers=owner.headers).get_json()
    assert [s["id"] for s in listed["items"]] == [segment["id"]]
    changed = client.patch(
        f"/v1/admin/segments/{segment['id']}",
        json={"name": "Followers", "rule": {"type": "buyer_show"}},
        headers=owner.headers,
    ).get_json()
    assert changed["name"] == "Followers" and changed["rule"] == {"type": "buyer_show"}
    assert (
        client.delete(f"/v1/admin/segments/{segment['id']}", headers=owner.headers).status_code
        == 204
    )
    assert (
        client.get(f"/v1/admin/segments/{segment['id']}", headers=owner.headers).status_code == 404
    )


def _nested(depth):
    rule = {"type": "follows"}
    for _ in range(depth):
        rule = {"type": "not", "rule": rule}
    return rule


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"type": "everyone"}, "rule.type"),
        ({"type": "and", "rules": []}, "rule.rules"),
        ({"type": "pickups", "at_least": 0, "days": 30}, "rule.at_least"),
        ({"type": "pickups", "at_least": 1, "days": 99999}, "rule.days"),
        ({"type": "or", "rules": [{"type": "near_store", "radius_m": 0}]}, "rule.rules.0.radius_m"),
        ({"type": "city", "cities": ["x" * 81]}, "rule.cities.0"),
        ({"type": "coupon", "campaign_id": 999999}, "rule.campaign_id"),
        ({"type": "pickups", "at_least": 1, "days": 3, "sku_ids": [999999]}, "rule.sku_ids"),
        (_nested(MAX_DEPTH + 1), "rule" + ".rule" * MAX_DEPTH),
        ({"type": "or", "rules": [{"type": "follows"}] * MAX_NODES}, f"rule.rules.{MAX_NODES - 1}"),
        ([1, 2], "rule"),
    ],
)
def test_bad_rules_are_422_naming_the_field(client, owner, rule, field):
    resp = _create(client, owner, rule)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == "application/problem+json"
    assert field in resp.get_json()["errors"], resp.get_json()


def test_another_merchants_segment_is_404_and_its_campaign_unknown(
    client, session, owner, make_staff, unchanged
):
    other = factories.merchant(session)
    theirs = seg.segment(session, merchant=other, rule={"type": "follows"})
    foreign_campaign = coupon_factory.campaign(session, merchant=other)
    session.commit()
    with unchanged():
        assert (
            client.get(f"/v1/admin/segments/{theirs.id}", headers=owner.headers).status_code == 404
        )
        assert (
            client.get(f"/v1/admin/segments/{theirs.id}/size", headers=owner.headers).status_code
            == 404
        )
        resp = _create(client, owner, {"type": "coupon", "campaign_id": foreign_campaign.id})
        assert resp.status_code == 422 and "rule.campaign_id" in resp.get_json()["errors"]
    service = make_staff("service")
    assert client.get("/v1/admin/segments", headers=service.headers).status_code == 403


def test_follows_and_not_follows(client, session, merchant, owner):
    fan, other = _users(session, 2)
    seg.follow(session, user_id=fan.id, merchant=merchant)
    follows = seg.segment(session, merchant=merchant, rule={"type": "follows"})
    not_follows = seg.segment(
        session, merchant=merchant, rule={"type": "not", "rule": {"type": "follows"}}
    )
    session.commit()
    assert _size(client, owner, follows.id) == 1
    # Everyone else (the other user, the owner) does not follow.
    assert _size(client, owner, not_follows.id) == _size_all(session) - 1


def _size_all(session):
    return session.scalar(select(func.count()).select_from(factories.User))


def test_city_at_the_request_point(client, session, merchant, owner):
    factories_stores.store(session, merchant=merchant, city="Taipei")
    _users(session, 2)
    taipei = seg.segment(session, merchant=merchant, rule={"type": "city", "cities": ["TAIPEI"]})
    session.commit()
    everyone = _size_all(session)
    assert _size(client, owner, taipei.id, lat=TAIPEI[0], lng=TAIPEI[1]) == everyone
    assert _size(client, owner, taipei.id, lat=KAOHSIUNG[0], lng=KAOHSIUNG[1]) == 0
    assert _size(client, owner, taipei.id) == 0  # no position: position rules do not hold


def test_pickups_in_the_last_days_optionally_of_skus(client, session, merchant, owner):
    store = factories_stores.store(session, merchant=merchant)
    tea, cake = [feed_factory.sku(session, merchant=merchant) for _ in range(2)]
    regular, once, old, cake_only = _users(session, 4)
    for days in (1, 5):
        seg.pickup(session, user_id=regular.id, store=store, skus=[tea], days_ago=days)
    seg.pickup(session, user_id=once.id, store=store, skus=[tea], days_ago=2)
    seg.pickup(session, user_id=old.id, store=store, skus=[tea], days_ago=40)
    seg.pickup(session, user_id=old.id, store=store, skus=[tea], days_ago=50)
    seg.pickup(session, user_id=cake_only.id, store=store, skus=[cake], days_ago=1)
    seg.pickup(session, user_id=cake_only.id, store=store, skus=[cake], days_ago=2)
    feed_factory.reservation(session, user_id=once.id, store=store, skus=[tea], state="cancelled")
    twice = seg.segment(
        session, merchant=merchant, rule={"type": "pickups", "at_least": 2, "days": 30}
    )
    tea_once = seg.segment(
        session,
        merchant=merchant,
        rule={"type": "pickups", "at_least": 1, "days": 30, "sku_ids": [tea.id]},
    )
    session.commit()
    assert _size(client, owner, twice.id) == 2  # regular, cake_only
    assert _size(client, owner, tea_once.id) == 2  # regular, once


def test_claimed_or_redeemed_a_coupon_of_a_campaign(client, session, merchant, owner):
    campaign = coupon_factory.campaign(session, merchant=merchant)
    holder, redeemer, _ = _users(session, 3)
    seg.coupon(session, user_id=holder.id, campaign=campaign)
    seg.coupon(session, user_id=redeemer.id, campaign=campaign, used=True)
    campaign.claimed_qty = 2
    session.flush()
    for u in (holder, redeemer):
        session.add(CouponUserClaims(campaign_id=campaign.id, user_id=u.id, claimed=1))
    claimed = seg.segment(
        session, merchant=merchant, rule={"type": "coupon", "campaign_id": campaign.id}
    )
    redeemed = seg.segment(
        session,
        merchant=merchant,
        rule={"type": "coupon", "campaign_id": campaign.id, "redeemed": True},
    )
    session.commit()
    assert _size(client, owner, claimed.id) == 2
    assert _size(client, owner, redeemed.id) == 1


def test_wrote_an_approved_buyer_show(client, session, merchant, owner):
    approved, pending, rejected = _users(session, 3)
    other = factories.merchant(session)
    feed_factory.show(session, user_id=approved.id, merchant=merchant)
    feed_factory.show(session, user_id=pending.id, merchant=merchant, state="pending")
    feed_factory.show(session, user_id=rejected.id, merchant=merchant, state="rejected")
    feed_factory.show(session, user_id=pending.id, merchant=other)
    shows = seg.segment(session, merchant=merchant, rule={"type": "buyer_show"})
    session.commit()
    assert _size(client, owner, shows.id) == 1


def test_within_radius_of_one_of_its_stores(client, session, merchant, owner):
    factories_stores.store(session, merchant=merchant)
    factories_stores.store(
        session, merchant=merchant, lat=KAOHSIUNG[0], lng=KAOHSIUNG[1], is_active=False
    )
    near = seg.segment(session, merchant=merchant, rule={"type": "near_store", "radius_m": 500})
    session.commit()
    everyone = _size_all(session)
    assert _size(client, owner, near.id, lat=TAIPEI[0] + 0.003, lng=TAIPEI[1]) == everyone  # ~330 m
    assert _size(client, owner, near.id, lat=TAIPEI[0] + 0.01, lng=TAIPEI[1]) == 0  # ~1.1 km
    assert _size(client, owner, near.id, lat=KAOHSIUNG[0], lng=KAOHSIUNG[1]) == 0  # inactive
    assert _size(client, owner, near.id) == 0


def test_combined_with_and_or_not(client, session, merchant, owner):
    fan_with_show, fan, shower, nobody = _users(session, 4)
    for u in (fan_with_show, fan):
        seg.follow(session, user_id=u.id, merchant=merchant)
    for u in (fan_with_show, shower):
        feed_factory.show(session, user_id=u.id, merchant=merchant)
    follows, shows = {"type": "follows"}, {"type": "buyer_show"}
    fans_without_show = seg.segment(
        session,
        merchant=merchant,
        rule={"type": "and", "rules": [follows, {"type": "not", "rule": shows}]},
    )
    either = seg.segment(session, merchant=merchant, rule={"type": "or", "rules": [follows, shows]})
    neither = seg.segment(
        session,
        merchant=merchant,
        rule={"type": "not", "rule": {"type": "or", "rules": [follows, shows]}},
    )
    session.commit()
    assert nobody
    assert _size(client, owner, fans_without_show.id) == 1
    assert _size(client, owner, either.id) == 3
    assert _size(client, owner, neither.id) == _size_all(session) - 3


def test_campaign_and_post_stats_split_by_segment(client, session, merchant, owner):
    fan, fan_redeemer, stranger = _users(session, 3)
    for u in (fan, fan_redeemer):
        seg.follow(session, user_id=u.id, merchant=merchant)
    fans = seg.segment(session, merchant=merchant, rule={"type": "follows"}, name="Fans")
    others = seg.segment(
        session, merchant=merchant, rule={"type": "not", "rule": {"type": "follows"}}, name="Rest"
    )
    campaign = coupon_factory.campaign(session, merchant=merchant, claimed_qty=3)
    for u, used in ((fan, False), (fan_redeemer, True), (stranger, False)):
        seg.coupon(session, user_id=u.id, campaign=campaign, used=used)
        session.add(CouponUserClaims(campaign_id=campaign.id, user_id=u.id, claimed=1))
    post = feed_factory.post(session, merchant=merchant)
    for u in (fan, stranger):
        session.add(Like(post_id=post.id, user_id=u.id))
    post.like_count = 2
    session.commit()
    stats = client.get(
        f"/v1/admin/coupon-campaigns/{campaign.id}/stats", headers=owner.headers
    ).get_json()
    assert stats["by_segment"] == [
        {
            "segment_id": fans.id,
            "name": "Fans",
            "claimed": 2,
            "redeemed": 1,
            "redemption_rate": 0.5,
        },
        {
            "segment_id": others.id,
            "name": "Rest",
            "claimed": 1,
            "redeemed": 0,
            "redemption_rate": 0.0,
        },
    ]
    stats = client.get(f"/v1/admin/posts/{post.id}/stats", headers=owner.headers).get_json()
    assert stats["likes"] == 2
    assert stats["by_segment"] == [
        {"segment_id": fans.id, "name": "Fans", "likes": 1, "voters": 0},
        {"segment_id": others.id, "name": "Rest", "likes": 1, "voters": 0},
    ]


def _member(session, merchant, user, tier=None, state="active"):
    at = datetime.now(UTC)
    session.add(
        Member(
            merchant_id=merchant.id,
            user_id=user.id,
            member_number=f"M{user.id:011d}",
            state=state,
            consent_at=at,
            joined_at=at,
            tier_id=tier.id if tier else None,
        )
    )


def test_member_of_its_program_with_a_tier_at_least(client, session, merchant, owner):
    session.add(MembershipProgram(merchant_id=merchant.id, currency="TWD", points_per_unit=1))
    silver, gold = (
        MembershipTier(merchant_id=merchant.id, name=name, threshold_cents=cents)
        for name, cents in (("Silver", 100_000), ("Gold", 500_000))
    )
    session.add_all([silver, gold])
    session.flush()
    no_tier, in_silver, in_gold, left_gold, elsewhere, stranger = _users(session, 6)
    _member(session, merchant, no_tier)
    _member(session, merchant, in_silver, silver)
    _member(session, merchant, in_gold, gold)
    _member(session, merchant, left_gold, gold, state="left")
    other = factories.merchant(session)
    session.add(MembershipProgram(merchant_id=other.id, currency="TWD", points_per_unit=1))
    their_gold = MembershipTier(merchant_id=other.id, name="Gold", threshold_cents=500_000)
    session.add(their_gold)
    session.flush()
    _member(session, other, elsewhere, their_gold)
    assert stranger
    any_member = seg.segment(session, merchant=merchant, rule={"type": "member_tier"})
    silver_up = seg.segment(
        session, merchant=merchant, rule={"type": "member_tier", "at_least_cents": 100_000}
    )
    gold_up = seg.segment(
        session, merchant=merchant, rule={"type": "member_tier", "at_least_cents": 500_000}
    )
    below_gold = seg.segment(
        session,
        merchant=merchant,
        rule={
            "type": "and",
            "rules": [
                {"type": "member_tier"},
                {"type": "not", "rule": {"type": "member_tier", "at_least_cents": 500_000}},
            ],
        },
    )
    session.commit()
    assert _size(client, owner, any_member.id) == 3
    assert _size(client, owner, silver_up.id) == 2
    assert _size(client, owner, gold_up.id) == 1
    assert _size(client, owner, below_gold.id) == 2  # no tier yet, and silver
    resp = _create(client, owner, {"type": "member_tier", "at_least_cents": -1})
    assert resp.status_code == 422 and "rule.at_least_cents" in resp.get_json()["errors"]
