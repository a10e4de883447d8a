"""The demo world's staff logins, printed by `flask demo-logins`."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.stores.models import Store

PASSWORD = "demo-password-1"
OWNER = "owner@demo.shopnear.test"
MANAGER = "manager@demo.shopnear.test"
EMAIL_DOMAIN = "demo.shopnear.test"


def create_demo_staff(*, session: Session, merchant_id: int) -> None:
    """An owner of the demo's first merchant and a manager of two of its stores."""
    store_ids = list(
        session.scalars(
            select(Store.id).where(Store.merchant_id == merchant_id).order_by(Store.id).limit(2)
        )
    )
    for email, role, stores in ((OWNER, "owner", []), (MANAGER, "store_manager", store_ids)):
        if accounts_service.get_user_by_email(session=session, email=email) is None:
            accounts_service.register_user(
                session=session, email=email, password=PASSWORD, display_name=role
            )
        accounts_service.add_staff(
            session=session, merchant_id=merchant_id, email=email, role=role, store_ids=stores
        )


def demo_logins(*, session: Session) -> list[str]:
    """Lines describing the demo logins that exist."""
    lines = []
    for email in (OWNER, MANAGER):
        user = accounts_service.get_user_by_email(session=session, email=email)
        if user is not None:
            roles = ", ".join(f"{m.role} of merchant {m.merchant_id}" for m in user.memberships)
            lines.append(f"{email} / {PASSWORD}  ({roles})")
    return lines
