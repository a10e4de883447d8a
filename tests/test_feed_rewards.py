"""Coupons as rewards for a follow, a poll vote or an approved buyer show: claimed in the same
transaction under the campaign's limits; a refused claim never fails the action."""

from sqlalchemy import func, select

from app.coupons.models import Coupon
from tests import factories
from tests import factories_coupons as fc
from tests import factories_feed as ff


def coupons_of(session, user_id: int) -> int:
    return session.scalar(select(func.count()).where(Coupon.user_id == user_id))


def test_following_claims_the_follow_reward_once(client, session, merchant, owner, shopper):
    campaign = fc.campaign(session, merchant=merchant)
    session.commit()
    resp = client.put(
        "/v1/admin/feed-rewards/follow", json={"campaign_id": campaign.id}, headers=owner.headers
    )
    assert resp.get_json() == {"trigger": "follow", "campaign_id": campaign.id}
    url = f"/v1/merchants/{merchant.id}/follow"
    reward = client.put(url, headers=shopper.headers).get_json()["reward"]
    assert reward["granted"] is True and reward["coupon_id"]
    assert client.put(url, headers=shopper.headers).get_json()["reward"] is None  # no-op
    client.delete(url, headers=shopper.headers)
    again = client.put(url, headers=shopper.headers).get_json()
    assert again["following"] is True
    assert again["reward"] == {
        "campaign_id": campaign.id,
        "granted": False,
        "coupon_id": None,
        "reason": again["reward"]["reason"],
    }
    assert again["reward"]["reason"].startswith("coupons.")  # per-user limit of 1
    assert coupons_of(session, shopper.id) == 1


def test_a_sold_out_reward_still_records_the_vote(client, session, merchant, make_shopper):
    campaign = fc.campaign(session, merchant=merchant, total_qty=1)
    post = ff.post(session, merchant=merchant, kind="poll", options=["a", "b"])
    post.reward_campaign_id = campaign.id
    session.commit()
    first, second = make_shopper(), make_shopper()
    url = f"/v1/posts/{post.id}/votes"
    body = {"option_ids": [post.options[0].id]}
    assert client.post(url, json=body, headers=first.headers).get_json()["reward"]["granted"]
    resp = client.post(url, json=body, headers=second.headers)
    assert resp.status_code == 201
    assert resp.get_json()["reward"]["reason"] == "coupons.sold_out"
    assert resp.get_json()["poll"]["voter_count"] == 2
    assert coupons_of(session, second.id) == 0


def test_the_first_approval_rewards_the_author(client, session, merchant, owner, shopper):
    campaign = fc.campaign(session, merchant=merchant)
    show = ff.show(session, user_id=shopper.id, merchant=merchant, state="pending")
    session.commit()
    client.put(
        "/v1/admin/feed-rewards/buyer_show",
        json={"campaign_id": campaign.id},
        headers=owner.headers,
    )
    url = f"/v1/admin/buyer-shows/{show.id}"
    assert client.post(f"{url}/approve", headers=owner.headers).get_json()["reward"]["granted"]
    client.post(f"{url}/reject", json={"reason": "Oops"}, headers=owner.headers)
    assert client.post(f"{url}/approve", headers=owner.headers).get_json()["reward"] is None
    assert coupons_of(session, shopper.id) == 1


def test_rewards_must_be_the_merchants_own_campaigns_without_a_fence(
    client, session, merchant, owner
):
    theirs = fc.campaign(session, merchant=factories.merchant(session))
    fenced = fc.campaign(session, merchant=merchant, geofence_radius_m=500)
    session.commit()
    put = lambda cid: client.put(  # noqa: E731
        "/v1/admin/feed-rewards/follow", json={"campaign_id": cid}, headers=owner.headers
    )
    assert put(theirs.id).status_code == 404
    assert put(fenced.id).status_code == 422
    resp = client.post(
        "/v1/admin/posts",
        json={"kind": "article", "title": "Hi", "reward_campaign_id": fenced.id},
        headers=owner.headers,
    )
    assert resp.status_code == 422
    assert (
        client.put(
            "/v1/admin/feed-rewards/likes", json={"campaign_id": 1}, headers=owner.headers
        ).status_code
        == 404
    )


def test_rewards_can_be_listed_and_removed(client, session, merchant, owner):
    campaign = fc.campaign(session, merchant=merchant)
    session.commit()
    client.put(
        "/v1/admin/feed-rewards/follow", json={"campaign_id": campaign.id}, headers=owner.headers
    )
    items = client.get("/v1/admin/feed-rewards", headers=owner.headers).get_json()["items"]
    assert items == [{"trigger": "follow", "campaign_id": campaign.id}]
    assert client.delete("/v1/admin/feed-rewards/follow", headers=owner.headers).status_code == 204
    assert client.get("/v1/admin/feed-rewards", headers=owner.headers).get_json()["items"] == []


def test_moderation_and_rewards_tell_the_author(client, session, merchant, owner, shopper):
    campaign = fc.campaign(session, merchant=merchant)
    show = ff.show(session, user_id=shopper.id, merchant=merchant, state="pending")
    session.commit()
    client.put(
        "/v1/admin/feed-rewards/buyer_show",
        json={"campaign_id": campaign.id},
        headers=owner.headers,
    )
    url = f"/v1/admin/buyer-shows/{show.id}"
    client.post(f"{url}/approve", headers=owner.headers)
    client.post(f"{url}/reject", json={"reason": "Blurry photo"}, headers=owner.headers)
    inbox = client.get(
        "/v1/me/notifications", headers={**shopper.headers, "Accept-Language": "en"}
    ).get_json()["items"]
    assert [i["kind"] for i in inbox] == [
        "buyer_show_rejected",
        "reward_granted",
        "buyer_show_approved",
    ]
    assert inbox[0]["body"] == f"{merchant.name} did not approve your buyer show: Blurry photo"
    assert campaign.title in inbox[1]["body"]
