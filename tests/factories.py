"""Test data builders, inserting straight through the models."""

import itertools
import uuid

from argon2 import PasswordHasher

from app.accounts.models import Merchant, Staff, User  # noqa: F401  (User re-exported for tests)

PASSWORD = "correct horse battery"
# The cheapest argon2 cost, hashed once for every test user.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
_seq = itertools.count(1)


def user(session, *, email: str | None = None, display_name: str = "Tester") -> User:
    u = User(
        email=email or f"user-{uuid.uuid4().hex[:10]}@example.com",
        password_hash=PASSWORD_HASH,
        display_name=display_name,
    )
    session.add(u)
    session.flush()  # id for the caller
    return u


def merchant(session, *, name: str | None = None) -> Merchant:
    n = next(_seq)
    m = Merchant(name=name or f"Merchant {n}", slug=f"merchant-{n}-{uuid.uuid4().hex[:6]}")
    session.add(m)
    session.flush()  # id for the caller
    return m


def staff(session, *, merchant: Merchant, user: User, role: str, store_ids=()) -> Staff:
    s = Staff(merchant_id=merchant.id, user_id=user.id, role=role, store_ids=list(store_ids))
    session.add(s)
    session.flush()  # surfaces constraint errors at the call site
    return s
