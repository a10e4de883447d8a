"""Orders under real concurrency: payment callbacks racing each other, a webhook that arrives
before our confirm call returns, a payment racing the hold's expiry; rule 1 after each test."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update

from app.extensions import db
from app.orders import lifecycle, refunds
from app.orders.models import OrderRefund
from app.payments import provider as payments
from app.pickup import expiry
from app.pickup.models import Reservation
from tests.factories_orders import WEBHOOK, event_types, order_row, pay, place, shop
from tests.race import in_app_context, race
from tests.stripe_standin import StripeStandIn


def _poster(event):
    body, headers = StripeStandIn.signed(event)
    return lambda client: client.post(WEBHOOK, data=body, headers=headers)


def _succeeded(stripe, session, order_id) -> dict:
    intent = stripe.intents[order_row(session, order_id).intent_id]
    intent.update(status="succeeded", amount_received=intent["amount"])
    return intent


def test_eight_payment_callbacks_at_once_pay_once(
    committed, make_shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    shopper = make_shopper()
    client = committed.test_client()
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    intent = _succeeded(stripe, session, order["id"])
    event = stripe.event("payment_intent.succeeded", intent)
    copies = [event] * 4 + [stripe.event("payment_intent.succeeded", intent) for _ in range(4)]
    results = race(committed, [_poster(e) for e in copies])
    assert [s for s, _ in results] == [200] * 8
    assert sorted(b["duplicate"] for _, b in results) == [False] * 5 + [True] * 3
    assert order_row(session, order["id"]).payment_state == "paid"
    assert event_types(session, order["id"]).count("order.paid") == 1


def test_the_webhook_arrives_before_the_confirm_call_returns(
    committed, make_shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    shopper = make_shopper()
    client = committed.test_client()
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    seen = []

    def sink(body, headers):  # the provider calls us back while our confirm call waits
        seen.append(committed.test_client().post(WEBHOOK, data=body, headers=headers).status_code)

    stripe.sink, stripe.webhook_copies = sink, 2
    resp = pay(client, shopper, order["id"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["payment_state"] == "paid"
    assert seen == [200, 200]
    assert event_types(session, order["id"]).count("order.paid") == 1


def test_confirm_calls_and_webhooks_race(committed, make_shopper, merchant, session, stripe):
    store, skus = shop(session, merchant)
    shopper = make_shopper()
    client = committed.test_client()
    order = place(client, shopper, store, [(skus[0], 1)]).get_json()
    intent = stripe.intents[order_row(session, order["id"]).intent_id]
    late = {**intent, "status": "succeeded", "amount_received": intent["amount"]}
    hooks = [_poster(stripe.event("payment_intent.succeeded", late)) for _ in range(3)]

    def confirm(client):
        return pay(client, shopper, order["id"])

    results = race(committed, [confirm, confirm, *hooks])
    assert all(s in (200, 502) or s == 402 for s, _ in results), results
    assert order_row(session, order["id"]).payment_state == "paid"
    assert event_types(session, order["id"]).count("order.paid") == 1


def test_a_payment_racing_the_expiry_is_kept_or_refunded_never_both(
    committed, make_shopper, merchant, session, stripe
):
    store, skus = shop(session, merchant)
    shoppers = [make_shopper() for _ in range(6)]
    client = committed.test_client()
    orders = [place(client, s, store, [(skus[0], 1)]).get_json() for s in shoppers]
    session.execute(
        update(Reservation)
        .where(Reservation.awaiting_payment.is_(True))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    hooks = [
        _poster(stripe.event("payment_intent.succeeded", _succeeded(stripe, session, o["id"])))
        for o in orders
    ]

    def sweep():
        n = expiry.sweep_batch(session=db.session, batch_size=2)
        db.session.commit()
        lifecycle.settle_batch(session=db.session)
        db.session.commit()
        return n

    race(committed, [*hooks, in_app_context(committed, sweep), in_app_context(committed, sweep)])
    with committed.app_context():
        sweep()
    for o in orders:
        row = order_row(session, o["id"])
        assert (row.payment_state, row.ended_state) == ("refunding", "expired")
    assert session.scalar(select(func.count()).select_from(OrderRefund)) == 6
    with committed.app_context():
        refunds.send_batch(session=db.session, provider=payments.from_config())
        db.session.commit()
    assert len(stripe.refunds) == 6
    held = session.scalar(text("SELECT reserved FROM stock WHERE sku_id = :s"), {"s": skus[0].id})
    assert held == 0
