"""Digital service cards: the merchant's templates, cards issued with a purchase, the wallet, and
taking one use of a service at any of the merchant's stores (never below zero under races)."""

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.orm import Session

from app.catalog import lookups as catalog_lookups
from app.clock import now
from app.coupons.claims import new_code
from app.errors import Conflict, Invalid, NotFound
from app.members.models import ServiceCard, ServiceCardService, ServiceCardTemplate, ServiceCardUse
from app.pagination import page_by_id
from app.stores import lookups as stores_lookups

STATES = ("active", "used_up", "expired")


class TemplateNotFound(NotFound):
    type = "service_cards.template_not_found"


class CardNotFound(NotFound):
    type = "service_cards.not_found"


# --- templates ---------------------------------------------------------------------------------


def _check_services(services: list[dict]) -> None:
    if len({s["name"] for s in services}) != len(services):
        raise Invalid("services", "Each service needs its own name.")


def create_template(*, session: Session, merchant_id: int, data: dict) -> ServiceCardTemplate:
    """A new template for some of the merchant's SKUs."""
    _check_services(data["services"])
    catalog_lookups.require_merchant_skus(
        session=session, merchant_id=merchant_id, sku_ids=data["sku_ids"], detail="Unknown SKUs"
    )
    template = ServiceCardTemplate(merchant_id=merchant_id, **data)
    session.add(template)
    session.flush()  # id and defaults for the answer
    return template


def get_template(*, session: Session, merchant_id: int, template_id: int) -> ServiceCardTemplate:
    """One of the merchant's templates; others' are 404."""
    template = session.get(ServiceCardTemplate, template_id)
    if template is None or template.merchant_id != merchant_id:
        raise TemplateNotFound("Template not found.")
    return template


def update_template(*, session: Session, merchant_id: int, template_id: int, changes: dict):
    """Change a template; cards already issued keep what they were issued with."""
    template = get_template(session=session, merchant_id=merchant_id, template_id=template_id)
    if "services" in changes:
        _check_services(changes["services"])
    if "sku_ids" in changes:
        catalog_lookups.require_merchant_skus(
            session=session, merchant_id=merchant_id, sku_ids=changes["sku_ids"], detail="Unknown"
        )
    for field, value in changes.items():
        setattr(template, field, value)
    session.flush()  # the answer shows the row as written
    return template


def list_templates(*, session: Session, merchant_id: int, limit: int, cursor: str | None):
    """The merchant's templates, newest first."""
    query = select(ServiceCardTemplate).where(ServiceCardTemplate.merchant_id == merchant_id)
    return page_by_id(
        session,
        query,
        id_column=ServiceCardTemplate.id,
        kind="service_cards.templates",
        limit=limit,
        cursor=cursor,
    )


# --- issuing -----------------------------------------------------------------------------------


def issue_for_skus(
    *, session: Session, merchant_id: int, user_id: int, sku_ids: list[int], at, **origin
) -> list[int]:
    """One card per unit of a SKU that an active template covers; the new cards' ids."""
    if not sku_ids:
        return []
    templates = list(
        session.scalars(
            select(ServiceCardTemplate).where(
                ServiceCardTemplate.merchant_id == merchant_id,
                ServiceCardTemplate.is_active,
                ServiceCardTemplate.sku_ids.overlap(sorted(set(sku_ids))),
            )
        )
    )
    ids = []
    for sku_id in sku_ids:
        for template in (t for t in templates if sku_id in t.sku_ids):
            ids.append(_issue(session, template, user_id, sku_id, at, origin))
    return ids


def _issue(session, template: ServiceCardTemplate, user_id: int, sku_id: int, at, origin) -> int:
    card_id = session.scalar(
        insert(ServiceCard)
        .values(
            merchant_id=template.merchant_id,
            template_id=template.id,
            user_id=user_id,
            code=new_code(),
            title=template.title,
            sku_id=sku_id,
            issued_at=at,
            expires_at=at + timedelta(days=template.validity_days),
            **origin,
        )
        .returning(ServiceCard.id)
    )
    session.execute(
        insert(ServiceCardService),
        [
            {
                "card_id": card_id,
                "merchant_id": template.merchant_id,
                "name": s["name"],
                "total": s["count"],
                "remaining": s["count"],
            }
            for s in template.services
        ],
    )
    return card_id


def issue_for_pickup(*, session: Session, reservation, at: datetime) -> list[int]:
    """The buyer of a picked-up reservation gets the cards its SKUs come with."""
    return issue_for_skus(
        session=session,
        merchant_id=reservation.merchant_id,
        user_id=reservation.user_id,
        sku_ids=[i.sku_id for i in reservation.items for _ in range(i.qty)],
        at=at,
        store_id=reservation.store_id,
        reservation_id=reservation.id,
    )


# --- reading -----------------------------------------------------------------------------------


def _left():
    return exists().where(
        ServiceCardService.card_id == ServiceCard.id, ServiceCardService.remaining > 0
    )


def _state_filter(state: str, at):
    if state == "used_up":
        return ~_left()
    if state == "expired":
        return and_(_left(), ServiceCard.expires_at <= at)
    return and_(_left(), ServiceCard.expires_at > at)


def card_view(session: Session, card: ServiceCard, at, *, staff: bool = False) -> dict:
    """A card with what is left of each service, where it can be used, and its uses."""
    services = session.scalars(
        select(ServiceCardService)
        .where(ServiceCardService.card_id == card.id)
        .order_by(ServiceCardService.name)
    ).all()
    uses = session.scalars(
        select(ServiceCardUse).where(ServiceCardUse.card_id == card.id).order_by(ServiceCardUse.id)
    ).all()
    left = any(s.remaining for s in services)
    state = "used_up" if not left else ("expired" if card.expires_at <= at else "active")
    use_fields = ("service", "store_id", "used_at", *(("staff_user_id",) if staff else ()))
    return {
        **{f: getattr(card, f) for f in ("id", "merchant_id", "code", "title", "sku_id")},
        **{f: getattr(card, f) for f in ("issued_at", "expires_at")},
        "state": state,
        "services": [
            {"name": s.name, "total": s.total, "remaining": s.remaining} for s in services
        ],
        "usable_at": {"merchant_id": card.merchant_id, "stores": "every store of the merchant"},
        "uses": [{f: getattr(u, f) for f in use_fields} for u in uses],
    }


def list_wallet(*, session: Session, user_id: int, state: str | None, limit: int, cursor):
    """The shopper's cards, newest first, by state as of now."""
    at = now()
    query = select(ServiceCard).where(ServiceCard.user_id == user_id)
    if state:
        query = query.where(_state_filter(state, at))
    rows, next_cursor = page_by_id(
        session, query, id_column=ServiceCard.id, kind="service_cards", limit=limit, cursor=cursor
    )
    return [card_view(session, c, at) for c in rows], next_cursor


def get_own(*, session: Session, user_id: int, card_id: int) -> dict:
    """One of the shopper's cards; others' are 404."""
    card = session.get(ServiceCard, card_id)
    if card is None or card.user_id != user_id:
        raise CardNotFound("Service card not found.")
    return card_view(session, card, now())


# --- using -------------------------------------------------------------------------------------


def use_service(
    *,
    session: Session,
    merchant_id: int,
    store_scope,
    store_id: int,
    staff_user_id: int,
    code: str,
    service: str,
) -> dict:
    """Take one use of a service, in one conditional UPDATE (of many tills at once, only as
    many win as there are uses left); the use is recorded with store, staff and time."""
    stores_lookups.merchant_store(
        session=session, merchant_id=merchant_id, store_id=store_id, scope=store_scope
    )
    card = session.scalar(
        select(ServiceCard).where(
            ServiceCard.code == code.strip().upper(), ServiceCard.merchant_id == merchant_id
        )
    )
    if card is None:
        raise CardNotFound("Service card not found.")
    at = now()
    s = ServiceCardService
    taken = session.scalar(
        update(s)
        .where(s.card_id == card.id, s.name == service, s.remaining > 0)
        .where(card.expires_at > at)
        .values(remaining=s.remaining - 1)
        .returning(s.remaining)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise _why_not(session, card, service, at)
    session.execute(
        insert(ServiceCardUse).values(
            card_id=card.id,
            merchant_id=merchant_id,
            service=service,
            store_id=store_id,
            staff_user_id=staff_user_id,
            used_at=at,
        )
    )
    return card_view(session, card, at, staff=True)


def _why_not(session: Session, card: ServiceCard, service: str, at) -> Exception:
    found = session.scalar(
        select(func.count()).where(
            ServiceCardService.card_id == card.id, ServiceCardService.name == service
        )
    )
    if not found:
        return Invalid("service", "This card has no such service.")
    if card.expires_at <= at:
        return Conflict("This service card has expired.", type="service_cards.expired")
    return Conflict("This service is used up.", type="service_cards.used_up")
