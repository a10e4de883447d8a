"""The push sender: after commit, deliver each pending notification to the shopper's devices.

Batches are claimed `FOR UPDATE SKIP LOCKED`, so any number of senders on any number of hosts
share the queue without sending one notification twice; each batch is one transaction, committed
by the caller. A notification counts as sent once any device took it; it is tried again (with a
growing pause) only when no device took it and some failure was temporary, so a shopper with two
phones never gets a retry's duplicate on the phone that already showed it.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from app.notifications import fcm, messages
from app.notifications.models import Notification, PushDevice
from app.notifications.service import now

_CLAIM = text(
    "SELECT n.id, n.user_id, n.kind, n.params, n.push_attempts, u.locale AS profile_locale"
    " FROM notifications n JOIN users u ON u.id = n.user_id"
    " WHERE n.push_state = 'pending' AND n.push_after <= :at"
    " ORDER BY n.push_after, n.id LIMIT :batch FOR UPDATE OF n SKIP LOCKED"
)


def client_from_config() -> fcm.FcmClient | None:
    """An FCM client when credentials are configured; None: pushes are skipped."""
    cfg = current_app.config
    if not cfg["PUSH_FCM_CREDENTIALS_FILE"]:
        return None
    return fcm.FcmClient(
        credentials_file=cfg["PUSH_FCM_CREDENTIALS_FILE"],
        endpoint=cfg["PUSH_FCM_ENDPOINT"],
        project_id=cfg["PUSH_FCM_PROJECT_ID"] or None,
        timeout=cfg["PUSH_TIMEOUT_SECONDS"],
    )


def _data(row) -> dict[str, str]:
    # FCM data values must be strings; the app opens the right screen from these.
    ids = {k: str(v) for k, v in row.params.items() if k.endswith("_id")}
    return {**ids, "notification_id": str(row.id), "kind": row.kind}


def _deliver(client, row, devices: list[PushDevice], dead: set[int]) -> str:
    """Push one notification to its shopper's devices: sent, retry, or none."""
    results = []
    for device in devices:
        locale = messages.resolve_locale(device.locale, row.profile_locale)
        title, body = messages.render(row.kind, row.params, locale)
        result = client.send(token=device.token, title=title, body=body, data=_data(row))
        if result == fcm.UNREGISTERED:
            dead.add(device.id)
        results.append(result)
    if fcm.SENT in results:
        return "sent"
    return "retry" if fcm.RETRY in results else "none"


def _finish(session: Session, row, result: str, at: datetime) -> None:
    values: dict = {"push_state": "sent" if result == "sent" else "none"}
    if result == "retry":
        attempts = row.push_attempts + 1
        give_up = attempts >= current_app.config["PUSH_MAX_ATTEMPTS"]
        pause = timedelta(seconds=30 * 2**row.push_attempts)
        values = {
            "push_attempts": attempts,
            "push_state": "failed" if give_up else "pending",
            "push_after": at + pause,
        }
    mine = (Notification.user_id == row.user_id) & (Notification.id == row.id)
    session.execute(update(Notification).where(mine).values(**values))


def send_batch(
    *, session: Session, client: fcm.FcmClient | None, batch_size: int = 50, at=None
) -> int:
    """Push up to `batch_size` due notifications; returns how many were claimed (0: none due)."""
    at = at or now()
    rows = session.execute(_CLAIM, {"at": at, "batch": batch_size}).all()
    if not rows:
        return 0
    if client is None:  # no credentials configured: the inbox alone carries them
        ids = [r.id for r in rows]
        session.execute(
            update(Notification).where(Notification.id.in_(ids)).values(push_state="none")
        )
        return len(rows)
    devices: dict[int, list[PushDevice]] = {}
    found = session.scalars(
        select(PushDevice)
        .where(PushDevice.user_id.in_({r.user_id for r in rows}), PushDevice.provider == "fcm")
        .order_by(PushDevice.id)
    )
    for device in found:
        devices.setdefault(device.user_id, []).append(device)
    dead: set[int] = set()
    for row in rows:
        alive = [d for d in devices.get(row.user_id, []) if d.id not in dead]
        _finish(session, row, _deliver(client, row, alive, dead), at)
    if dead:
        session.execute(delete(PushDevice).where(PushDevice.id.in_(dead)))
    return len(rows)
