"""The delivery worker (`flask deliver-webhooks`): claim one due delivery with FOR UPDATE SKIP
LOCKED, POST it signed, record the attempt, commit; repeat. Several workers on several hosts
share the queue safely; a worker killed mid-POST rolls back, its row unlocks and is sent again
(at least once: receivers dedupe on `webhook-id`).

Order: for one endpoint, a delivery is only claimed when no earlier delivery of its ordering key
is still pending, so a key's events arrive in sequence order (a delivery that failed for good no
longer holds its key back).

Retries (nominal delay after attempt n = 10 s × 4^(n−1), at most 8 h, each ×U(0.8, 1.2) jitter):
10 s, 40 s, 2m40, 10m40, 42m40, 2h50, 8 h, 8 h ... until 24 h (WEBHOOK_RETRY_HOURS) after the
delivery was made; then it fails for good. 2xx is success; 4xx other than 408/429 fails at once;
408, 429 (its Retry-After is honoured), 3xx (redirects are not followed), 5xx, timeouts and
connection errors are retried. An endpoint whose deliveries failed for good
WEBHOOK_DISABLE_AFTER times in a row (20) is disabled, with the reason on the endpoint."""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.events import service as events_service
from app.events import signing, urls

RETRY_BASE = timedelta(seconds=10)
RETRY_FACTOR = 4
RETRY_CAP = timedelta(hours=8)
EXCERPT = 500

_CLAIM = text(
    """
    SELECT d.id, d.attempts, d.created_at, d.endpoint_id, d.merchant_id AS delivery_merchant,
           e.url, e.secret, e.previous_secret, e.previous_secret_expires_at,
           ev.public_id, ev.type, ev.merchant_id, ev.ordering_key, ev.sequence,
           ev.schema_version, ev.occurred_at, ev.data
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    JOIN events ev ON ev.id = d.event_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= :now AND e.enabled
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
        WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
          AND p.status = 'pending' AND (p.sequence, p.id) < (d.sequence, d.id))
    ORDER BY d.next_attempt_at, d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
    """
)
# What one attempt got, in one round trip: the attempt's row, the delivery's new state, and the
# endpoint's (one of the three updates below). Four statements a delivery before: 20.6 ms a
# delivery on a loaded box, mostly waiting on them (bench/delivery.py).
_RECORD = """
WITH attempt AS (
  INSERT INTO webhook_attempts (merchant_id, delivery_id, attempted_at, status_code,
                                duration_ms, response_excerpt, error)
  VALUES (:merchant, :id, :at, :code, :duration, :excerpt, :error)
), finish AS (
  UPDATE webhook_deliveries SET status = :status, attempts = attempts + 1,
    last_status_code = :code, last_error = :error, next_attempt_at = :next,
    finished_at = CASE WHEN :status = 'pending' THEN NULL ELSE CAST(:at AS timestamptz) END
  WHERE id = :id
)
"""
_SUCCEEDED = text(
    _RECORD + "UPDATE webhook_endpoints SET consecutive_failures = 0, last_success_at = :at"
    " WHERE id = :endpoint"
)
# One conditional UPDATE: the run of failures and the switch-off cannot race another worker.
_FAILED_FOR_GOOD = text(
    _RECORD + "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,"
    " last_failure_at = :at,"
    " enabled = enabled AND consecutive_failures + 1 < :limit,"
    " disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= :limit"
    "   THEN :reason ELSE disabled_reason END"
    " WHERE id = :endpoint"
)
_RETRYING = text(
    _RECORD + "UPDATE webhook_endpoints SET last_failure_at = :at WHERE id = :endpoint"
)


@dataclass(frozen=True)
class Response:
    """What one POST got: a status code, or an error."""

    code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int
    retry_after: int | None = None


def retry_delay(attempt: int, rng: random.Random) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based), jittered."""
    nominal = min(RETRY_BASE * RETRY_FACTOR ** (attempt - 1), RETRY_CAP)
    return nominal * rng.uniform(0.8, 1.2)


def http_client() -> httpx.Client:
    """One keep-alive client per worker: connect/read timeouts, no redirects, no env proxies."""
    cfg = current_app.config
    timeout = httpx.Timeout(cfg["WEBHOOK_READ_TIMEOUT"], connect=cfg["WEBHOOK_CONNECT_TIMEOUT"])
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)


def _post(client: httpx.Client, row, at: datetime) -> Response:
    body = orjson.dumps(events_service.message(row))
    msg_id = f"evt_{row['public_id']}"
    headers = signing.headers(
        events_service.signing_secrets(
            secret=row["secret"],
            previous_secret=row["previous_secret"],
            previous_expires_at=row["previous_secret_expires_at"],
            at=at,
        ),
        msg_id,
        int(time.time()),
        body,
    )
    headers.update({"content-type": "application/json", "user-agent": "shopnear-webhooks/1"})
    started = time.perf_counter()
    try:
        urls.check_url(row["url"], allow_loopback=current_app.config["WEBHOOK_ALLOW_LOOPBACK"])
        with client.stream("POST", row["url"], content=body, headers=headers) as resp:
            excerpt = next(resp.iter_bytes(EXCERPT), b"")[:EXCERPT].decode("utf-8", "replace")
            retry_after = resp.headers.get("retry-after", "")
    except (httpx.HTTPError, urls.UnsafeUrl) as error:
        detail = getattr(error, "detail", None) or f"{type(error).__name__}: {error}"
        return Response(None, None, detail[:EXCERPT], _ms(started))
    seconds = int(retry_after) if retry_after.isdigit() else None
    return Response(resp.status_code, excerpt, None, _ms(started), seconds)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _outcome(response: Response) -> str:
    code = response.code
    if code is not None and 200 <= code < 300:
        return "delivered"
    if code is not None and 400 <= code < 500 and code not in (408, 429):
        return "failed"
    return "retry"


def deliver_next(*, session: Session, client: httpx.Client, at: datetime, rng) -> bool:
    """Send the next due delivery, if any, and record what happened (the caller commits)."""
    row = session.execute(_CLAIM, {"now": at}).mappings().first()
    if row is None:
        return False
    response = _post(client, row, at)
    _record(session, row, response, at, rng)
    return True


def _record(session: Session, row, response: Response, at: datetime, rng) -> None:
    cfg = current_app.config
    status, next_at = _outcome(response), at
    if status == "retry":
        wait = retry_delay(row["attempts"] + 1, rng)
        if response.retry_after:
            wait = max(wait, timedelta(seconds=response.retry_after))
        next_at = at + wait
        if next_at > row["created_at"] + timedelta(hours=cfg["WEBHOOK_RETRY_HOURS"]):
            status = "failed"  # out of time: fails for good
        else:
            status = "pending"
    values = {
        "merchant": row["delivery_merchant"],
        "id": row["id"],
        "at": at,
        "code": response.code,
        "duration": response.duration_ms,
        "excerpt": response.excerpt,
        "error": response.error,
        "status": status,
        "next": next_at,
        "endpoint": row["endpoint_id"],
    }
    if status == "delivered":
        session.execute(_SUCCEEDED, values)
    elif status == "failed":
        limit = cfg["WEBHOOK_DISABLE_AFTER"]
        reason = f"Disabled after {limit} deliveries in a row failed."
        session.execute(_FAILED_FOR_GOOD, {**values, "limit": limit, "reason": reason})
    else:
        session.execute(_RETRYING, values)


def deliver_due(*, session: Session, client: httpx.Client, limit: int, clock=None, rng=None) -> int:
    """Deliver up to `limit` due deliveries, one transaction each; returns how many were tried."""
    clock, rng = clock or (lambda: datetime.now(UTC)), rng or random.Random()
    done = 0
    while done < limit and deliver_next(session=session, client=client, at=clock(), rng=rng):
        session.commit()  # one delivery per transaction: its row lock lasts one POST
        done += 1
    return done
