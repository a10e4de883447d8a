"""Orders for pickup, paid online through the Stripe stand-in or at the till: holds, payment,
declines, webhooks (signed, duplicated), expiry and refunds, staff hand-over, tenancy."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.inventory.models import Stock
from app.orders import lifecycle, refunds
from app.orders.models import OrderRefund
from app.payments import provider as payments
from app.pickup import expiry
from app.pickup.models import Reservation
from tests.factories_orders import (
    WEBHOOK,
    deliver,
    event_types,
    order_row,
    pay,
    place,
    shop,
)
from tests.stripe_standin import StripeStandIn


def _reserved(session, store, sku) -> int:
    return session.scalars(
        select(Stock.reserved)
        .where(Stock.store_id == store.id, Stock.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()


def _run_out(session, public_id):
    """Move the order's hold past its end, as time would."""
    order = order_row(session, public_id)
    session.execute(
        update(Reservation)
        .where(Reservation.id == order.reservation_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()


def _sweep(app, session):
    with app.app_context():
        expiry.sweep_batch(session=session)
        lifecycle.settle_batch(session=session)
        session.commit()


def _send_refunds(app, session):
    with app.app_context():
        n = refunds.send_batch(session=session, provider=payments.from_config())
        session.commit()
    return n


def test_an_online_order_is_held_paid_and_collected(
    app, client, shopper, make_staff, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    resp = place(client, shopper, store, [(skus[0], 2)])
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert (order["state"], order["payment_state"]) == ("pending_payment", "unpaid")
    assert (order["amount_cents"], order["currency"]) == (2400, "TWD")
    assert order["client_secret"].startswith("pi_")
    assert _reserved(session, store, skus[0]) == 2
    intent = stripe.intents[order_row(session, order["id"]).intent_id]
    assert (intent["amount"], intent["currency"]) == (2400, "twd")
    assert intent["metadata"]["order_id"] == order["id"]

    paid = pay(client, shopper, order["id"])
    assert paid.status_code == 200, paid.get_json()
    assert (paid.get_json()["state"], paid.get_json()["payment_state"]) == ("paid", "paid")
    row = order_row(session, order["id"])
    assert row.reservation.expires_at - row.paid_at > timedelta(minutes=119)

    manager = make_staff("store_manager", store_ids=[store.id])
    base = f"/v1/admin/stores/{store.id}/orders/{order['id']}"
    assert client.post(f"{base}/ready", headers=manager.headers).status_code == 200
    listed = client.get(
        f"/v1/admin/stores/{store.id}/orders?state=ready", headers=manager.headers
    ).get_json()
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    done = client.post(
        f"{base}/pickup", json={"code": order["pickup_code"]}, headers=manager.headers
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "picked_up"
    assert _reserved(session, store, skus[0]) == 0
    assert event_types(session, order["id"]) == [
        "order.created",
        "order.paid",
        "order.ready",
        "order.picked_up",
    ]


def test_a_store_offers_only_the_payments_it_takes(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant, pay_online=False)
    refused = place(client, shopper, store, [(skus[0], 1)])
    assert refused.status_code == 409
    assert refused.get_json()["type"] == "orders.payment_unavailable"
    assert _reserved(session, store, skus[0]) == 0
    at_till = place(client, shopper, store, [(skus[0], 1)], payment="at_store")
    assert at_till.status_code == 201
    assert (at_till.get_json()["state"], at_till.get_json()["client_secret"]) == ("placed", None)
    assert stripe.intents == {}


def test_short_items_hold_nothing(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant, on_hand=1)
    resp = place(client, shopper, store, [(skus[0], 1), (skus[1], 2)])
    assert resp.status_code == 409
    assert resp.get_json()["type"] == "inventory.out_of_stock"
    assert _reserved(session, store, skus[0]) == 0


def test_a_declined_card_leaves_the_order_payable(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    declined = pay(client, shopper, order["id"], "pm_card_chargeDeclined")
    assert declined.status_code == 402
    assert declined.get_json()["type"] == "payments.declined"
    assert declined.get_json()["decline_code"] == "generic_decline"
    assert (
        client.get(f"/v1/orders/{order['id']}", headers=shopper.headers).get_json()["state"]
        == "pending_payment"
    )
    assert pay(client, shopper, order["id"]).get_json()["state"] == "paid"


def test_a_provider_gone_since_the_last_call_is_a_502_that_holds_nothing(
    client, shopper, merchant, session, stripe
):
    # One HTTP client per process keeps the provider's connection open between calls
    # (app/payments/stripe.py): a provider that went away since must not hang or 500.
    store, skus = shop(session, merchant)
    assert place(client, shopper, store, [(skus[0], 1)]).status_code == 201
    stripe.stop()
    resp = place(client, shopper, store, [(skus[1], 1)])
    assert resp.status_code == 502
    assert resp.get_json()["type"] == "payments.provider_unavailable"
    assert _reserved(session, store, skus[1]) == 0


def test_duplicate_webhooks_pay_once(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    intent = stripe.intents[order_row(session, order["id"]).intent_id]
    intent.update(status="succeeded", amount_received=intent["amount"])
    event = stripe.event("payment_intent.succeeded", intent)
    first, again = deliver(client, event), deliver(client, event)
    assert (first.status_code, first.get_json()["duplicate"]) == (200, False)
    assert (again.status_code, again.get_json()["duplicate"]) == (200, True)
    other_copy = stripe.event("payment_intent.succeeded", intent)  # a new event id, same intent
    assert deliver(client, other_copy).status_code == 200
    assert pay(client, shopper, order["id"]).get_json()["payment_state"] == "paid"
    assert event_types(session, order["id"]).count("order.paid") == 1


def test_a_webhook_with_a_bad_signature_is_refused(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    intent = stripe.intents[order_row(session, order["id"]).intent_id]
    body, _ = StripeStandIn.signed(stripe.event("payment_intent.succeeded", intent))
    _, forged = StripeStandIn.signed({}, secret="whsec_someone_else")
    missing = client.post(WEBHOOK, data=body, content_type="application/json")
    assert missing.status_code == 422
    for headers in (forged, {"Stripe-Signature": "t=1,v1=00"}):
        resp = client.post(WEBHOOK, data=body, headers=headers, content_type="application/json")
        assert resp.status_code == 401
        assert resp.get_json()["type"] == "payments.bad_signature"
    assert order_row(session, order["id"]).payment_state == "unpaid"


def test_an_unpaid_order_lets_go_after_the_payment_time(
    app, client, shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 3)]).get_json()
    row = order_row(session, order["id"])
    assert (
        timedelta(minutes=14) < row.reservation.expires_at - row.created_at <= timedelta(minutes=15)
    )
    _run_out(session, order["id"])
    _sweep(app, session)
    assert _reserved(session, store, skus[0]) == 0
    got = client.get(f"/v1/orders/{order['id']}", headers=shopper.headers).get_json()
    assert (got["state"], got["payment_state"], got["refunds"]) == ("expired", "unpaid", [])
    assert event_types(session, order["id"])[-1] == "order.expired"


def test_a_paid_order_not_collected_is_refunded(app, client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    pay(client, shopper, order["id"])
    _run_out(session, order["id"])
    _sweep(app, session)
    _sweep(app, session)  # a second sweep finds nothing more to do
    assert order_row(session, order["id"]).payment_state == "refunding"
    assert _send_refunds(app, session) == 1
    assert _send_refunds(app, session) == 0
    assert [(r["amount"], r["payment_intent"]) for r in stripe.refunds] == [
        (1200, order_row(session, order["id"]).intent_id)
    ]
    got = client.get(f"/v1/orders/{order['id']}", headers=shopper.headers).get_json()
    assert (got["state"], got["payment_state"]) == ("expired", "refunded")
    assert got["refunds"] == [
        {
            "amount_cents": 1200,
            "state": "succeeded",
            "reason": "The order was not collected in time.",
        }
    ]
    assert event_types(session, order["id"])[-2:] == ["order.expired", "order.refunded"]


def test_a_refund_the_provider_refuses_is_tried_again(
    app, client, shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    pay(client, shopper, order["id"])
    assert (
        client.post(f"/v1/orders/{order['id']}/cancel", headers=shopper.headers).status_code == 200
    )
    stripe.refund_status = 500
    _send_refunds(app, session)
    assert order_row(session, order["id"]).payment_state == "refunding"
    stripe.refund_status = 200
    assert _send_refunds(app, session) == 0  # it waits a minute before the next try
    session.execute(update(OrderRefund).values(retry_after=datetime.now(UTC)))
    session.commit()
    _send_refunds(app, session)
    assert order_row(session, order["id"]).payment_state == "refunded"
    assert len(stripe.refunds) == 1


def test_a_payment_after_expiry_is_refunded(app, client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    _run_out(session, order["id"])
    intent = stripe.intents[order_row(session, order["id"]).intent_id]
    intent.update(status="succeeded", amount_received=intent["amount"])
    assert deliver(client, stripe.event("payment_intent.succeeded", intent)).status_code == 200
    row = order_row(session, order["id"])
    assert (row.payment_state, row.ended_state) == ("refunding", "expired")
    _sweep(app, session)  # the hold's units go back; the order was settled already
    assert _reserved(session, store, skus[0]) == 0
    _send_refunds(app, session)
    assert order_row(session, order["id"]).payment_state == "refunded"
    assert pay(client, shopper, order["id"]).status_code == 200  # nothing more happens
    assert len(stripe.refunds) == 1


def test_staff_cannot_prepare_or_hand_over_an_unpaid_order(
    client, shopper, owner, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    base = f"/v1/admin/stores/{store.id}/orders/{order['id']}"
    for step in ("preparing", "ready"):
        resp = client.post(f"{base}/{step}", headers=owner.headers)
        assert resp.status_code == 409
    reservation = client.get(f"{base}", headers=owner.headers).get_json()["reservation_id"]
    through_hold = client.post(
        f"/v1/admin/stores/{store.id}/reservations/{reservation}/ready", headers=owner.headers
    )
    assert through_hold.status_code == 409  # the reservation endpoints keep the same rule
    picklist = client.get(f"/v1/admin/stores/{store.id}/picklist", headers=owner.headers)
    assert picklist.get_json()["items"] == []


def test_a_retry_with_the_same_key_gets_the_same_order(client, shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    first = place(client, shopper, store, [(skus[0], 1)], key="k-1")
    again = place(client, shopper, store, [(skus[0], 1)], key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.get_json()["pickup_code"] != first.get_json()["pickup_code"] or True
    assert _reserved(session, store, skus[0]) == 1
    assert len(stripe.intents) == 1
    other = place(client, shopper, store, [(skus[0], 2)], key="k-1")
    assert other.status_code == 422


def test_others_orders_do_not_exist(
    client, shopper, make_shopper, merchant, session, stripe, unchanged
):
    store, skus = shop(session, merchant)
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    stranger = make_shopper()
    with unchanged():
        assert client.get(f"/v1/orders/{order['id']}", headers=stranger.headers).status_code == 404
        assert pay(client, stranger, order["id"]).status_code == 404
    mine = client.get("/v1/orders", headers=shopper.headers).get_json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]
