"""The inbox: write notifications in the caller's transaction, read them in the reader's language,
mark them read. Nothing leaves here inside a request (rule 8): the push sender works after commit.
"""

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from app.clock import now
from app.notifications import messages
from app.notifications.models import Notification
from app.pagination import page_by_id


def notify(*, session: Session, user_id: int, kind: str, params: dict) -> None:
    """Write one notification in the caller's transaction (it exists iff that commits)."""
    notify_many(session=session, rows=[{"user_id": user_id, "kind": kind, "params": params}])


def notify_many(*, session: Session, rows: list[dict]) -> int:
    """Write many notifications [{user_id, kind, params}] in one INSERT; returns how many."""
    if not rows:
        return 0
    unknown = {r["kind"] for r in rows} - set(messages.KINDS)
    if unknown:  # a programming error: a kind without texts could never be read
        raise ValueError(f"notification kinds without texts: {sorted(unknown)}")
    session.execute(insert(Notification), rows)
    return len(rows)


def profile_locale(*, session: Session, user_id: int) -> str | None:
    """The language the shopper chose in their profile, if any."""
    # users belongs to accounts; this package imports no domain, so it reads the one column.
    return session.scalar(text("SELECT locale FROM users WHERE id = :u"), {"u": user_id})


def view(notification: Notification, locale: str) -> dict:
    """A notification as the reader sees it, in `locale`."""
    title, body = messages.render(notification.kind, notification.params, locale)
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": title,
        "body": body,
        "data": notification.params,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
    }


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return session.scalar(query)


def list_inbox(
    *,
    session: Session,
    user_id: int,
    request_locale: str | None,
    limit: int,
    cursor: str | None,
) -> dict:
    """The shopper's notifications, newest first, with how many are unread."""
    locale = request_locale
    if locale not in messages.LOCALES:
        locale = messages.resolve_locale(profile_locale(session=session, user_id=user_id))
    query = select(Notification).where(Notification.user_id == user_id)
    rows, next_cursor = page_by_id(
        session, query, id_column=Notification.id, kind="notifications", limit=limit, cursor=cursor
    )
    return {
        "items": [view(n, locale) for n in rows],
        "next_cursor": next_cursor,
        "unread_count": unread_count(session, user_id),
    }


def mark_read(
    *, session: Session, user_id: int, ids: list[int] | None = None, up_to: int | None = None
) -> dict:
    """Mark the given notifications, or every one up to an id, read; others' ids are ignored."""
    target = Notification.id.in_(ids) if ids is not None else Notification.id <= up_to
    marked = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), target)
        .values(read_at=now())
    ).rowcount
    return {"marked": marked, "unread_count": unread_count(session, user_id)}
