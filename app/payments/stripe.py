"""Stripe's API as Stripe documents it: form-encoded POSTs with a bearer secret key, an
`Idempotency-Key` on every create (a retry gets the first answer), JSON answers, card errors as
402 with `error.decline_code`; webhooks signed `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` with the endpoint secret (several v1 during a secret's rotation).

The base URL is configurable (STRIPE_API_BASE): the tests point it at a stand-in on 127.0.0.1."""

import hashlib
import hmac
import os
import time
from functools import cache

import httpx
import orjson

from app.payments.provider import (
    BadSignature,
    Event,
    Intent,
    PaymentDeclined,
    Provider,
    ProviderUnavailable,
    Refund,
)

INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `body` at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _intent(data: dict) -> Intent:
    error = data.get("last_payment_error") or {}
    return Intent(
        id=data["id"],
        status=data["status"],
        amount_cents=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret"),
        decline_code=error.get("decline_code") or error.get("code"),
        decline_message=error.get("message"),
    )


@cache
def _client(pid: int) -> httpx.Client:
    """One HTTP client per process (thread-safe, keeps connections alive). `httpx.post` built a
    client per call, and each new client loads the CA bundle into a new SSL context: 55 ms of
    the 62 ms a provider call took (cProfile, order_pay; docs/PERFORMANCE.md). Keyed by the
    process id so that a forked worker never shares its parent's sockets."""
    return httpx.Client()


class StripeProvider(Provider):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        webhook_secret: str,
        timeout: float,
        tolerance_seconds: int,
    ):
        self.base_url, self.api_key, self.webhook_secret = (
            base_url.rstrip("/"),
            api_key,
            webhook_secret,
        )
        self.timeout, self.tolerance = timeout, tolerance_seconds

    def _post(self, path: str, form: dict, idempotency_key: str) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key}
        try:
            resp = _client(os.getpid()).post(
                self.base_url + path, data=form, headers=headers, timeout=self.timeout
            )
            return resp.status_code, resp.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"The payment provider did not answer: {error}.") from error

    def _intent_answer(self, status: int, body: dict) -> Intent:
        if status == 402:  # a card error: the intent is in the body's error
            error = body.get("error") or {}
            raise PaymentDeclined(
                error.get("message") or "The card was declined.",
                decline_code=error.get("decline_code") or error.get("code"),
            )
        if status != 200:
            raise ProviderUnavailable(f"The payment provider answered {status}.")
        return _intent(body)

    def create_intent(
        self, *, amount_cents: int, currency: str, order_id: str, idempotency_key: str
    ) -> Intent:
        form = {
            "amount": str(amount_cents),
            "currency": currency.lower(),
            "metadata[order_id]": order_id,
            "automatic_payment_methods[enabled]": "true",
        }
        return self._intent_answer(*self._post("/v1/payment_intents", form, idempotency_key))

    def confirm_intent(
        self, *, intent_id: str, payment_method: str, idempotency_key: str
    ) -> Intent:
        form = {"payment_method": payment_method}
        path = f"/v1/payment_intents/{intent_id}/confirm"
        return self._intent_answer(*self._post(path, form, idempotency_key))

    def refund(self, *, intent_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        form = {"payment_intent": intent_id, "amount": str(amount_cents)}
        status, body = self._post("/v1/refunds", form, idempotency_key)
        if status != 200:
            message = (body.get("error") or {}).get("message", "")
            raise ProviderUnavailable(f"The refund was refused ({status}): {message}")
        return Refund(id=body["id"], status=body["status"])

    def parse_webhook(self, *, body: bytes, headers) -> Event:
        self._verify(body, headers.get("Stripe-Signature") or "")
        try:
            event = orjson.loads(body)
            obj = event["data"]["object"]
            is_intent = event["type"] in INTENT_EVENTS
            return Event(
                id=str(event["id"]),
                type=str(event["type"]),
                intent_id=str(obj["id"]) if is_intent else None,
                amount_cents=int(obj.get("amount_received") or obj.get("amount") or 0),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise BadSignature("The webhook body is not a Stripe event.") from error

    def _verify(self, body: bytes, header: str) -> None:
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamps = [v for k, v in parts if k == "t"]
        given = [v for k, v in parts if k == "v1"]
        if len(stamps) != 1 or not given or not stamps[0].isdigit():
            raise BadSignature("Stripe-Signature must carry t= and v1=.")
        timestamp = int(stamps[0])
        if abs(time.time() - timestamp) > self.tolerance:
            raise BadSignature("The webhook's timestamp is outside the tolerance.")
        expected = signature_header(self.webhook_secret, body, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, g) for g in given):
            raise BadSignature("No v1 signature matches.")
