"""What orders ask of a payment provider, whichever it is.

A provider takes money through an intent (created with the order, confirmed with the shopper's
payment method), gives it back through refunds, and tells us what happened through signed
webhooks. `from_config` returns the one configured (PAYMENT_PROVIDER; only "stripe" for now)."""

from dataclasses import dataclass

from flask import current_app

from app.errors import ApiError


class PaymentDeclined(ApiError):
    status, type, title = 402, "payments.declined", "Payment declined"


class ProviderUnavailable(ApiError):
    status, type, title = 502, "payments.provider_unavailable", "Payment provider unavailable"


class BadSignature(ApiError):
    """Not signed by the provider: the caller is not who it says (Stripe retries any non-2xx)."""

    status, type, title = 401, "payments.bad_signature", "Bad webhook signature"


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # requires_payment_method | requires_confirmation | processing | succeeded | ...
    amount_cents: int
    currency: str
    client_secret: str | None = None
    decline_code: str | None = None
    decline_message: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # succeeded | pending | failed


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    intent_id: str | None
    amount_cents: int | None


class Provider:
    """The interface; `app.payments.stripe.StripeProvider` implements it."""

    def create_intent(
        self, *, amount_cents: int, currency: str, order_id: str, idempotency_key: str
    ) -> Intent:
        raise NotImplementedError

    def confirm_intent(
        self, *, intent_id: str, payment_method: str, idempotency_key: str
    ) -> Intent:
        raise NotImplementedError

    def refund(self, *, intent_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        raise NotImplementedError

    def parse_webhook(self, *, body: bytes, headers) -> Event:
        raise NotImplementedError


def from_config() -> Provider:
    """The configured provider."""
    from app.payments.stripe import StripeProvider

    cfg = current_app.config
    return StripeProvider(
        base_url=cfg["STRIPE_API_BASE"],
        api_key=cfg["STRIPE_API_KEY"],
        webhook_secret=cfg["STRIPE_WEBHOOK_SECRET"],
        timeout=cfg["PAYMENT_TIMEOUT_SECONDS"],
        tolerance_seconds=cfg["STRIPE_WEBHOOK_TOLERANCE_SECONDS"],
    )
