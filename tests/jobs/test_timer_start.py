"""Timer start events: the definition's timer job starts cases (SpiffWorkflow alone does not)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import InvalidInput
from tests.conftest import FIXTURES

BEIJING = timezone(timedelta(hours=8))
DAILY = FIXTURES / "jobs" / "daily_report.bpmn"


def _starts(engine, *states):
    return [j for j in engine.jobs.list(states=states or ("PENDING", "DONE", "CANCELLED"))
            if j.job_type == "timer-start"]


def test_cycle_timer_start_creates_one_case_per_firing_and_stops_after_its_repetitions(engine):
    (definition,) = engine.repository.deploy_files([DAILY]).definitions
    (job,) = _starts(engine)
    assert job.due == datetime(2026, 3, 3, 9, 0, tzinfo=BEIJING)  # R3/2026-03-03T09:00:00/P1D, local time
    assert engine.jobs.execute_due(job.due - timedelta(seconds=1)) == []
    cases = []
    for day in range(3):
        at = datetime(2026, 3, 3 + day, 9, 0, tzinfo=BEIJING)
        (result,) = engine.jobs.execute_due(at)
        assert result.outcome == "fired"
        cases.append(result.instance_id)
        assert engine.runtime.instance(result.instance_id).definition_id == definition.id
        (task,) = engine.tasks.list(instance_id=result.instance_id)
        assert (task.name, task.candidate_groups) == ("审阅超期件日报", ("supervisor",))
        assert engine.jobs.list(instance_id=result.instance_id) == []  # the case does not wait on its start
    assert len(set(cases)) == 3
    assert _starts(engine, "PENDING") == []  # R3: three firings, then none
    assert engine.jobs.execute_due(datetime(2026, 3, 30, tzinfo=BEIJING)) == []
    assert len(_starts(engine, "DONE")) == 3


def test_new_version_takes_over_the_schedule(engine):
    engine.repository.deploy_files([DAILY])
    (old,) = _starts(engine, "PENDING")
    changed = DAILY.read_bytes().replace(b"R3/2026-03-03T09:00:00/P1D", b"R/2026-03-05T08:30:00/P1D")
    (v2,) = engine.repository.deploy([("daily_report.bpmn", changed)]).definitions
    assert v2.version == 2
    assert [j.id for j in _starts(engine, "CANCELLED")] == [old.id]
    (new,) = _starts(engine, "PENDING")
    assert new.due == datetime(2026, 3, 5, 8, 30, tzinfo=BEIJING)
    (result,) = engine.jobs.execute_due(new.due)
    assert engine.runtime.instance(result.instance_id).definition_id == v2.id
    (after,) = _starts(engine, "PENDING")  # R/...: repeats without end
    assert after.due == new.due + timedelta(days=1)


def test_a_timer_start_process_can_also_be_started_by_hand(engine):
    engine.repository.deploy_files([DAILY])
    case = engine.runtime.start("overdue_report", business_key="MANUAL-1")
    assert [t.task_definition_key for t in engine.tasks.list(instance_id=case.id)] == ["review_report"]
    assert engine.jobs.list(instance_id=case.id) == []


def test_an_invalid_timer_start_is_refused_at_deploy_and_changes_nothing(engine):
    bad = DAILY.read_bytes().replace(b"R3/2026-03-03T09:00:00/P1D", b"R3/next-tuesday/P1D")
    with pytest.raises(InvalidInput, match="timer start event"):
        engine.repository.deploy([("daily_report.bpmn", bad)])
    assert engine.repository.definitions() == [] and engine.jobs.list() == []
