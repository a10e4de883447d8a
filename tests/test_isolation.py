"""Each test starts empty: the first writes, the second sees nothing; and the check after every
test (tests/conftest.py) reports the rules a test left broken."""

import pytest
from sqlalchemy import func, select

from app import invariants
from app.accounts.models import User
from tests import factories_inventory as inv
from tests import factories_stores


def test_a_write_is_visible_inside_its_test(client, session):
    resp = client.post(
        "/v1/auth/register",
        json={"email": "iso@example.com", "password": "long enough pw", "display_name": "Iso"},
    )
    assert resp.status_code == 201
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_b_the_next_test_sees_nothing_of_it(session):
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_committed_data_is_gone_after_a_committed_test(committed, make_shopper, session):
    make_shopper()
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_and_the_next_test_starts_empty_again(session):
    assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.breaks_invariants("rule 1: stock never oversold")
def test_a_rule_broken_on_purpose_is_the_one_reported(session, merchant):
    store = factories_stores.store(session, merchant=merchant)
    sku = inv.skus(session, merchant)[0]
    inv.stock(session, store, sku, on_hand=5, reserved=2)  # held for no reservation
    session.commit()
    broken = invariants.violations(session.connection())
    assert broken == {"rule 1: stock never oversold": [(store.id, sku.id, 5, 2, 0)]}
