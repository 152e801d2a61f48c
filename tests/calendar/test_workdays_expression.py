"""``${workdays(n)}`` in camunda:dueDate / camunda:followUpDate, end to end through the façade on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.errors import EngineError

CST = timezone(timedelta(hours=8))
FIXTURE = Path(__file__).parent / "fixtures" / "workdays_due.bpmn"


def _deploy(engine):  # type: ignore[no-untyped-def]
    engine.repository.deploy([(FIXTURE.name, FIXTURE.read_bytes())])


def test_due_and_follow_up_in_working_days(engine, clock):
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=CST))  # Monday before the National Day holiday
    _deploy(engine)
    case = engine.runtime.start("workdays_due", business_key="WD-1")
    (task,) = engine.tasks.list(instance_id=case.id)
    assert list(task.candidate_groups) == ["window"]
    assert task.due == datetime(2026, 10, 10, 17, 30, tzinfo=CST)  # Saturday, a 调休 working day
    assert task.due.utcoffset() is not None
    assert task.follow_up == datetime(2026, 10, 9, 17, 30, tzinfo=CST)
    assert task.as_json()["due"].startswith("2026-10-10T")


def test_workdays_reads_the_clock_of_the_command(engine, clock):
    _deploy(engine)
    clock.set(datetime(2026, 2, 12, 9, 0, tzinfo=CST))  # Thursday before the Spring Festival
    case = engine.runtime.start("workdays_due")
    (task,) = engine.tasks.list(instance_id=case.id)
    assert task.due == datetime(2026, 2, 26, 17, 30, tzinfo=CST)


def test_half_a_working_day_counts_office_hours(engine, clock):
    _deploy(engine)
    clock.set(datetime(2026, 4, 3, 16, 0, tzinfo=CST))  # Friday 16:00; Qingming 04-04..04-06
    case = engine.runtime.start("workdays_half_day")
    (task,) = engine.tasks.list(instance_id=case.id)
    # half of the 6.5-hour office day (08:30-12:00, 14:30-17:30) = 3 h 15: 1.5 h on Friday + 1 h 45 on Tuesday
    assert task.due == datetime(2026, 4, 7, 10, 15, tzinfo=CST)


def test_an_override_made_through_the_facade_reaches_the_expression(engine, clock):
    _deploy(engine)
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=CST))
    before = engine.runtime.start("workdays_due")
    engine.calendar.add_holiday("2026-10-09", note="台风停工", actor="admin")  # the cache is invalidated
    after = engine.runtime.start("workdays_due")
    assert engine.tasks.list(instance_id=before.id)[0].due == datetime(2026, 10, 10, 17, 30, tzinfo=CST)
    assert engine.tasks.list(instance_id=after.id)[0].due == datetime(2026, 10, 12, 17, 30, tzinfo=CST)


def test_regional_calendar_by_expression_argument(engine, clock):
    _deploy(engine)
    clock.set(datetime(2026, 4, 1, 10, 0, tzinfo=CST))
    engine.calendar.add_holiday("2026-04-10", region="shenzhen", note="local festival")
    national = engine.runtime.start("workdays_regional", variables={"limit": 10, "region": None})
    regional = engine.runtime.start("workdays_regional", variables={"limit": 10, "region": "shenzhen"})
    assert engine.tasks.list(instance_id=national.id)[0].due == datetime(2026, 4, 16, 17, 30, tzinfo=CST)
    assert engine.tasks.list(instance_id=regional.id)[0].due == datetime(2026, 4, 17, 17, 30, tzinfo=CST)


def test_a_limit_running_into_an_unknown_year_is_a_flagged_estimate_never_a_silent_one(engine, clock):
    _deploy(engine)
    clock.set(datetime(2026, 12, 28, 10, 0, tzinfo=CST))
    case = engine.runtime.start("workdays_due", business_key="WD-2027")
    (task,) = engine.tasks.list(instance_id=case.id)
    # 29, 30, 31 December, Friday 1 and Monday 4 January counted Monday-Friday: an estimate, and it says so
    assert task.due == datetime(2027, 1, 4, 17, 30, tzinfo=CST)
    (flag,) = [e for e in engine.history.events(case.id) if e.event_type == "TaskDueProvisional"]
    assert flag.task_id == task.id and "estimate" in flag.payload["reason"]