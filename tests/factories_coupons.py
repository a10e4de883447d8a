"""Coupon test data (stores inserted straight as rows) and the rule-2 check every coupon test ends
with."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app import invariants
from app.coupons.models import CouponCampaign
from app.geo import point_ewkt
from app.stores.models import Store

TAIPEI = (25.0330, 121.5654)
_seq = itertools.count(1)


def now() -> datetime:
    return datetime.now(UTC)


def store(session, *, merchant, lat: float = TAIPEI[0], lng: float = TAIPEI[1], **fields) -> Store:
    n = next(_seq)
    s = Store(
        merchant_id=merchant.id,
        name=fields.pop("name", f"Store {n}"),
        address=f"{n} Test Road",
        city="Taipei",
        location=point_ewkt(lat, lng),
        timezone=fields.pop("timezone", "Asia/Taipei"),
        **fields,
    )
    session.add(s)
    session.flush()  # id for the caller
    return s


def campaign(session, *, merchant, **fields) -> CouponCampaign:
    """An open amount_off campaign (NT$50 off, 100 of them, one per user, valid 30 days)."""
    values = {
        "title": "NT$50 off",
        "kind": "amount_off",
        "value_cents": 5000,
        "currency": "TWD",
        "total_qty": 100,
        "per_user_limit": 1,
        "claim_starts_at": now() - timedelta(hours=1),
        "claim_ends_at": now() + timedelta(days=7),
        "valid_days_after_claim": 30,
        "claimed_qty": 0,
        "spent_cents": 0,
    } | fields
    c = CouponCampaign(merchant_id=merchant.id, **values)
    session.add(c)
    session.flush()  # id for the caller
    return c


def campaign_body(**fields) -> dict:
    """A valid create request."""
    return {
        "title": "NT$50 off",
        "kind": "amount_off",
        "value_cents": 5000,
        "currency": "TWD",
        "total_qty": 100,
        "claim_starts_at": (now() - timedelta(hours=1)).isoformat(),
        "claim_ends_at": (now() + timedelta(days=7)).isoformat(),
        "valid_days_after_claim": 30,
    } | fields


# Each query returns rows that break rule 2; all must come back empty.
RULE_TWO = invariants.RULE_2


def assert_rule_two(session) -> None:
    broken = {
        rule: rows for rule, sql in RULE_TWO.items() if (rows := session.execute(text(sql)).all())
    }
    assert not broken, broken


@pytest.fixture(autouse=True)
def rule_two_holds(request):
    """After every coupon test: rule 2 holds for all campaigns (committed tests before cleanup)."""
    if "committed" in request.fixturenames:
        request.getfixturevalue("committed")
    session = request.getfixturevalue("session")
    yield
    assert_rule_two(session)
