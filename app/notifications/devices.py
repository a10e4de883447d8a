"""Push devices: one row per app installation of a shopper, refreshed by the app on each start."""

from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.notifications.models import PushDevice
from app.notifications.service import now


class DeviceNotFound(NotFound):
    type = "notifications.device_not_found"


def view(device: PushDevice) -> dict:
    """What the shopper sees of a device (never the token: it is the device's secret)."""
    return {
        "installation_id": device.installation_id,
        "platform": device.platform,
        "provider": device.provider,
        "locale": device.locale,
        "app_version": device.app_version,
        "created_at": device.created_at,
        "last_seen_at": device.last_seen_at,
    }


def put_device(*, session: Session, user_id: int, installation_id: str, data: dict) -> dict:
    """Register or refresh an installation; a token now here is taken from any other account."""
    at = now()
    # Two accounts registering one token at once queue here instead of racing on its unique key.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('push.token:' || :t, 0))"),
        {"t": data["token"]},
    )
    # A phone handed to another account must stop getting the first account's pushes.
    session.execute(
        delete(PushDevice).where(
            PushDevice.provider == data["provider"],
            PushDevice.token == data["token"],
            (PushDevice.user_id != user_id) | (PushDevice.installation_id != installation_id),
        )
    )
    values = {**data, "user_id": user_id, "installation_id": installation_id, "last_seen_at": at}
    statement = insert(PushDevice).values(**values, created_at=at)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "installation_id"], set_=values
    ).returning(PushDevice)
    device = session.scalars(statement, execution_options={"populate_existing": True}).one()
    return view(device)


def list_devices(*, session: Session, user_id: int) -> list[dict]:
    """The shopper's devices, last seen first."""
    rows = session.scalars(
        select(PushDevice)
        .where(PushDevice.user_id == user_id)
        .order_by(PushDevice.last_seen_at.desc(), PushDevice.id.desc())
    )
    return [view(d) for d in rows]


def delete_device(*, session: Session, user_id: int, installation_id: str) -> None:
    """Stop pushing to an installation (sign-out); another shopper's is 404."""
    gone = session.execute(
        delete(PushDevice).where(
            PushDevice.user_id == user_id, PushDevice.installation_id == installation_id
        )
    ).rowcount
    if not gone:
        raise DeviceNotFound("Device not found.")


def prune_devices(*, session: Session, max_age_days: int, at: datetime | None = None) -> int:
    """Forget devices not seen for `max_age_days` (their tokens are likely dead); how many."""
    cutoff = (at or now()) - timedelta(days=max_age_days)
    return session.execute(delete(PushDevice).where(PushDevice.last_seen_at < cutoff)).rowcount
