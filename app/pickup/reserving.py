"""The shopper's reserve and cancel as a few prepared statements (the promotion-day hot path).

Through the ORM a create was 12 statements and a cancel 5, each a round trip with SQLAlchemy's
flush and result machinery around it: 0.20 of the same transactions in raw SQL
(docs/PERFORMANCE.md). Here a create is three statements and a cancel one (two when it gives a
coupon back), all prepared once per connection (app/prepared.py), and the answers are dicts.

The rules stay where they were, in SQL:
- One shopper's reservations are serialised by an advisory lock taken in a statement of its own,
  so the caps, counted by the next statement's snapshot, see every earlier commit.
- All or nothing: the stock rows are locked in (store_id, sku_id) order and the conditional
  UPDATE runs only when every line can be held on the locked (latest) rows.
- Caps live in one CTE (`caps`): a further limit is one more column there and one more error.
- Idempotency: the key row is claimed after the lock (app/idempotency.py's protocol) and the
  first answer is stored by the same statement that inserts the reservation.
"""

import orjson
from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import prepared
from app.pickup.models import ACTIVE_STATES

CLAIM = text("""
WITH serialised AS (
    SELECT pg_advisory_xact_lock(hashtextextended('pickup.user:' || CAST(:user AS bigint), 0))
), claimed AS (
    INSERT INTO idempotency_keys (user_id, scope, key, request_hash)
    SELECT CAST(:user AS bigint), CAST(:scope AS text), CAST(:key AS text), CAST(:digest AS text)
    FROM serialised WHERE CAST(:key AS text) IS NOT NULL
    ON CONFLICT (user_id, scope, key) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM serialised) AS serialised, (SELECT id FROM claimed) AS key_id
""")

HOLD = text("""
WITH store AS (
    SELECT id, merchant_id, pickup_hold_minutes, is_active AND pickup_enabled AS open
    FROM stores WHERE id = CAST(:store AS bigint)
), lines AS (
    SELECT * FROM unnest(CAST(:skus AS bigint[]), CAST(:qtys AS int[])) AS l (sku_id, qty)
), foreign_skus AS (
    SELECT coalesce(array_agg(l.sku_id ORDER BY l.sku_id), '{}') AS ids FROM lines l
    WHERE NOT EXISTS (SELECT 1 FROM skus k JOIN store ON k.merchant_id = store.merchant_id
                      WHERE k.id = l.sku_id AND k.is_active)
), active AS (
    SELECT r.id FROM reservations r
    WHERE r.user_id = CAST(:user AS bigint) AND r.state = ANY (CAST(:active AS text[]))
      AND r.expires_at > CAST(:at AS timestamptz)
), no_shows AS (
    -- Holds of the last :no_show_days days that ran out uncollected (swept or not yet).
    SELECT count(*) AS n FROM reservations r
    WHERE r.user_id = CAST(:user AS bigint) AND r.expires_at <= CAST(:at AS timestamptz)
      AND r.expires_at > CAST(:at AS timestamptz)
                         - make_interval(days => CAST(:no_show_days AS int))
      AND (r.state = 'expired' OR r.state = ANY (CAST(:active AS text[])))
), caps AS (
    SELECT (SELECT count(*) FROM active) >= CASE
               WHEN (SELECT n FROM no_shows) >= CAST(:no_show_limit AS int)
               THEN CAST(:max_after_no_shows AS int) ELSE CAST(:max_active AS int) END
           AS too_many,
           (SELECT n FROM no_shows) AS no_shows,
           (SELECT coalesce(array_agg(l.sku_id ORDER BY l.sku_id), '{}') FROM lines l
            WHERE l.qty + coalesce((SELECT sum(i.qty) FROM reservation_items i
                                    JOIN active a ON a.id = i.reservation_id
                                    WHERE i.sku_id = l.sku_id), 0)
                  > CAST(:max_units AS int)) AS over_units
), allowed AS (
    SELECT store.open AND cardinality(f.ids) = 0 AND NOT caps.too_many
           AND cardinality(caps.over_units) = 0 AS ok
    FROM store, foreign_skus f, caps
), locked AS (
    SELECT s.sku_id,
           CASE WHEN s.channel = 'shared' THEN greatest(s.on_hand - s.reserved, 0) ELSE 0 END
           AS available
    FROM stock s JOIN lines l ON l.sku_id = s.sku_id
    WHERE s.store_id = CAST(:store AS bigint) AND (SELECT ok FROM allowed)
    ORDER BY s.store_id, s.sku_id
    FOR NO KEY UPDATE OF s
), verdict AS (
    SELECT count(*) = (SELECT count(*) FROM lines)
           AND coalesce(bool_and(k.available >= l.qty), false) AS every_line
    FROM locked k JOIN lines l USING (sku_id)
), held AS (
    UPDATE stock SET reserved = stock.reserved + l.qty
    FROM lines l
    WHERE (SELECT every_line FROM verdict) AND stock.store_id = CAST(:store AS bigint)
      AND stock.sku_id = l.sku_id AND stock.channel = 'shared'
      AND stock.on_hand - stock.reserved >= l.qty
    RETURNING stock.sku_id
)
SELECT store.merchant_id, store.pickup_hold_minutes, store.open, f.ids AS foreign_skus,
       caps.too_many, caps.no_shows, caps.over_units, (SELECT count(*) FROM held) AS held,
       (SELECT coalesce(json_agg(json_build_object('sku_id', l.sku_id, 'requested', l.qty,
                                                   'available', coalesce(k.available, 0))
                                 ORDER BY l.sku_id), '[]')
        FROM lines l LEFT JOIN locked k USING (sku_id)
        WHERE coalesce(k.available, 0) < l.qty) AS short
FROM store, foreign_skus f, caps
""")

INSERT = text("""
WITH reservation AS (
    INSERT INTO reservations (public_id, user_id, store_id, merchant_id, state, pickup_code_hash,
                              failed_code_attempts, expires_at, created_at)
    VALUES (CAST(:public_id AS uuid), CAST(:user AS bigint), CAST(:store AS bigint),
            CAST(:merchant AS bigint), 'reserved', CAST(:code_hash AS text), 0,
            CAST(:expires_at AS timestamptz), CAST(:at AS timestamptz))
    RETURNING id, public_id
), items AS (
    INSERT INTO reservation_items (reservation_id, sku_id, qty)
    SELECT reservation.id, l.sku_id, l.qty
    FROM reservation, unnest(CAST(:skus AS bigint[]), CAST(:qtys AS int[])) AS l (sku_id, qty)
), answer AS (
    UPDATE idempotency_keys SET response_status = 201, response_body = CAST(:body AS jsonb)
    WHERE id = CAST(:key_id AS bigint)
)
SELECT id, public_id FROM reservation
""")

# Lock order as everywhere: the reservation row, then its stock rows by (store_id, sku_id).
CANCEL = text("""
WITH closed AS (
    UPDATE reservations SET state = 'cancelled', closed_at = CAST(:at AS timestamptz),
           closed_by_user_id = CAST(:user AS bigint), close_reason = CAST(:reason AS text),
           updated_at = now()
    WHERE public_id = CAST(:public_id AS uuid) AND user_id = CAST(:user AS bigint)
      AND state = ANY (CAST(:active AS text[])) AND expires_at > CAST(:at AS timestamptz)
    RETURNING id, public_id, store_id, merchant_id, expires_at, extended_at, created_at,
              ready_at, picked_up_at, closed_at, close_reason
), lines AS (
    SELECT i.sku_id, i.qty FROM reservation_items i JOIN closed c ON c.id = i.reservation_id
), locked AS (
    SELECT s.sku_id FROM stock s JOIN closed c ON c.store_id = s.store_id
    JOIN lines l ON l.sku_id = s.sku_id
    ORDER BY s.store_id, s.sku_id
    FOR NO KEY UPDATE OF s
), released AS (
    UPDATE stock SET reserved = stock.reserved - l.qty
    FROM closed c, lines l
    WHERE stock.store_id = c.store_id AND stock.sku_id = l.sku_id
      AND (SELECT count(*) FROM locked) = (SELECT count(*) FROM lines)
    RETURNING stock.sku_id
)
SELECT c.*, (SELECT count(*) FROM released) AS released,
       (SELECT json_agg(json_build_object('sku_id', sku_id, 'qty', qty) ORDER BY sku_id)
        FROM lines) AS items,
       EXISTS (SELECT 1 FROM coupons WHERE reservation_id = c.id AND state = 'held')
       AS holds_coupon
FROM closed c
""")


def claim(
    session: Session,
    *,
    user_id: int,
    key: str | None,
    digest: str | None,
    scope: str = "pickup.reserve",
):
    """Serialise the shopper's holds (reservations and orders); the claimed idempotency key's id
    (None when the key was claimed before: a replay, or when no key was given)."""
    params = {"user": user_id, "key": key, "digest": digest, "scope": scope}
    row = prepared.fetch(session, CLAIM, params, in_transaction=True)[0]
    return row.key_id


def hold(session: Session, *, user_id: int, store_id: int, lines: dict[int, int], at):
    """Check the store, the SKUs and the caps, then hold every line or none; the verdict row
    (None when the store does not exist)."""
    cfg = current_app.config
    skus = sorted(lines)
    rows = prepared.fetch(
        session,
        HOLD,
        {
            "store": store_id,
            "user": user_id,
            "skus": skus,
            "qtys": [lines[s] for s in skus],
            "active": list(ACTIVE_STATES),
            "at": at,
            "max_active": cfg["PICKUP_MAX_ACTIVE_RESERVATIONS"],
            "max_units": cfg["PICKUP_MAX_UNITS_PER_SKU"],
            "no_show_days": cfg["PICKUP_NO_SHOW_DAYS"],
            "no_show_limit": cfg["PICKUP_NO_SHOW_LIMIT"],
            "max_after_no_shows": cfg["PICKUP_MAX_ACTIVE_AFTER_NO_SHOWS"],
        },
        in_transaction=True,
    )
    return rows[0] if rows else None


def insert(session: Session, *, body: dict, user_id: int, merchant_id: int, code_hash: str,
           key_id: int | None) -> int:  # fmt: skip
    """Insert the reservation of `body` (a view) with its items; store the answer for the key."""
    items = body["items"]
    return prepared.fetch(
        session,
        INSERT,
        {
            "public_id": body["id"],
            "user": user_id,
            "store": body["store_id"],
            "merchant": merchant_id,
            "code_hash": code_hash,
            "expires_at": body["expires_at"],
            "at": body["created_at"],
            "skus": [i["sku_id"] for i in items],
            "qtys": [i["qty"] for i in items],
            "key_id": key_id,
            "body": orjson.dumps(body).decode() if key_id is not None else None,
        },
        in_transaction=True,
    )[0].id


def cancel(session: Session, *, user_id: int, public_id: str, reason: str, at):
    """Cancel the shopper's active reservation and release its units; the closed row, or None
    when no active reservation of theirs has this id."""
    rows = prepared.fetch(
        session,
        CANCEL,
        {
            "public_id": public_id,
            "user": user_id,
            "reason": reason,
            "active": list(ACTIVE_STATES),
            "at": at,
        },
        in_transaction=True,
    )
    return rows[0] if rows else None
