"""Working-day arithmetic against the official 2026 schedule (国务院办公厅 2026 年部分节假日安排)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.calendar import CalendarYearUnknown, WorkingCalendar
from engine.errors import InvalidInput

CST = timezone(timedelta(hours=8))
cal = WorkingCalendar()


def at(y, m, d, h=10, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=CST)


@pytest.mark.parametrize(("accepted", "n", "deadline"), [
    (at(2026, 9, 28), 5, at(2026, 10, 10, 17, 30)),   # Mon; National Day week; Sat 10-10 is a 调休 working day
    (at(2026, 2, 12), 5, at(2026, 2, 26, 17, 30)),    # across the Spring Festival (Sat 02-14 works)
    (at(2026, 4, 1), 10, at(2026, 4, 16, 17, 30)),    # domain.md §1.6
    (at(2026, 4, 1), 10 + 5, at(2026, 4, 23, 17, 30)),  # ... with the 5 wd expert review suspended
    (at(2026, 10, 9, 16), 1, at(2026, 10, 10, 17, 30)),  # Friday before a 调休 Saturday
    (at(2026, 10, 3), 0, at(2026, 10, 8, 17, 30)),    # received on a holiday: limit 0 ends on the next working day
])
def test_official_2026_deadlines(accepted, n, deadline):
    assert cal.add_working_days(accepted, n) == deadline


def test_suspension_counts_working_days_of_the_interval():
    assert cal.working_days_between(date(2026, 4, 8), date(2026, 4, 14)) == 5
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0  # the Golden Week
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 10)) == 3


def test_regional_override_moves_a_deadline_by_a_day():
    regional = WorkingCalendar(overrides={date(2026, 4, 10): False})  # e.g. a local festival
    assert regional.add_working_days(at(2026, 4, 1), 10) == at(2026, 4, 17, 17, 30)
    declared = WorkingCalendar(overrides={date(2026, 4, 11): True})  # a declared Saturday of service
    assert declared.add_working_days(at(2026, 4, 1), 10) == at(2026, 4, 15, 17, 30)


def test_unknown_year_is_never_computed_monday_to_friday_silently():
    with pytest.raises(CalendarYearUnknown, match="2031"):
        cal.add_working_days(at(2031, 3, 3), 5)
    with pytest.raises(CalendarYearUnknown, match="no official schedule for 2027"):
        cal.add_working_days(at(2026, 12, 28), 5)  # the limit runs into 2027
    deadline, provisional = cal.add_working_days_provisional(at(2026, 12, 28), 5)
    assert provisional and deadline == at(2027, 1, 4, 17, 30)  # Mon–Fri estimate, flagged
    assert cal.add_working_days_provisional(at(2026, 4, 1), 10) == (at(2026, 4, 16, 17, 30), False)


def test_office_hours_for_limits_promised_in_hours():
    # 0.5 working day (3.5 h) promised at 16:00 on the Wednesday before the National Day holiday
    assert cal.add_working_hours(at(2026, 9, 30, 16), 3.5) == at(2026, 10, 8, 10, 30)
    assert cal.add_working_hours(at(2026, 4, 1, 11), 2) == at(2026, 4, 1, 15, 30)  # over the lunch break
    assert cal.add_working_hours(at(2026, 4, 1, 7), 1) == at(2026, 4, 1, 9, 30)  # before opening


def test_bad_input_is_refused():
    with pytest.raises(InvalidInput, match="negative"):
        cal.add_working_days(at(2026, 4, 1), -1)
    with pytest.raises(InvalidInput, match="time zone"):
        cal.add_working_days(datetime(2026, 4, 1, 10), 1)
    assert cal.known_years[0] == 2004 and cal.known_years[-1] == 2026


def test_half_a_day_promised_at_16_00_on_the_friday_before_qingming():
    # Qingming 2026-04-04..06 (Sat-Mon): 1.5 h left on Friday, the remaining 2 h on Tuesday morning
    assert cal.add_working_hours(at(2026, 4, 3, 16), 3.5) == at(2026, 4, 7, 10, 30)
    assert cal.add_working_hours(at(2026, 4, 3, 16), 0.5 * cal.hours_per_day) == at(2026, 4, 7, 10, 15)
    assert cal.hours_per_day == 6.5


def test_office_hours_are_configurable():
    from engine.calendar import parse_office_hours

    nine_to_five = WorkingCalendar(office_hours=parse_office_hours("09:00-12:00,13:00-17:00"))
    assert nine_to_five.add_working_days(at(2026, 4, 1), 10) == at(2026, 4, 16, 17, 0)
    assert nine_to_five.add_working_hours(at(2026, 4, 1, 11), 2) == at(2026, 4, 1, 14, 0)
    for bad in ("8:30 to 12:00", "14:30-12:00", "08:30-12:00,11:00-17:30", ""):
        with pytest.raises(InvalidInput, match="office hours"):
            parse_office_hours(bad)


def test_holidays_and_weekend_workdays_come_from_the_data():
    assert not cal.is_working_day(date(2026, 10, 1))  # a Thursday, National Day
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday, 调休上班
    assert cal.is_working_day(date(2026, 9, 20))  # a Sunday, 调休上班
    assert not cal.is_working_day(date(2004, 1, 22)) and cal.is_working_day(date(2004, 1, 17))  # first data year
    with pytest.raises(CalendarYearUnknown, match="2003"):
        cal.is_working_day(date(2003, 12, 31))


def test_the_data_file_is_what_the_generator_writes():
    import json

    from engine.calendar import DATA
    from engine.calendar.seed import build

    assert json.loads(DATA.read_text(encoding="utf-8")) == build()


def test_the_engine_reads_the_data_file_not_the_chinese_calendar_package():
    import subprocess
    import sys

    code = ("import sys; sys.modules['chinese_calendar'] = None\n"
            "from datetime import datetime, timedelta, timezone\n"
            "from engine.calendar import WorkingCalendar\n"
            "print(WorkingCalendar().add_working_days(datetime(2026, 9, 28, 10, tzinfo=timezone(timedelta(hours=8))),"
            " 5).isoformat())")
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "2026-10-10T17:30:00+08:00"


def test_office_hours_counted_back_for_warning_thresholds():
    # 1 h before 15:00: half an hour of the afternoon, half an hour before the lunch break
    assert cal.subtract_working_hours(at(2026, 4, 1, 15), 1) == at(2026, 4, 1, 11, 30)
    assert cal.subtract_working_hours(at(2026, 4, 1, 16), 1) == at(2026, 4, 1, 15)
    # from a deadline at the close of the first working day after the National Day holiday, 3.5 h (0.5 wd) back:
    # 08:30-12:00 of that day exactly; 4 h reaches back over the holiday to 17:00 on 30 September
    assert cal.subtract_working_hours(at(2026, 10, 8, 12), 3.5) == at(2026, 10, 8, 8, 30)
    assert cal.subtract_working_hours(at(2026, 10, 8, 12), 4) == at(2026, 10, 8, 8, 30) - (
        at(2026, 10, 8, 8, 30) - at(2026, 9, 30, 17))
    # from outside office hours: the close of the last session before it
    assert cal.subtract_working_hours(at(2026, 4, 4, 10), 0.5) == at(2026, 4, 3, 17)  # a Saturday → Friday
    assert cal.subtract_working_hours(at(2026, 4, 1, 13), 1) == at(2026, 4, 1, 11)  # in the lunch break
    assert cal.subtract_working_hours(at(2026, 4, 1, 13), 0) == at(2026, 4, 1, 13)
    # adding and then subtracting the same office hours gives the start back
    start = at(2026, 9, 30, 16)
    assert cal.subtract_working_hours(cal.add_working_hours(start, 3.5), 3.5) == start
    with pytest.raises(InvalidInput, match="negative"):
        cal.subtract_working_hours(at(2026, 4, 1, 15), -1)
