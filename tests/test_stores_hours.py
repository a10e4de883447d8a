"""open_now and the next opening/closing: past midnight, exceptions, two zones, a fixed clock."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.stores.models import WEEKDAYS
from tests.factories_stores import NINE_TO_SIX, TAIPEI, hours_exception, store

UTC = dt.UTC
# 2026-11-25 is a Wednesday.
WED_11_TAIPEI = dt.datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock(app, monkeypatch):
    """Set the moment the API believes it is."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setitem(app.config, "CLOCK", lambda: moment)

    return set_to


def shown(client, store_id: int) -> dict:
    items = client.get(
        "/v1/stores/nearby", query_string={"lat": TAIPEI[0], "lng": TAIPEI[1], "radius_m": 50_000}
    ).get_json()["items"]
    return next(item for item in items if item["id"] == store_id)


def state(client, store_id: int) -> tuple[bool, str | None]:
    item = shown(client, store_id)
    return item["open_now"], item["next_change_at"]


def test_two_time_zones_at_one_moment(client, session, merchant, clock):
    taipei = store(session, merchant=merchant, timezone="Asia/Taipei")
    new_york = store(session, merchant=merchant, timezone="America/New_York")
    session.commit()
    clock(WED_11_TAIPEI)  # 11:00 Wednesday in Taipei, 22:00 Tuesday in New York

    assert state(client, taipei.id) == (True, "2026-11-25T18:00:00+08:00")
    assert state(client, new_york.id) == (False, "2026-11-25T09:00:00-05:00")


def test_a_range_past_midnight(client, session, merchant, clock):
    late = {"fri": [{"opens": "22:00", "closes": "02:00"}]}
    s = store(session, merchant=merchant, hours=late)
    session.commit()

    clock(dt.datetime(2026, 11, 27, 13, 59, tzinfo=UTC))  # Fri 21:59 Taipei
    assert state(client, s.id) == (False, "2026-11-27T22:00:00+08:00")
    clock(dt.datetime(2026, 11, 27, 17, 30, tzinfo=UTC))  # Sat 01:30
    assert state(client, s.id) == (True, "2026-11-28T02:00:00+08:00")
    clock(dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC))  # Sat 02:00: closed again
    assert state(client, s.id) == (False, "2026-12-04T22:00:00+08:00")


def test_sunday_night_runs_into_monday(client, session, merchant, clock):
    s = store(session, merchant=merchant, hours={"sun": [{"opens": "23:00", "closes": "01:00"}]})
    session.commit()
    clock(dt.datetime(2026, 11, 29, 16, 30, tzinfo=UTC))  # Mon 00:30 Taipei

    assert state(client, s.id) == (True, "2026-11-30T01:00:00+08:00")


def test_open_all_day_every_day_never_changes(client, session, merchant, clock):
    all_day = {day: [{"opens": "00:00", "closes": "24:00"}] for day in WEEKDAYS}
    s = store(session, merchant=merchant, hours=all_day)
    closed = store(session, merchant=merchant, hours={})
    session.commit()
    clock(WED_11_TAIPEI)

    assert state(client, s.id) == (True, None)
    assert state(client, closed.id) == (False, None)


def test_a_closed_date_and_special_hours(client, session, merchant, clock):
    s = store(session, merchant=merchant)  # 09:00-18:00 Monday to Friday
    hours_exception(session, store=s, date=dt.date(2026, 11, 25))  # closed this Wednesday
    hours_exception(
        session, store=s, date=dt.date(2026, 11, 26), hours=[{"opens": "12:00", "closes": "01:00"}]
    )
    session.commit()

    clock(WED_11_TAIPEI)
    assert state(client, s.id) == (False, "2026-11-26T12:00:00+08:00")
    clock(dt.datetime(2026, 11, 26, 16, 30, tzinfo=UTC))  # Fri 00:30: Thursday's late night
    assert state(client, s.id) == (True, "2026-11-27T01:00:00+08:00")
    clock(dt.datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # Fri 10:00: regular hours again
    assert state(client, s.id) == (True, "2026-11-27T18:00:00+08:00")


def test_an_exception_replaces_its_whole_day(client, session, merchant, clock):
    s = store(session, merchant=merchant, hours={"tue": [{"opens": "20:00", "closes": "03:00"}]})
    hours_exception(session, store=s, date=dt.date(2026, 11, 25))  # Wednesday closed
    session.commit()

    clock(dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC))  # Tue 23:00
    assert state(client, s.id) == (True, "2026-11-25T00:00:00+08:00")


def test_the_open_now_filter_is_decided_in_the_query(client, session, merchant, clock):
    open_store = store(session, merchant=merchant)
    closed_today = store(session, merchant=merchant)
    night = store(
        session, merchant=merchant, hours={"wed": [{"opens": "20:00", "closes": "04:00"}]}
    )
    hours_exception(session, store=closed_today, date=dt.date(2026, 11, 25))
    session.commit()
    clock(WED_11_TAIPEI)

    def ids(flag: str) -> list[int]:
        query = {"lat": TAIPEI[0], "lng": TAIPEI[1], "open_now": flag, "limit": 1}
        found, cursor = [], None
        while True:
            body = client.get(
                "/v1/stores/nearby",
                query_string={**query, **({"cursor": cursor} if cursor else {})},
            ).get_json()
            found += [item["id"] for item in body["items"]]
            if not (cursor := body["next_cursor"]):
                return found

    assert ids("true") == [open_store.id]
    assert sorted(ids("false")) == sorted([closed_today.id, night.id])


def test_store_detail_shows_the_week_and_todays_exception(client, session, merchant, clock):
    s = store(session, merchant=merchant, timezone="America/New_York")
    hours_exception(
        session,
        store=s,
        date=dt.date(2026, 11, 24),
        hours=[{"opens": "10:00", "closes": "14:00"}],
        note="Short day",
    )
    session.commit()
    clock(WED_11_TAIPEI)  # Tuesday 22:00 in New York

    body = client.get(f"/v1/stores/{s.id}").get_json()

    assert body["hours"] == NINE_TO_SIX
    assert body["today_exception"] == {
        "date": "2026-11-24",
        "closed": False,
        "hours": [{"opens": "10:00", "closes": "14:00"}],
        "note": "Short day",
    }
    assert body["open_now"] is False and body["next_change_at"] == "2026-11-25T09:00:00-05:00"
    assert body["timezone"] == "America/New_York"


# --- the SQL function: its quick path (no exceptions) and its full path agree -----------------

hhmm = st.integers(0, 47).map(lambda half_hours: f"{half_hours // 2:02d}:{half_hours % 2 * 30:02d}")
week = st.dictionaries(
    st.sampled_from(WEEKDAYS),
    st.lists(
        st.tuples(hhmm, hhmm)
        .filter(lambda r: r[0] != r[1])
        .map(lambda r: {"opens": r[0], "closes": r[1]}),
        max_size=2,
    ),
    max_size=7,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hours=week,
    minutes=st.integers(0, 14 * 24 * 60),
    zone=st.sampled_from(["Asia/Taipei", "America/New_York"]),
)
def test_quick_and_full_paths_agree(session, merchant, hours, minutes, zone):
    moment = WED_11_TAIPEI + dt.timedelta(minutes=minutes, seconds=17)
    plain = store(session, merchant=merchant, hours=hours, timezone=zone)
    restated = store(session, merchant=merchant, hours=hours, timezone=zone)
    # An exception 8 days ahead restating the regular hours sends `restated` down the full path.
    day = moment.astimezone(ZoneInfo(zone)).date()
    later = day + dt.timedelta(days=8)
    hours_exception(
        session, store=restated, date=later, hours=hours.get(WEEKDAYS[later.weekday()], [])
    )

    query = text(
        "SELECT (store_open_state(id, open_minutes, timezone, :at)).* FROM stores"
        " WHERE id IN (:a, :b) ORDER BY id"
    )
    rows = session.execute(query, {"at": moment, "a": plain.id, "b": restated.id}).all()

    assert rows[0] == rows[1]
