"""Each test starts empty: the first writes, the second sees nothing."""

from sqlalchemy import func, select

from app.accounts.models import User


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
