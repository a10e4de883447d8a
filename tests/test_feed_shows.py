"""Buyer shows: verified by my own picked-up reservation, moderated by that merchant only,
public once approved, reportable."""

import uuid

import pytest
from sqlalchemy import select

from app.feed.shows.models import BuyerShow, BuyerShowReport
from tests import factories, factories_stores
from tests import factories_feed as ff
from tests.factories_feed import media_root  # noqa: F401  (autouse fixture)


@pytest.fixture
def bought(session, merchant, shopper):
    """The shopper's picked-up reservation of two SKUs."""
    store = factories_stores.store(session, merchant=merchant)
    skus = [ff.sku(session, merchant=merchant) for _ in range(2)]
    r = ff.reservation(session, user_id=shopper.id, store=store, skus=skus)
    session.commit()
    return r


def post_show(client, caller, **body):
    body.setdefault("body", "Smells like spring.")
    return client.post("/v1/buyer-shows", json=body, headers=caller.headers)


def upload(client, caller) -> int:
    return ff.upload(client, caller).get_json()["id"]


def test_a_show_on_my_picked_up_reservation_is_verified_and_pending(
    client, shopper, bought, merchant
):
    image = upload(client, shopper)
    resp = post_show(client, shopper, reservation_id=bought.public_id, rating=5, image_ids=[image])
    assert resp.status_code == 201, resp.get_json()
    show = resp.get_json()
    assert (show["verified"], show["state"], show["merchant_id"]) == (True, "pending", merchant.id)
    assert sorted(show["sku_ids"]) == sorted(i.sku_id for i in bought.items)
    assert show["images"][0]["id"] == image
    again = post_show(client, shopper, reservation_id=bought.public_id)
    assert again.status_code == 409
    assert again.get_json()["type"] == "feed.show_exists"


def test_someone_elses_reservation_is_404(client, make_shopper, bought, unchanged):
    other = make_shopper()
    with unchanged():
        resp = post_show(client, other, reservation_id=bought.public_id)
        assert resp.status_code == 404
    resp = post_show(client, other, reservation_id=str(uuid.uuid4()))
    assert resp.status_code == 404


def test_a_reservation_not_picked_up_does_not_verify(client, session, shopper, merchant):
    store = factories_stores.store(session, merchant=merchant)
    r = ff.reservation(
        session,
        user_id=shopper.id,
        store=store,
        skus=[ff.sku(session, merchant=merchant)],
        state="reserved",
    )
    session.commit()
    resp = post_show(client, shopper, reservation_id=r.public_id)
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "feed.not_picked_up"


def test_a_verified_show_names_only_skus_of_the_purchase(client, session, shopper, bought):
    stranger_sku = ff.sku(session, merchant=factories.merchant(session))
    session.commit()
    resp = post_show(client, shopper, reservation_id=bought.public_id, sku_ids=[stranger_sku.id])
    assert resp.status_code == 422
    assert "sku_ids" in resp.get_json()["errors"]


def test_an_unverified_show_names_a_merchant(client, session, shopper, merchant):
    sku = ff.sku(session, merchant=merchant)
    session.commit()
    resp = post_show(client, shopper, merchant_id=merchant.id, sku_ids=[sku.id])
    assert resp.status_code == 201
    assert resp.get_json()["verified"] is False
    assert post_show(client, shopper).status_code == 422  # neither merchant nor reservation
    assert post_show(client, shopper, merchant_id=999_999).status_code == 404


@pytest.mark.parametrize(
    "body,field",
    [
        ({"merchant_id": 1, "body": ""}, "body"),
        ({"merchant_id": 1, "body": "x" * 2001}, "body"),
        ({"merchant_id": 1, "rating": 6}, "rating"),
        ({"merchant_id": 1, "rating": 0}, "rating"),
        ({"merchant_id": 1, "image_ids": list(range(1, 11))}, "image_ids"),
        ({"reservation_id": "not-a-uuid"}, "reservation_id"),
    ],
)
def test_show_fields_are_bounded(client, shopper, body, field):
    resp = post_show(client, shopper, **body)
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]


def test_images_of_a_show_must_be_mine(client, make_shopper, merchant):
    me, other = make_shopper(), make_shopper()
    theirs = upload(client, other)
    resp = post_show(client, me, merchant_id=merchant.id, image_ids=[theirs])
    assert resp.status_code == 422


def test_an_idempotency_key_replays_the_first_show(client, shopper, merchant, session):
    headers = {**shopper.headers, "Idempotency-Key": "show-1"}
    body = {"body": "Nice", "merchant_id": merchant.id}
    first = client.post("/v1/buyer-shows", json=body, headers=headers)
    second = client.post("/v1/buyer-shows", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(session.scalars(select(BuyerShow)).all()) == 1
    other = client.post("/v1/buyer-shows", json={**body, "body": "Other"}, headers=headers)
    assert other.status_code == 422


def test_only_approved_shows_are_public_and_authors_see_their_own(
    client, session, merchant, make_shopper
):
    author, reader = make_shopper(), make_shopper()
    sku = ff.sku(session, merchant=merchant)
    shows = {
        state: ff.show(session, user_id=author.id, merchant=merchant, state=state, sku_ids=[sku.id])
        for state in ("pending", "approved", "rejected")
    }
    session.commit()
    for path in (f"/v1/skus/{sku.id}/buyer-shows", f"/v1/merchants/{merchant.id}/buyer-shows"):
        items = client.get(path, headers=reader.headers).get_json()["items"]
        assert [i["id"] for i in items] == [shows["approved"].id]
    for state, show in shows.items():
        seen = client.get(f"/v1/buyer-shows/{show.id}", headers=reader.headers).status_code
        assert seen == (200 if state == "approved" else 404)
        assert client.get(f"/v1/buyer-shows/{show.id}", headers=author.headers).status_code == 200
    mine = client.get("/v1/me/buyer-shows", headers=author.headers).get_json()["items"]
    assert {i["state"] for i in mine} == {"pending", "approved", "rejected"}
    assert client.get("/v1/skus/999999/buyer-shows").status_code == 404


def test_moderation_by_the_merchant_only(client, session, merchant, shopper, make_staff):
    show = ff.show(session, user_id=shopper.id, merchant=merchant, state="pending")
    other_merchant = factories.merchant(session)
    session.commit()
    service = make_staff("service")
    stranger = make_staff("owner", of=other_merchant)
    manager = make_staff(
        "store_manager", store_ids=[factories_stores.store(session, merchant=merchant).id]
    )
    url = f"/v1/admin/buyer-shows/{show.id}"
    assert client.post(f"{url}/approve", headers=stranger.headers).status_code == 404
    assert client.post(f"{url}/approve", headers=manager.headers).status_code == 403
    queue = client.get("/v1/admin/buyer-shows?state=pending", headers=service.headers).get_json()
    assert [i["id"] for i in queue["items"]] == [show.id]
    assert client.get("/v1/admin/buyer-shows", headers=stranger.headers).get_json()["items"] == []
    resp = client.post(f"{url}/approve", headers=service.headers)
    assert (resp.status_code, resp.get_json()["state"]) == (200, "approved")
    assert client.get(f"/v1/buyer-shows/{show.id}").status_code == 200
    assert client.post(f"{url}/reject", json={}, headers=service.headers).status_code == 422
    resp = client.post(f"{url}/reject", json={"reason": "Not our tea"}, headers=service.headers)
    assert resp.get_json()["reject_reason"] == "Not our tea"
    assert client.get(f"/v1/buyer-shows/{show.id}").status_code == 404
    mine = client.get(f"/v1/buyer-shows/{show.id}", headers=shopper.headers).get_json()
    assert (mine["state"], mine["reject_reason"]) == ("rejected", "Not our tea")


def test_reports_count_once_per_reader(client, session, merchant, make_shopper, owner):
    author, reader = make_shopper(), make_shopper()
    show = ff.show(session, user_id=author.id, merchant=merchant)
    pending = ff.show(session, user_id=author.id, merchant=merchant, state="pending")
    session.commit()
    for _ in range(2):
        resp = client.post(
            f"/v1/buyer-shows/{show.id}/reports", json={"reason": "Spam"}, headers=reader.headers
        )
        assert resp.get_json() == {"show_id": show.id, "reported": True}
    assert len(session.scalars(select(BuyerShowReport)).all()) == 1
    admin = client.get("/v1/admin/buyer-shows", headers=owner.headers).get_json()["items"]
    assert {i["id"]: i["report_count"] for i in admin}[show.id] == 1
    resp = client.post(f"/v1/buyer-shows/{pending.id}/reports", json={}, headers=reader.headers)
    assert resp.status_code == 404


def test_authors_delete_their_own_shows_only(client, session, merchant, make_shopper):
    author, other = make_shopper(), make_shopper()
    show = ff.show(session, user_id=author.id, merchant=merchant)
    session.commit()
    assert client.delete(f"/v1/buyer-shows/{show.id}", headers=other.headers).status_code == 404
    assert client.delete(f"/v1/buyer-shows/{show.id}", headers=author.headers).status_code == 204
    assert session.scalar(select(BuyerShow).where(BuyerShow.id == show.id)) is None
