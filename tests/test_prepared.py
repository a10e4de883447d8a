"""Hot reads are planned once per connection and answer exactly as the unprepared statement."""

from sqlalchemy import text

from app import prepared
from app.stores.search import DETAIL


def _prepared_names(session) -> set[str]:
    rows = session.execute(text("SELECT name FROM pg_prepared_statements"))
    return {name for (name,) in rows if name.startswith("shopnear_")}


def test_a_statement_is_prepared_once_and_reused(app, session):
    with app.app_context():
        from app.extensions import db

        params = {"store_id": 1, "now": "2026-01-01T00:00:00+00:00"}
        name = prepared._statements(DETAIL)[0]
        before = _prepared_names(db.session)  # the pooled connection may have served others
        assert prepared.fetch(db.session, DETAIL, params) == []
        after = _prepared_names(db.session)
        assert name in after and after - before <= {name}
        prepared.fetch(db.session, DETAIL, params)
        assert _prepared_names(db.session) == after


def test_prepared_and_plain_answers_are_the_same(app, client, monkeypatch):
    path = "/v1/stores/nearby?lat=25.03&lng=121.56&radius_m=50000"
    with_prepare = client.get(path)
    monkeypatch.setitem(app.config, "DB_PREPARED_STATEMENTS", False)
    without = client.get(path)
    assert with_prepare.status_code == without.status_code == 200
    assert with_prepare.get_json() == without.get_json()


def test_percent_signs_and_casts_survive_the_rewrite():
    name, prepare, execute = prepared._statements(
        text("SELECT CAST(:a AS int) + 1 AS x, '50%' AS pct, :a AS again")
    )
    body = "SELECT CAST($1 AS int) + 1 AS x, '50%' AS pct, $1 AS again"
    assert prepare == f"PREPARE {name} AS {body}"
    assert execute == f"EXECUTE {name} (%(a)s)"


def test_a_write_after_a_lone_read_still_rolls_back(app, committed, session):
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        params = {"store_id": 1, "now": "2026-01-01T00:00:00+00:00"}
        assert prepared.fetch(db.session, DETAIL, params) == []  # opened no transaction
        db.session.add(User(email="ghost@example.com", password_hash="x", display_name="G"))
        db.session.flush()
        db.session.rollback()
    assert session.scalar(text("SELECT count(*) FROM users")) == 0
