"""Buyer shows: shoppers' photos of what they bought, moderated by the merchant.

A show tied to one of the author's own picked-up reservations is `verified` and about that
purchase (its merchant, its SKUs); any other show names a merchant and, optionally, SKUs of it.
Shows start `pending`; the merchant's owners, operators and customer service approve them or
reject them with a reason. Approved shows are public; the author sees their own in every state;
nobody else sees pending or rejected ones (404).
"""

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import Merchant, User
from app.catalog import service as catalog_service
from app.errors import Conflict, Invalid, NotFound
from app.events import service as events_service
from app.feed.media import service as media_service
from app.feed.posts import rewards
from app.feed.posts.service import check_skus, now
from app.feed.reading.reactions import insert_once
from app.feed.shows.models import BuyerShow, BuyerShowReport
from app.notifications import service as notifications_service
from app.pagination import page_by_id
from app.pickup import service as pickup_service
from app.pickup.models import Reservation


class ShowNotFound(NotFound):
    type = "feed.show_not_found"


def _verified_purchase(session: Session, user_id: int, data: dict) -> dict:
    reservation = pickup_service.find(
        session,
        Reservation.public_id == str(data["reservation_id"]),
        Reservation.user_id == user_id,
    )
    if reservation.state != "picked_up":
        raise Conflict("Only a picked-up reservation verifies a show.", type="feed.not_picked_up")
    if data.get("merchant_id") not in (None, reservation.merchant_id):
        raise Invalid("merchant_id", "Not the merchant of this reservation.")
    bought = [item.sku_id for item in reservation.items]
    sku_ids = data.get("sku_ids") or bought
    if set(sku_ids) - set(bought):
        raise Invalid("sku_ids", "Only SKUs of this reservation.")
    return {
        "merchant_id": reservation.merchant_id,
        "reservation_id": reservation.id,
        "sku_ids": list(dict.fromkeys(sku_ids)),
        "verified": True,
    }


def _unverified(session: Session, data: dict) -> dict:
    if data.get("merchant_id") is None:
        raise Invalid("merchant_id", "Required without a reservation.")
    merchant_id = accounts_service.get_merchant(session=session, merchant_id=data["merchant_id"]).id
    sku_ids = check_skus(session=session, merchant_id=merchant_id, sku_ids=data.get("sku_ids", []))
    return {"merchant_id": merchant_id, "sku_ids": sku_ids, "verified": False}


def create_show(*, session: Session, user_id: int, data: dict) -> dict:
    """A pending show of mine; verified when it names my picked-up reservation."""
    if data.get("reservation_id") is not None:
        about = _verified_purchase(session, user_id, data)
    else:
        about = _unverified(session, data)
    media_service.require_media(
        session=session, media_ids=data["image_ids"], uploader_ids={user_id}, field="image_ids"
    )
    show = BuyerShow(
        user_id=user_id,
        body=data["body"],
        image_ids=data["image_ids"],
        rating=data.get("rating"),
        state="pending",
        report_count=0,
        **about,
    )
    try:
        with session.begin_nested():  # the unique index decides, not a prior read
            session.add(show)
    except IntegrityError:
        raise Conflict("This reservation has a show already.", type="feed.show_exists") from None
    _emit(session, show)
    return describe_shows(session=session, shows=[show])[0]


def _visible(viewer_id: int | None):
    """Approved shows, and every show of the viewer's own."""
    approved = BuyerShow.state == "approved"
    return approved if viewer_id is None else approved | (BuyerShow.user_id == viewer_id)


def get_show(*, session: Session, show_id: int, viewer_id: int | None) -> dict:
    """One show the viewer may see; others are 404."""
    show = session.scalar(select(BuyerShow).where(BuyerShow.id == show_id, _visible(viewer_id)))
    if show is None:
        raise ShowNotFound("Buyer show not found.")
    return describe_shows(session=session, shows=[show])[0]


def delete_show(*, session: Session, user_id: int, show_id: int) -> None:
    """The author takes their show down."""
    show = session.scalar(
        select(BuyerShow).where(BuyerShow.id == show_id, BuyerShow.user_id == user_id)
    )
    if show is None:
        raise ShowNotFound("Buyer show not found.")
    session.delete(show)


def _page(session: Session, query, *, kind: str, limit: int, cursor: str | None):
    shows, next_cursor = page_by_id(
        session, query, id_column=BuyerShow.id, kind=kind, limit=limit, cursor=cursor
    )
    return describe_shows(session=session, shows=shows), next_cursor


def my_shows(*, session: Session, user_id: int, limit: int, cursor: str | None):
    """My shows in every state, newest first."""
    query = select(BuyerShow).where(BuyerShow.user_id == user_id)
    return _page(session, query, kind="my-shows", limit=limit, cursor=cursor)


def sku_shows(*, session: Session, sku_id: int, limit: int, cursor: str | None):
    """Approved shows about an active SKU, newest first."""
    catalog_service.public_sku(session=session, sku_id=sku_id)  # 404 for unknown SKUs
    query = select(BuyerShow).where(
        BuyerShow.state == "approved", BuyerShow.sku_ids.contains([sku_id])
    )
    return _page(session, query, kind="sku-shows", limit=limit, cursor=cursor)


def merchant_shows(*, session: Session, merchant_id: int, limit: int, cursor: str | None):
    """Approved shows about a merchant, for its page."""
    accounts_service.get_merchant(session=session, merchant_id=merchant_id)
    query = select(BuyerShow).where(
        BuyerShow.merchant_id == merchant_id, BuyerShow.state == "approved"
    )
    return _page(session, query, kind="merchant-shows", limit=limit, cursor=cursor)


def report_show(*, session: Session, user_id: int, show_id: int, reason: str | None) -> dict:
    """Report a public show as abusive; reporting twice counts once."""
    show = session.scalar(
        select(BuyerShow).where(BuyerShow.id == show_id, BuyerShow.state == "approved")
    )
    if show is None:
        raise ShowNotFound("Buyer show not found.")
    if insert_once(session, BuyerShowReport, show_id=show_id, user_id=user_id, reason=reason):
        session.execute(
            update(BuyerShow)
            .where(BuyerShow.id == show_id)
            .values(report_count=BuyerShow.report_count + 1)
        )
    return {"show_id": show_id, "reported": True}


# --- moderation ----------------------------------------------------------------------------


def _merchant_show(session: Session, merchant_id: int, show_id: int) -> BuyerShow:
    show = session.scalar(
        select(BuyerShow)
        .where(BuyerShow.id == show_id, BuyerShow.merchant_id == merchant_id)
        .with_for_update()
    )
    if show is None:
        raise ShowNotFound("Buyer show not found.")
    return show


def shows_to_moderate(
    *, session: Session, merchant_id: int, state: str | None, limit: int, cursor: str | None
):
    """The merchant's shows (pending ones first to act on with `state=pending`)."""
    query = select(BuyerShow).where(BuyerShow.merchant_id == merchant_id)
    if state:
        query = query.where(BuyerShow.state == state)
    return _page(session, query, kind="admin-shows", limit=limit, cursor=cursor)


def moderate_show(
    *,
    session: Session,
    merchant_id: int,
    moderator_id: int,
    show_id: int,
    approve: bool,
    reason: str | None = None,
) -> dict:
    """Approve a show (the first approval earns the author the merchant's reward, if any), or
    reject it with a reason (an approved one can be taken down later)."""
    show = _merchant_show(session, merchant_id, show_id)
    if not approve and not reason:
        raise Invalid("reason", "Say why the show is rejected.")
    first_approval = approve and show.state == "pending"
    show.state = "approved" if approve else "rejected"
    show.reject_reason = None if approve else reason
    show.moderated_by, show.moderated_at = moderator_id, now()
    _tell_author(session, show, merchant_id)
    _emit(session, show)
    reward = None
    if first_approval:  # only a pending show's approval rewards, not a re-approval
        campaign_id = rewards.reward_campaign(
            session=session, merchant_id=merchant_id, trigger="buyer_show"
        )
        reward = rewards.grant(session=session, user_id=show.user_id, campaign_id=campaign_id)
    return {**describe_shows(session=session, shows=[show])[0], "reward": reward}


EVENT_OF_STATE = {"pending": "submitted", "approved": "approved", "rejected": "rejected"}


def _emit(session: Session, show: BuyerShow) -> None:
    """buyer_show.submitted / approved / rejected, in the transaction of the change."""
    events_service.emit(
        session=session,
        type=f"buyer_show.{EVENT_OF_STATE[show.state]}",
        merchant_id=show.merchant_id,
        ordering_key=f"buyer_show:{show.id}",
        data={
            "buyer_show_id": show.id,
            "state": show.state,
            "user_id": show.user_id,
            "sku_ids": show.sku_ids,
            "verified": show.verified,
            "reason": show.reject_reason,
            "moderated_at": show.moderated_at,
        },
    )


def _tell_author(session: Session, show: BuyerShow, merchant_id: int) -> None:
    params = {"show_id": show.id, "merchant_name": session.get(Merchant, merchant_id).name}
    if show.state == "rejected":
        params["reason"] = show.reject_reason
    notifications_service.notify(
        session=session, user_id=show.user_id, kind=f"buyer_show_{show.state}", params=params
    )


def describe_shows(*, session: Session, shows: list[BuyerShow]) -> list[dict]:
    """Shows as dicts for the schemas: author's display name and images in two queries."""
    if not shows:
        return []
    session.flush()  # new shows need their id and defaults before they are described
    authors = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_({s.user_id for s in shows}))
        ).all()
    )
    media = media_service.media_by_ids(
        session=session, media_ids=[i for s in shows for i in s.image_ids]
    )
    return [_describe(show, authors, media) for show in shows]


def _describe(show: BuyerShow, authors: dict, media: dict) -> dict:
    return {
        "id": show.id,
        "author": {"id": show.user_id, "display_name": authors.get(show.user_id)},
        "merchant_id": show.merchant_id,
        "sku_ids": show.sku_ids,
        "body": show.body,
        "images": [media_service.describe_media(media.get(i)) for i in show.image_ids],
        "rating": show.rating,
        "verified": show.verified,
        "state": show.state,
        "reject_reason": show.reject_reason,
        "report_count": show.report_count,
        "created_at": show.created_at,
    }
