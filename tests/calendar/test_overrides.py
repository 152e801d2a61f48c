"""Overrides stored in calendar_day through ``engine.calendar``: national data + national overrides + the region's
overrides, history events, and bad input that changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.calendar import CalendarYearUnknown
from engine.errors import InvalidInput, NotFound

CST = timezone(timedelta(hours=8))
APRIL_1 = datetime(2026, 4, 1, 10, 0, tzinfo=CST)


def _events(engine, kind):  # type: ignore[no-untyped-def]
    return [e for e in engine.history.events() if e.event_type == kind]


def test_deadline_through_the_facade(engine):
    assert engine.calendar.deadline(APRIL_1, 10) == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    assert engine.calendar.deadline("2026-09-28T10:00:00+08:00", 5) == datetime(2026, 10, 10, 17, 30, tzinfo=CST)
    with pytest.raises(CalendarYearUnknown, match="2031"):
        engine.calendar.deadline(datetime(2031, 3, 3, 10, tzinfo=CST), 5)
    assert engine.calendar.deadline_provisional(datetime(2026, 12, 28, 10, tzinfo=CST), 5) == (
        datetime(2027, 1, 4, 17, 30, tzinfo=CST), True)


def test_a_regional_holiday_moves_the_regional_deadline_only(engine):
    view = engine.calendar.add_holiday(date(2026, 4, 10), region="shenzhen", note="local festival", actor="admin")
    assert (view.kind, view.region, view.official) == ("holiday", "shenzhen", "workday")
    assert engine.calendar.deadline(APRIL_1, 10, region="shenzhen") == datetime(2026, 4, 17, 17, 30, tzinfo=CST)
    assert engine.calendar.deadline(APRIL_1, 10) == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    assert engine.calendar.deadline(APRIL_1, 10, region="guangzhou") == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    (event,) = _events(engine, "CalendarDayAdded")
    assert event.actor == "admin"
    assert event.payload["day"] == "2026-04-10" and event.payload["region"] == "shenzhen"
    assert event.payload["kind"] == "holiday"
    assert all(r.ok for r in engine.history.verify())


def test_national_override_then_regional_override_wins(engine):
    engine.calendar.add_holiday("2026-04-10", note="national day of mourning")
    assert engine.calendar.deadline(APRIL_1, 10) == datetime(2026, 4, 17, 17, 30, tzinfo=CST)
    engine.calendar.add_workday("2026-04-10", region="shenzhen", note="open for the fair")
    assert engine.calendar.deadline(APRIL_1, 10, region="shenzhen") == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    engine.calendar.add_workday("2026-04-11")  # a Saturday of service, nationally
    assert engine.calendar.deadline(APRIL_1, 10) == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    engine.calendar.remove_override("2026-04-11", actor="admin")
    assert engine.calendar.deadline(APRIL_1, 10) == datetime(2026, 4, 17, 17, 30, tzinfo=CST)
    assert [e.payload["day"] for e in _events(engine, "CalendarDayRemoved")] == ["2026-04-11"]


def test_show_lists_official_days_and_overrides_with_their_source(engine):
    engine.calendar.add_holiday("2026-04-10", region="shenzhen", note="local festival", actor="admin")
    engine.calendar.add_workday("2026-10-07", note="backlog day")
    national = {d.day: d for d in engine.calendar.show(2026)}
    assert national[date(2026, 10, 10)].kind == "workday" and national[date(2026, 10, 10)].source == "official"
    assert national[date(2026, 10, 1)].name == "National Day"
    assert (national[date(2026, 10, 7)].kind, national[date(2026, 10, 7)].source) == ("workday", "override")
    assert national[date(2026, 10, 7)].official == "holiday"
    assert date(2026, 4, 10) not in national
    regional = {d.day: d for d in engine.calendar.show(2026, region="shenzhen")}
    assert regional[date(2026, 4, 10)].source == "override:shenzhen" and regional[date(2026, 4, 10)].kind == "holiday"
    assert len(regional) == len(national) + 1
    assert national[date(2026, 10, 7)].as_json()["date"] == "2026-10-07"


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda c: c.show(2031), CalendarYearUnknown, "2031"),
    (lambda c: c.add_holiday("2026-13-01"), InvalidInput, "2026-13-01"),
    (lambda c: c.add_holiday("10/01/2026"), InvalidInput, "10/01/2026"),
    (lambda c: c.add_holiday("2026-10-01"), InvalidInput, "2026-10-01 .Thu. is already a day off"),
    (lambda c: c.add_holiday("2026-04-11"), InvalidInput, "2026-04-11 .Sat. is already a day off"),
    (lambda c: c.add_workday("2026-10-10"), InvalidInput, "2026-10-10 .Sat. is already a working day"),
    (lambda c: c.add_workday("2026-04-08", region="shenzhen"), InvalidInput, "already a working day in region"),
    (lambda c: c.add_holiday("2031-01-02"), CalendarYearUnknown, "2031-01-02"),
    (lambda c: c.add_holiday("2026-04-08", region="bad region!"), InvalidInput, "bad region!"),
    (lambda c: c.remove_override("2026-04-08"), NotFound, "2026-04-08 has no override"),
    (lambda c: c.deadline("2026-04-01T10:00:00", 5), InvalidInput, "no UTC offset"),
    (lambda c: c.deadline(APRIL_1, -1), InvalidInput, "negative"),
])
def test_bad_input_is_refused_and_changes_nothing(engine, call, error, message):
    with pytest.raises(error, match=message):
        call(engine.calendar)
    assert engine.calendar.show(2026) == engine.calendar.show(2026, region="shenzhen")
    assert all(d.source == "official" for d in engine.calendar.show(2026))
    assert _events(engine, "CalendarDayAdded") == []


def test_an_override_of_the_same_day_and_scope_must_be_removed_first(engine):
    engine.calendar.add_holiday("2026-04-10")
    with pytest.raises(InvalidInput, match="2026-04-10 already has an override nationally"):
        engine.calendar.add_workday("2026-04-10")
    with pytest.raises(InvalidInput, match="already a day off"):
        engine.calendar.add_holiday("2026-04-10", region="shenzhen")  # the national override already says so
    assert len(_events(engine, "CalendarDayAdded")) == 1
