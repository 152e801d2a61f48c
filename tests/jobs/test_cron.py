"""Cron cycles (Quartz syntax, Camunda 7): the parser, timer start events, and cron timers inside cases (boundary,
intermediate), fired as jobs on a moved clock in the engine's time zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.errors import DeploymentError, ScriptError
from engine.jobs import cron
from tests.conformance.helpers import cold_cache  # noqa: F401 - fixture
from tests.conftest import FIXTURES

BEIJING = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAILY = FIXTURES / "jobs" / "daily_report.bpmn"
MONDAY_0930 = datetime(2026, 3, 2, 9, 30, tzinfo=BEIJING)  # the clock fixture's instant


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def _next(text: str, after: datetime, count: int = 3) -> list[datetime]:
    return [d.astimezone(BEIJING) for d in cron.parse(text).firings(after, SHANGHAI, count)]


# --- the parser -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("0 0/5 * * * ?", [_local(2026, 3, 2, 9, 35), _local(2026, 3, 2, 9, 40), _local(2026, 3, 2, 9, 45)]),
    ("0/5 0/1 * 1/1 * ?", [_local(2026, 3, 2, 9, 30, 5), _local(2026, 3, 2, 9, 30, 10),
                           _local(2026, 3, 2, 9, 30, 15)]),
    # weekdays at noon; MON-FRI by name; Quartz numbering 2-6 is the same days
    ("0 0 12 ? * MON-FRI", [_local(2026, 3, 2, 12), _local(2026, 3, 3, 12), _local(2026, 3, 4, 12)]),
    ("0 0 12 ? * 2-6", [_local(2026, 3, 2, 12), _local(2026, 3, 3, 12), _local(2026, 3, 4, 12)]),
    ("0 0 9 ? * 1", [_local(2026, 3, 8, 9), _local(2026, 3, 15, 9), _local(2026, 3, 22, 9)]),  # 1 = Sunday
    ("0 0 9 ? * sat,sun", [_local(2026, 3, 7, 9), _local(2026, 3, 8, 9), _local(2026, 3, 14, 9)]),
    ("0 0 9 ? * FRI-MON", [_local(2026, 3, 6, 9), _local(2026, 3, 7, 9), _local(2026, 3, 8, 9)]),  # wraps
    ("0 15 10 L * ?", [_local(2026, 3, 31, 10, 15), _local(2026, 4, 30, 10, 15), _local(2026, 5, 31, 10, 15)]),
    ("0 0 9 L-2 * ?", [_local(2026, 3, 29, 9), _local(2026, 4, 28, 9), _local(2026, 5, 29, 9)]),
    ("0 15 10 ? * 6L", [_local(2026, 3, 27, 10, 15), _local(2026, 4, 24, 10, 15), _local(2026, 5, 29, 10, 15)]),
    ("0 15 10 ? * FRI#3", [_local(2026, 3, 20, 10, 15), _local(2026, 4, 17, 10, 15), _local(2026, 5, 15, 10, 15)]),
    # 15W: 2026-03-15 is a Sunday -> Monday 16th; 2026-08-15 a Saturday -> Friday 14th
    ("0 0 9 15W * ?", [_local(2026, 3, 16, 9), _local(2026, 4, 15, 9), _local(2026, 5, 15, 9)]),
    ("0 0 9 1W * ?", [_local(2026, 4, 1, 9), _local(2026, 5, 1, 9), _local(2026, 6, 1, 9)]),
    ("0 0 9 LW * ?", [_local(2026, 3, 31, 9), _local(2026, 4, 30, 9), _local(2026, 5, 29, 9)]),  # May 31 = Sun
    ("0 30 8 1 JAN,JUL ?", [_local(2026, 7, 1, 8, 30), _local(2027, 1, 1, 8, 30), _local(2027, 7, 1, 8, 30)]),
    ("0 0 22-2/2 * * ?", [_local(2026, 3, 2, 22), _local(2026, 3, 3, 0), _local(2026, 3, 3, 2)]),
    ("0 0 0 29 2 ? 2028/4", [_local(2028, 2, 29), _local(2032, 2, 29), _local(2036, 2, 29)]),
])
def test_quartz_expressions_fire_at_the_documented_instants(text, expected):
    assert _next(text, MONDAY_0930) == expected


def test_a_cron_counts_in_the_engine_zone_not_utc():
    # 09:00 in Beijing is 01:00 UTC; from 09:30 Monday the next weekday 09:00 is Tuesday
    (first,) = cron.parse("0 0 9 ? * MON-FRI").firings(MONDAY_0930, SHANGHAI, 1)
    assert first == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    (utc_first,) = cron.parse("0 0 9 ? * MON-FRI").firings(MONDAY_0930, UTC, 1)
    assert utc_first == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the same text read in UTC is another instant


def test_never_again_and_strictly_after():
    assert cron.parse("0 0 0 1 1 ? 2020").next_after(MONDAY_0930, SHANGHAI) is None
    assert cron.parse("0 0 0 30 2 ?").next_after(MONDAY_0930, SHANGHAI) is None  # there is no 30 February
    on_the_dot = _local(2026, 3, 2, 9, 35)
    assert cron.parse("0 0/5 * * * ?").next_after(on_the_dot, SHANGHAI) == _local(2026, 3, 2, 9, 40)
    # a DST gap is skipped (New York, 2026-03-08 02:30 does not exist)
    ny = ZoneInfo("America/New_York")
    got = cron.parse("0 30 2 * * ?").next_after(datetime(2026, 3, 7, 12, tzinfo=ny), ny)
    assert got == datetime(2026, 3, 9, 2, 30, tzinfo=ny).astimezone(UTC)


@pytest.mark.parametrize(("text", "field", "fragment"), [
    ("0 0/5 * * *", None, "6 or 7 fields"),
    ("*/10 * * * *", None, "has 5"),
    ("0 0 25 * * ?", "hour", "out of range 0-23"),
    ("0 60 * * * ?", "minute", "out of range 0-59"),
    ("0 0 12 * * MON", "day-of-week", "exactly one of day-of-month and day-of-week"),
    ("0 0 12 ? * ?", "day-of-month", "exactly one"),
    ("0 0 12 ? * 0", "day-of-week", "1 = SUN"),
    ("0 0 12 ? * FOO", "day-of-week", "SUN-SAT"),
    ("0 0 12 ? JAN-XYZ *", "month", "JAN-DEC"),
    ("0 0 12 L,3 * ?", "day-of-month", "cannot be combined"),
    ("0 0 12 ? * 6#6", "day-of-week", "1-5"),
    ("0 0/0 * * * ?", "minute", "increment"),
    ("0 0 ? * * ?", "hour", "'?' is allowed only"),
    ("0 0 12 32W * ?", "day-of-month", "out of range 1-31"),
    ("0 0 12 * * ? 1969", "year", "out of range 1970-2099"),
    ("0 0 L * * ?", "hour", "belong to day-of-month"),
])
def test_invalid_expressions_name_the_bad_field(text, field, fragment):
    with pytest.raises(cron.CronError) as info:
        cron.parse(text)
    assert info.value.field == field
    assert fragment in info.value.message


# --- timer start events ---------------------------------------------------------------------------------------
def _starts(engine, *states):
    return [j for j in engine.jobs.list(states=states or ("PENDING", "DONE", "CANCELLED"))
            if j.job_type == "timer-start"]


def _cron_daily(expression: str) -> bytes:
    return DAILY.read_bytes().replace(b"R3/2026-03-03T09:00:00/P1D", expression.encode())


def test_cron_timer_start_fires_each_instant_and_rearms_in_the_same_transaction(engine, clock):
    (definition,) = engine.repository.deploy([("daily_report.bpmn", _cron_daily("0 0 9 ? * MON-FRI"))]).definitions
    (job,) = _starts(engine, "PENDING")
    assert job.due == _local(2026, 3, 3, 9, 0)  # the engine's zone: Tuesday 09:00 in Beijing
    assert engine.jobs.execute_due(job.due - timedelta(seconds=1)) == []
    cases = []
    for at in (_local(2026, 3, 3, 9), _local(2026, 3, 4, 9), _local(2026, 3, 5, 9), _local(2026, 3, 6, 9)):
        (result,) = engine.jobs.execute_due(at)
        assert result.outcome == "fired"
        assert engine.runtime.instance(result.instance_id).definition_id == definition.id
        cases.append(result.instance_id)
        (pending,) = _starts(engine, "PENDING")  # exactly one job for the cycle, re-armed by the firing
        assert pending.due > at
    assert pending.due == _local(2026, 3, 9, 9, 0)  # Friday's firing skips the weekend
    assert len(set(cases)) == 4 and len(_starts(engine, "DONE")) == 4
    started = [e for e in engine.history.events(cases[0]) if e.event_type == "ProcessInstanceStartedByTimer"]
    assert len(started) == 1


def test_a_late_cron_job_fires_once_and_schedules_after_now(engine):
    engine.repository.deploy([("daily_report.bpmn", _cron_daily("0 0/5 * * * ?"))])
    (job,) = _starts(engine, "PENDING")
    assert job.due == _local(2026, 3, 2, 9, 35)
    results = engine.jobs.execute_due(_local(2026, 3, 2, 11, 2))  # no worker ran for an hour and a half
    assert [r.outcome for r in results] == ["fired"]  # Camunda: missed firings are not replayed one by one
    (pending,) = _starts(engine, "PENDING")
    assert pending.due == _local(2026, 3, 2, 11, 5)


def test_corpus_order_handling_cron_start_every_five_seconds(engine):
    from tests.conftest import deploy_fixture

    deploy_fixture(engine, "corpus/camunda/examples/order-handling.bpmn")
    (job,) = _starts(engine, "PENDING")
    assert job.due == _local(2026, 3, 2, 9, 30, 5)  # 0/5 0/1 * 1/1 * ?
    for n in range(1, 4):
        (result,) = engine.jobs.execute_due(_local(2026, 3, 2, 9, 30, 5 * n))
        # the case starts; it then stops at the example's conditional boundary event (${invoiceId != null} with
        # no invoiceId: an incident, as Camunda's unresolved identifier is), which does not concern the cycle
        assert result.outcome in ("fired", "incident") and result.instance_id
        assert engine.runtime.instance(result.instance_id).definition_key == "Order_Process"
        (job,) = _starts(engine, "PENDING")
        assert job.due == _local(2026, 3, 2, 9, 30, 5 * (n + 1))


def test_an_invalid_cron_is_refused_at_deploy_naming_file_element_and_field(engine):
    with pytest.raises(DeploymentError) as info:
        engine.repository.deploy([("daily_report.bpmn", _cron_daily("0 0 9 ? * MON-FRX"))])
    (problem,) = info.value.problems
    assert problem.file == "daily_report.bpmn" and problem.element_id == "every_day" and problem.line
    assert "day-of-week" in problem.message and "'FRX'" in problem.message
    assert engine.repository.definitions() == [] and engine.jobs.list() == []


def test_cron_is_for_time_cycles_only(engine):
    bad = _cron_daily("0 0 9 ? * MON").replace(b"timeCycle", b"timeDuration")
    with pytest.raises(DeploymentError) as info:
        engine.repository.deploy([("daily_report.bpmn", bad)])
    assert any("timeCycle only" in p.message and p.element_id == "every_day" for p in info.value.problems)


# --- cron timers inside a case --------------------------------------------------------------------------------
CASE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="cron_case" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{wait}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="review"/>
    <bpmn:userTask id="review" name="审核"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{remind}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="chase"/>
    <bpmn:userTask id="chase" name="催办"/>
    <bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="chased"/>
    <bpmn:endEvent id="chased"/>
    <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _case_bpmn(wait: str = "0 0 9 ? * MON-FRI", remind: str = "0 0 9,14 ? * MON-FRI") -> bytes:
    return CASE_BPMN.format(wait=wait, remind=remind).encode()


def _timers(engine, case_id):
    return [j for j in engine.jobs.list(states=("PENDING",), instance_id=case_id) if j.job_type == "timer"]


def test_intermediate_and_non_interrupting_boundary_cron_timers(engine, cold_cache):
    engine.repository.deploy([("cron_case.bpmn", _case_bpmn())])
    case = engine.runtime.start("cron_case")
    (wait,) = _timers(engine, case.id)
    assert (wait.activity_id, wait.due) == ("wait", _local(2026, 3, 3, 9))  # next weekday 09:00, Beijing
    assert engine.jobs.execute_due(_local(2026, 3, 3, 8, 59, 59)) == []
    assert [r.outcome for r in engine.jobs.execute_due(_local(2026, 3, 3, 9))] == ["fired"]
    (review,) = engine.tasks.list(instance_id=case.id)
    assert review.task_definition_key == "review"
    # the intermediate timer fired once and moved on; the boundary cycle waits for 14:00 the same day
    (remind,) = _timers(engine, case.id)
    assert (remind.activity_id, remind.due) == ("remind", _local(2026, 3, 3, 14))
    dues = []
    for _ in range(3):
        (job,) = _timers(engine, case.id)
        assert [r.outcome for r in engine.jobs.execute_due(job.due)] == ["fired"]
        dues.append(job.due)
        assert len(_timers(engine, case.id)) == 1  # re-armed: one PENDING job per cycle at any time
    assert dues == [_local(2026, 3, 3, 14), _local(2026, 3, 4, 9), _local(2026, 3, 4, 14)]
    keys = sorted(t.task_definition_key for t in engine.tasks.list(instance_id=case.id))
    assert keys == ["chase", "chase", "chase", "review"]  # non-interrupting: the review stays open
    engine.tasks.complete(review.id, "clerk")
    assert _timers(engine, case.id) == []  # the boundary cycle ended with its task
    (cancelled,) = [j for j in engine.jobs.list(states=("CANCELLED",), instance_id=case.id)]
    assert cancelled.activity_id == "remind"


def test_a_cron_from_an_expression_is_evaluated_when_the_timer_starts(engine):
    engine.repository.deploy([("cron_case.bpmn", _case_bpmn(wait="${schedule}"))])
    case = engine.runtime.start("cron_case", variables={"schedule": "0 30 10 ? * MON-FRI"})
    (wait,) = _timers(engine, case.id)
    assert wait.due == _local(2026, 3, 2, 10, 30)
    assert [r.outcome for r in engine.jobs.execute_due(wait.due)] == ["fired"]
    assert [t.task_definition_key for t in engine.tasks.list(instance_id=case.id)] == ["review"]


def test_an_invalid_cron_in_a_case_is_refused_at_deploy(engine):
    with pytest.raises(DeploymentError) as info:
        engine.repository.deploy([("cron_case.bpmn", _case_bpmn(remind="0 0 9 ? * MON-FRI 1900"))])
    (problem,) = info.value.problems
    assert (problem.file, problem.element_id) == ("cron_case.bpmn", "remind")
    assert "year" in problem.message and "1900" in problem.message


def test_an_invalid_cron_from_a_variable_is_an_incident_of_the_case(engine):
    engine.repository.deploy([("cron_case.bpmn", _case_bpmn(wait="${schedule}"))])
    with pytest.raises(ScriptError) as info:
        engine.runtime.start("cron_case", variables={"schedule": "0 0 9 * * MON"})
    assert "not a valid cron expression" in info.value.message and "exactly one of" in info.value.message
    (case,) = engine.runtime.instances(definition_key="cron_case")
    assert case.has_incident and [i.activity_id for i in case.incidents] == ["wait"]
    assert _timers(engine, case.id) == []
