"""A stand-in for Stripe's API on 127.0.0.1 (port 0), answering as Stripe documents it:
form-encoded POSTs with a bearer key, Idempotency-Key replays, card declines as 402 with
`error.decline_code`, and `payment_intent.succeeded` webhooks signed `t=…,v1=…`.

Test cards: `pm_card_visa` succeeds; `pm_card_chargeDeclined` (and any `pm_card_…Declined`) is
declined. With `sink` set (a callable taking (body, headers)), a confirm that succeeds delivers its
webhook `webhook_copies` times through the sink *before* answering the confirm call — the
webhook that arrives before the client returns; without a sink the events wait in `events`."""

import itertools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from app.payments.stripe import signature_header

API_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin_secret"


class StripeStandIn:
    def __init__(self):
        self.intents: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.answers: dict[str, tuple[int, dict]] = {}  # Idempotency-Key → first answer
        self.events: list[dict] = []
        self.calls: list[tuple[str, str]] = []
        self.sink = None
        self.webhook_copies = 1
        self.refund_status = 200
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        # Stripe's ids are unique for good; a counter alone restarted at 1 with every stand-in,
        # and the bench's second run on the same world met its first run's intent ids (orders
        # keep them unique: 500s on POST /v1/orders).
        self.run = secrets.token_hex(6)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = dict(parse_qsl(body.decode()))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    status, answer = 401, {"error": {"type": "invalid_request_error"}}
                else:
                    status, answer = standin.answer(self.path, form, self.headers)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, form: dict, headers) -> tuple[int, dict]:
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.calls.append((path, key))
            if key and key in self.answers:
                return self.answers[key]
        if path == "/v1/payment_intents":
            result = self._create(form)
        elif path.startswith("/v1/payment_intents/") and path.endswith("/confirm"):
            result = self._confirm(path.split("/")[3], form)
        elif path == "/v1/refunds":
            result = self._refund(form)
        else:
            result = (404, {"error": {"type": "invalid_request_error", "message": "No route"}})
        if key and result[0] < 500:
            with self.lock:
                self.answers[key] = result
        return result

    def _create(self, form: dict) -> tuple[int, dict]:
        n = next(self.ids)
        intent = {
            "id": f"pi_{self.run}{n:08d}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": 0,
            "currency": form["currency"],
            "status": "requires_payment_method",
            "client_secret": f"pi_{self.run}{n:08d}_secret_{n * 7919}",
            "metadata": {"order_id": form.get("metadata[order_id]")},
            "last_payment_error": None,
        }
        self.intents[intent["id"]] = intent
        return 200, intent

    def _confirm(self, intent_id: str, form: dict) -> tuple[int, dict]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        if intent["status"] == "succeeded":
            message = "This PaymentIntent has already succeeded."
            error = {"code": "payment_intent_unexpected_state", "message": message}
            return 400, {"error": {"type": "invalid_request_error", **error}}
        method = form.get("payment_method", "")
        if method.endswith("Declined"):
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            intent["last_payment_error"] = error
            return 402, {"error": {**error, "payment_intent": dict(intent)}}
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        event = self.event("payment_intent.succeeded", intent)
        if self.sink is not None:
            for _ in range(self.webhook_copies):
                self.sink(*self.signed(event))
        return 200, dict(intent)

    def _refund(self, form: dict) -> tuple[int, dict]:
        if self.refund_status != 200:
            return self.refund_status, {"error": {"type": "api_error", "message": "Try later"}}
        refund = {
            "id": f"re_{self.run}{next(self.ids):08d}",
            "object": "refund",
            "payment_intent": form["payment_intent"],
            "amount": int(form["amount"]),
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return 200, refund

    def event(self, type_: str, obj: dict) -> dict:
        """A Stripe event of `obj` (kept in `events` too)."""
        event = {
            "id": f"evt_{self.run}{next(self.ids):08d}",
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "data": {"object": dict(obj)},
        }
        self.events.append(event)
        return event

    @staticmethod
    def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict]:
        """The body and headers Stripe would POST for `event`."""
        body = json.dumps(event).encode()
        header = signature_header(secret, body, int(time.time()))
        return body, {"Stripe-Signature": header, "Content-Type": "application/json"}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
