"""The membership events on the outbox (`member.*`, key `member:<id>`): joining, leaving, tier
changes, points earned, redeemed and refunded, each written in the change's transaction and read
back from `events` after each request; replays and refused requests write nothing."""

from datetime import timedelta

from app.members import sweeper
from tests import factories_coupons as fc
from tests.test_events_emitted import Outbox
from tests.test_members import T0, clock, join, program, receipt, shop  # noqa: F401  (fixtures)


def _member_events(outbox) -> list[dict]:
    return [e for e in outbox.new() if e["type"].startswith("member.")]


def test_joined_left_and_joined_again(client, session, owner, shopper, merchant, clock):  # noqa: F811
    program(client, owner)
    outbox = Outbox(session)
    member = join(client, shopper, merchant.id)
    [event] = _member_events(outbox)
    assert (event["type"], event["ordering_key"]) == ("member.joined", f"member:{member['id']}")
    assert event["merchant_id"] == merchant.id and event["sequence"] == 1
    data = event["data"]
    assert data["id"] == member["id"] and data["user_id"] == shopper.id
    assert data["member_number"] == member["member_number"] and data["state"] == "active"
    assert data["rejoined"] is False

    url = f"/v1/merchants/{merchant.id}/membership"
    again = client.post(url, json={"consent": True}, headers=shopper.headers)
    assert again.status_code == 200  # already a member: nothing happened, nothing written
    assert client.post(url, json={"consent": False}, headers=shopper.headers).status_code == 422
    assert _member_events(outbox) == []

    mine = f"/v1/me/memberships/{member['id']}"
    assert client.delete(mine, headers=shopper.headers).status_code == 204
    [event] = _member_events(outbox)
    assert event["type"] == "member.left" and event["data"]["state"] == "left"
    assert event["data"]["left_at"] and event["sequence"] == 2
    assert client.delete(mine, headers=shopper.headers).status_code == 404
    assert _member_events(outbox) == []

    join(client, shopper, merchant.id)
    [event] = _member_events(outbox)
    assert event["type"] == "member.joined" and event["data"]["rejoined"] is True


def test_points_earned_redeemed_refunded_and_tiers(
    client,
    session,
    owner,
    shopper,
    merchant,
    shop,  # noqa: F811
    clock,  # noqa: F811
):
    campaign = fc.campaign(session, merchant=merchant, per_user_limit=5)
    session.commit()
    tiers = [{"name": "Gold", "threshold_cents": 50000, "campaign_id": campaign.id}]
    program(client, owner, pending_days=0, tiers=tiers)
    member = join(client, shopper, merchant.id)
    outbox = Outbox(session)
    outbox.new()
    key = f"member:{member['id']}"

    assert receipt(client, owner, shop.id, member["id"], "T-1", 60000).status_code == 201
    events = _member_events(outbox)
    assert [e["type"] for e in events] == ["member.points_earned", "member.tier_changed"]
    assert {e["ordering_key"] for e in events} == {key}
    earned, tier = (e["data"] for e in events)
    assert earned["points"] == 600 and earned["receipt_ref"] == "T-1"
    assert earned["store_id"] == shop.id and earned["total_cents"] == 60000
    assert earned["available_at"] and earned["lot_id"]
    assert tier["tier_name"] == "Gold" and tier["before"] == {"tier_id": None}
    assert tier["spend_12m_cents"] == 60000 and tier["tier_id"]
    assert [e["sequence"] for e in events] == [2, 3]  # 1 was joining

    # The same receipt again, or with other figures: nothing written.
    assert receipt(client, owner, shop.id, member["id"], "T-1", 60000).status_code == 200
    assert receipt(client, owner, shop.id, member["id"], "T-1", 1).status_code == 409
    assert _member_events(outbox) == []

    redeem = f"/v1/admin/stores/{shop.id}/members/{member['id']}/points:redeem"
    body = {"points": 100, "receipt_ref": "T-2"}
    assert client.post(redeem, json=body, headers=owner.headers).status_code == 201
    [event] = _member_events(outbox)
    assert event["type"] == "member.points_redeemed" and event["data"]["points"] == 100
    assert event["data"]["balance"] == {"available": 500, "pending": 0}
    assert event["data"]["before"] == {"available": 600, "pending": 0}
    assert client.post(redeem, json=body, headers=owner.headers).status_code == 200  # replay
    too_many = {"points": 501, "receipt_ref": "T-3"}
    assert client.post(redeem, json=too_many, headers=owner.headers).status_code == 409
    assert _member_events(outbox) == []

    refund = f"/v1/admin/stores/{shop.id}/members/{member['id']}/receipts/T-1:refund"
    assert client.post(refund, headers=owner.headers).status_code == 200
    events = _member_events(outbox)
    assert [e["type"] for e in events] == ["member.points_refunded", "member.tier_changed"]
    assert events[0]["data"]["points"] == 500 and events[0]["data"]["receipt_ref"] == "T-1"
    assert events[1]["data"]["tier_id"] is None
    assert events[1]["data"]["before"] == {"tier_id": tier["tier_id"]}
    assert client.post(refund, headers=owner.headers).status_code == 409
    assert _member_events(outbox) == []


def test_the_sweeper_lowering_a_tier_is_an_event(
    app,
    client,
    session,
    owner,
    shopper,
    merchant,
    shop,  # noqa: F811
    clock,  # noqa: F811
):
    program(client, owner, tiers=[{"name": "Silver", "threshold_cents": 10000}])
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 10000)
    outbox = Outbox(session)
    outbox.new()
    clock.at = T0 + timedelta(days=366)
    with app.app_context():
        sweeper.sweep(session=session, at=clock.at)
    events = {e["type"]: e for e in _member_events(outbox)}
    assert sorted(events) == ["member.points_expired", "member.tier_changed"]  # the lot too
    event = events["member.tier_changed"]
    assert event["data"]["tier_id"] is None
    assert event["data"]["spend_12m_cents"] == 0


def test_the_sweeper_expiring_points_is_an_event(
    app,
    client,
    session,
    owner,
    shopper,
    merchant,
    shop,  # noqa: F811
    clock,  # noqa: F811
):
    program(client, owner, pending_days=0, expiry_days=30)
    member = join(client, shopper, merchant.id)
    receipt(client, owner, shop.id, member["id"], "T-1", 30000)
    client.post(
        f"/v1/admin/stores/{shop.id}/members/{member['id']}/points:redeem",
        json={"points": 100, "receipt_ref": "T-2"},
        headers=owner.headers,
    )
    outbox = Outbox(session)
    outbox.new()
    clock.at = T0 + timedelta(days=31)
    with app.app_context():
        assert sweeper.sweep(session=session, at=clock.at)["expired"] == 1
        assert sweeper.sweep(session=session, at=clock.at)["expired"] == 0  # once
    [event] = _member_events(outbox)
    assert event["type"] == "member.points_expired"
    assert event["ordering_key"] == f"member:{member['id']}"
    assert event["data"]["points"] == 200 and event["data"]["lot_id"]
