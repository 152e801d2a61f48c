"""engine.supervision (效能监察): numbers per department and service item checked against cases driven through the
real engine on a moved clock (accept, suspend/resume, complete), lists behind the numbers, data scope, statement
count independent of the number of cases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event

from engine.errors import Forbidden, InvalidInput
from engine.supervision import SupervisionFilter, p90

CST = timezone(timedelta(hours=8))
ROOT = Path(__file__).resolve().parent.parent
SIMPLE = ROOT / "caseclock" / "fixtures" / "clock_simple.bpmn"  # promisedLimit 5wd, one task of "window"
PARALLEL = ROOT / "fixtures" / "web" / "case_view.bpmn"  # intake (window) -> market/fire (3 wd) + civil (8 wd)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def sup(engine):  # type: ignore[no-untyped-def]
    engine.repository.deploy([(p.name, p.read_bytes()) for p in (SIMPLE, PARALLEL)])
    ident = engine.identity
    for gid, name in (("window", "综合窗口"), ("market", "市场监管局"), ("fire", "消防救援大队"),
                      ("civil", "人防办"), ("lead", "牵头部门")):
        ident.add_group(gid, name)
    ident.add_user("boss", "password-1", roles=["supervisor"])
    ident.add_user("root", "password-1", roles=["admin"])
    ident.add_user("chief", "password-1", groups=["market"], roles=["leader"])
    ident.add_user("rev", "password-1", groups=["market"], roles=["reviewer"])
    return engine


def _task(eng, key: str, activity: str | None = None):  # type: ignore[no-untyped-def]
    tasks = [t for t in eng.tasks.list(business_key=key) if activity in (None, t.task_definition_key)]
    assert len(tasks) == 1, tasks
    return tasks[0]


def drive(eng, clock) -> None:  # type: ignore[no-untyped-def]
    """Monday 2026-03-02 09:30: S-1..S-4 (5 wd -> due Mon 03-09 17:30) and V-1 (parallel review) are accepted.
    S-1 closes 03-04 (2 wd), S-2 is suspended for 补正 03-03..03-05 (3 wd; due -> 03-12) and closes 03-11
    (7 - 3 = 4 wd), S-4 closes late on 03-10 (6 wd), S-3 stays open (overdue from 03-09 17:30), S-5 starts Friday
    03-06 (due 03-13 17:30, warning from 03-12 17:30). The clock is left on Wednesday 03-11 10:00."""
    clock.set(at(2026, 3, 2, 9, 30))
    for i in range(1, 5):
        eng.runtime.start("clock_simple", business_key=f"S-{i}")
    v = eng.runtime.start("case_view", business_key="V-1", variables={"applicant": "并联公司"})
    eng.tasks.complete(_task(eng, "V-1").id, "c1")
    clock.set(at(2026, 3, 3, 10, 0))
    eng.cases.suspend("S-2", reason="申请人补正材料", kind="supplement", actor="boss")
    clock.set(at(2026, 3, 4, 10, 0))
    eng.tasks.complete(_task(eng, "S-1").id, "c1")
    clock.set(at(2026, 3, 5, 10, 0))
    eng.cases.resume("S-2", actor="boss")
    clock.set(at(2026, 3, 6, 10, 0))
    eng.runtime.start("clock_simple", business_key="S-5")
    clock.set(at(2026, 3, 10, 10, 0))
    eng.tasks.complete(_task(eng, "S-4").id, "c1")
    clock.set(at(2026, 3, 11, 10, 0))
    eng.tasks.complete(_task(eng, "S-2").id, "c1")
    assert eng.cases.clock(v.id).state == "RUNNING"


def _row(rows, key):  # type: ignore[no-untyped-def]
    return next(r for r in rows if r.key == key)


def test_numbers_per_item_and_department(sup, clock):
    drive(sup, clock)
    boss = sup.identity.access("boss")
    rep = sup.supervision.report(boss)
    t = rep.total
    assert (t.open_cases, t.warning_cases, t.overdue_cases) == (3, 0, 1)  # S-3 overdue, S-5 and V-1 on time
    assert (t.open_tasks, t.warning_tasks, t.overdue_tasks) == (5, 0, 2)  # V-1's market and fire reviews late
    assert (t.received, t.supplement, t.closed, t.closed_on_time, t.closed_late) == (6, 1, 3, 2, 1)
    assert t.on_time_rate == pytest.approx(2 / 3)
    assert t.supplement_rate == pytest.approx(1 / 6)
    assert sorted(t.durations) == [2, 4, 6]
    assert (t.avg_days, t.median_days, t.p90_days) == (4.0, 4.0, 6)
    assert t.overdue_all == 2

    simple = _row(rep.items, "clock_simple").figures
    assert (simple.open_cases, simple.overdue_cases, simple.received, simple.closed) == (2, 1, 5, 3)
    parallel = _row(rep.items, "case_view").figures
    assert (parallel.open_cases, parallel.open_tasks, parallel.overdue_tasks, parallel.closed) == (1, 3, 2, 0)
    assert _row(rep.items, "case_view").name == "并联审批（流程跟踪测试）"

    window = _row(rep.departments, "window")
    assert window.name == "综合窗口"
    w = window.figures
    # open: the cases waiting at the window now (S-3, S-5); received/closed: every case the window worked on
    assert (w.open_cases, w.overdue_cases, w.open_tasks, w.received, w.closed, w.supplement) == (2, 1, 2, 6, 3, 1)
    assert sorted(w.durations) == [2, 4, 6]
    m = _row(rep.departments, "market").figures
    assert (m.open_cases, m.overdue_cases, m.open_tasks, m.overdue_tasks, m.received, m.closed) == (1, 0, 1, 1, 1, 0)
    c = _row(rep.departments, "civil").figures
    assert (c.open_tasks, c.overdue_tasks) == (1, 0)
    assert _row(rep.departments, "lead").figures.open_cases == 0  # every department is listed, with zeros


def test_overdue_and_warning_appear_when_time_moves(sup, clock):
    clock.set(at(2026, 3, 2, 9, 30))
    sup.runtime.start("clock_simple", business_key="T-1")  # due Mon 03-09 17:30, warning from Fri 03-06 17:30
    boss = sup.identity.access("boss")

    def signals():  # type: ignore[no-untyped-def]
        t = sup.supervision.report(boss).total
        return t.open_cases, t.warning_cases, t.overdue_cases

    assert signals() == (1, 0, 0)
    clock.set(at(2026, 3, 9, 9, 0))
    assert signals() == (1, 1, 0)
    assert [r.business_key for r in sup.supervision.list_page(boss, "warning").rows] == ["T-1"]
    clock.set(at(2026, 3, 9, 17, 31))
    assert signals() == (1, 0, 1)
    page = sup.supervision.list_page(boss, "overdue")
    assert page.total == 1 and page.rows[0].business_key == "T-1" and page.rows[0].signal == "OVERDUE"
    assert page.rows[0].due == at(2026, 3, 9, 17, 30) and page.rows[0].departments == ("综合窗口",)
    assert page.rows[0].steps == ("办理",)
    # a clock suspended before its deadline does not turn red while suspended
    clock.set(at(2026, 3, 2, 9, 30))
    sup.runtime.start("clock_simple", business_key="T-2")
    clock.set(at(2026, 3, 4, 9, 0))
    sup.cases.suspend("T-2", reason="专家评审", kind="expert-review")
    clock.set(at(2026, 3, 20, 9, 0))
    assert [r.business_key for r in sup.supervision.list_page(boss, "overdue").rows] == ["T-1"]


def test_lists_behind_the_numbers(sup, clock):
    drive(sup, clock)
    boss = sup.identity.access("boss")
    late = sup.supervision.list_page(boss, "closed_late")
    assert [(r.business_key, r.net_days, r.state, r.signal) for r in late.rows] == [("S-4", 6, "办结", "OVERDUE")]
    on_time = sup.supervision.list_page(boss, "closed_on_time")
    assert sorted((r.business_key, r.net_days) for r in on_time.rows) == [("S-1", 2), ("S-2", 4)]
    assert [r.business_key for r in sup.supervision.list_page(boss, "supplement").rows] == ["S-2"]
    assert sorted(r.business_key for r in sup.supervision.list_page(boss, "overdue_all").rows) == ["S-3", "S-4"]
    fire = sup.supervision.list_page(boss, "overdue_tasks", SupervisionFilter(department="fire"))
    assert [(r.business_key, r.name, r.departments, r.signal) for r in fire.rows] == [
        ("V-1", "消防内部审查", ("消防救援大队",), "OVERDUE")]
    tasks = sup.supervision.list_page(boss, "open_tasks")
    assert tasks.total == 5 and [r.due is None for r in tasks.rows] == [False, False, False, True, True]
    paged = sup.supervision.list_page(boss, "received", offset=4, limit=4)
    assert paged.total == 6 and len(paged.rows) == 2
    assert len(list(sup.supervision.iter_rows(boss, "received", batch=4))) == 6
    received = {r.business_key: r for r in sup.supervision.list_page(boss, "received").rows}
    assert sorted(received["V-1"].departments) == sorted(("市场监管局", "消防救援大队", "人防办"))
    assert sorted(received["V-1"].steps) == sorted(("市场监管内部审查", "消防内部审查", "人防内部审查"))
    with pytest.raises(InvalidInput, match="unknown supervision metric 'nope'"):
        sup.supervision.list_page(boss, "nope")


def test_warning_and_overdue_lists_agree_with_the_numbers(sup, clock):
    """The warning and overdue lists (read from the case clocks, the cases' rows only for the page): every case the
    dashboard counts, ordered by deadline, then 受理时间; the department filter, the scope and paging (the CSV
    export's batches) as for the other lists; a terminated case leaves them (its clock stops with it); a case
    suspended as a process (not its clock) stays."""
    boss, chief = sup.identity.access("boss"), sup.identity.access("chief")
    monday, tuesday = at(2026, 3, 2, 10, 0), at(2026, 3, 3, 10, 0)
    for key, started in (("O-2", monday), ("O-1", monday + timedelta(hours=1)), ("O-0", tuesday),
                         ("O-3", monday + timedelta(hours=2)), ("W-1", at(2026, 3, 6, 9, 0)),
                         ("W-0", at(2026, 3, 6, 9, 0)), ("N-1", at(2026, 3, 9, 9, 0))):
        clock.set(started)
        sup.runtime.start("clock_simple", business_key=key)
    sup.runtime.terminate(sup.runtime.instances(business_key="O-3")[0].id, reason="撤回")
    sup.runtime.suspend(sup.runtime.instances(business_key="O-0")[0].id)
    clock.set(at(2026, 3, 12, 18, 0))  # O-*: due 03-09/03-10 17:30, overdue; W-*: due 03-13, warning from 03-12

    def keys(metric, flt=None, who=boss, **paging):  # type: ignore[no-untyped-def]
        page = sup.supervision.list_page(who, metric, flt, **paging)
        return page.total, [r.business_key for r in page.rows]

    total = sup.supervision.report(boss).total
    assert (total.overdue_cases, total.warning_cases) == (3, 2)
    assert keys("overdue") == (3, ["O-2", "O-1", "O-0"])  # same deadline: the earlier accepted first
    assert [r.signal for r in sup.supervision.list_page(boss, "overdue").rows] == ["OVERDUE"] * 3
    warning = keys("warning")
    assert warning[0] == 2 and sorted(warning[1]) == ["W-0", "W-1"]  # same deadline and 受理: by id
    assert keys("overdue", offset=1, limit=1) == (3, ["O-1"])
    assert [r.business_key for r in sup.supervision.iter_rows(boss, "overdue", batch=2)] == ["O-2", "O-1", "O-0"]
    assert keys("overdue", SupervisionFilter(department="window")) == (3, ["O-2", "O-1", "O-0"])
    assert keys("overdue", SupervisionFilter(department="market")) == (0, [])
    assert keys("warning", who=chief) == (0, [])  # the leader of market: window's cases are outside the scope
    assert keys("overdue", SupervisionFilter(item="clock_simple")) == (3, ["O-2", "O-1", "O-0"])


def test_date_range_department_and_item_filters(sup, clock):
    drive(sup, clock)
    boss = sup.identity.access("boss")
    friday = sup.supervision.report(boss, SupervisionFilter(start=date(2026, 3, 6), end=date(2026, 3, 6))).total
    assert (friday.received, friday.closed, friday.open_cases) == (1, 0, 3)  # S-5 received; open: as of now
    week = sup.supervision.report(boss, SupervisionFilter(start=date(2026, 3, 4), end=date(2026, 3, 10))).total
    assert (week.closed, week.closed_on_time, week.closed_late, sorted(week.durations)) == (2, 1, 1, [2, 6])
    market = sup.supervision.report(boss, SupervisionFilter(department="market"))
    assert [r.key for r in market.departments] == ["market"]
    assert (market.total.open_cases, market.total.received, market.total.open_tasks) == (1, 1, 1)
    item = sup.supervision.report(boss, SupervisionFilter(item="case_view"))
    assert [r.key for r in item.items] == ["case_view"] and item.total.open_cases == 1
    assert _row(item.departments, "window").figures.received == 1
    with pytest.raises(InvalidInput, match="starts on 2026-03-10 after it ends on 2026-03-01"):
        sup.supervision.report(boss, SupervisionFilter(start=date(2026, 3, 10), end=date(2026, 3, 1)))


def test_data_scope(sup, clock):
    drive(sup, clock)
    chief = sup.supervision.report(sup.identity.access("chief"))
    assert chief.scope == ("market",)
    assert [r.key for r in chief.departments] == ["market"]
    assert (chief.total.open_cases, chief.total.received, chief.total.open_tasks, chief.total.closed) == (1, 1, 1, 0)
    assert [r.key for r in chief.items] == ["case_view"]
    assert [r.business_key for r in sup.supervision.list_page(sup.identity.access("chief"), "received").rows] == ["V-1"]
    # a department outside the leader's scope shows nothing
    other = sup.supervision.report(sup.identity.access("chief"), SupervisionFilter(department="window"))
    assert other.total.received == 0 and other.total.open_tasks == 0
    assert sup.supervision.list_page(sup.identity.access("chief"), "open_tasks",
                                     SupervisionFilter(department="window")).total == 0
    assert sup.supervision.report(sup.identity.access("root")).total.received == 6
    with pytest.raises(Forbidden, match="user rev .* may not see the supervision dashboard"):
        sup.supervision.report(sup.identity.access("rev"))
    with pytest.raises(Forbidden):
        sup.supervision.list_page(sup.identity.access("rev"), "open_cases")


def test_fixed_number_of_statements(sup, clock):
    boss = sup.identity.access("boss")

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(sup.db, "before_cursor_execute", listener)
        try:
            sup.supervision.report(boss)
            sup.supervision.list_page(boss, "received")
            sup.supervision.list_page(boss, "open_tasks")
        finally:
            event.remove(sup.db, "before_cursor_execute", listener)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    drive(sup, clock)
    few = statements()
    for i in range(10):
        sup.runtime.start("case_view", business_key=f"X-{i}")
    sup.runtime.start("clock_simple", business_key="X-late")
    assert statements() == few


def test_p90_nearest_rank():
    assert p90([]) is None
    assert p90([5]) == 5
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 12))) == 10


def test_report_reuse_fresh_when_cheap_stale_while_revalidate_when_not(sup, clock):
    import time

    boss = sup.identity.access("boss")
    clock.set(at(2026, 3, 2, 9, 30))
    sup.runtime.start("clock_simple", business_key="C-1")
    sup.supervision.cache_seconds = 30
    assert sup.supervision.report(boss).total.open_cases == 1
    sup.runtime.start("clock_simple", business_key="C-2")
    assert sup.supervision.report(boss).total.open_cases == 2  # computing is cheap here: fresh after any change
    # an expensive report: served as it was while the next one is computed in the background
    sup.supervision.CHEAP_SECONDS = 0
    sup.supervision.report(boss)
    sup.runtime.start("clock_simple", business_key="C-3")
    first = sup.supervision.report(boss)
    assert first.total.open_cases == 2
    for _ in range(100):
        if sup.supervision.report(boss).total.open_cases == 3:
            break
        time.sleep(0.05)
    assert sup.supervision.report(boss).total.open_cases == 3
    # time moved on (the dashboard after a weekend): computed before answering
    clock.set(at(2026, 3, 10, 9, 0))
    assert sup.supervision.report(boss).total.overdue_cases == 3
    sup.supervision.cache_seconds = 0


def _two_steps(key: str, **properties: str) -> tuple[str, bytes]:
    """A diagram 办理 (window) -> 送达 (market) with the given process properties (limits, clockStart/Stop)."""
    props = "".join(f'<camunda:property name="{k}" value="{v}"/>' for k, v in properties.items())
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_{key}" targetNamespace="http://onewindow.test">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>{props}</camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="handle" name="办理" camunda:candidateGroups="window">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="deliver" name="送达" camunda:candidateGroups="market">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle"/>
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="deliver"/>
    <bpmn:sequenceFlow id="f3" sourceRef="deliver" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return f"{key}.bpmn", xml.encode()


def _list_order(row):  # type: ignore[no-untyped-def]
    """The documented order of the case lists: deadline, 受理时间, id; the cases without a deadline after them by
    收件时间, id."""
    if row.due is not None:
        return (0, row.due, row.accepted_at, "", row.instance_id)
    return (1, row.received_at, row.received_at, "", row.instance_id)


def _whole(sup, who, metric, flt=None):  # type: ignore[no-untyped-def]
    """(total, business keys, rows) of a whole list, checked: every page a slice of it, the CSV batches the same,
    as long as its total, in the documented order."""
    page = sup.supervision.list_page(who, metric, flt, limit=None)
    for limit in (1, 2, 3, 50):
        for offset in range(0, page.total + 2, limit):
            part = sup.supervision.list_page(who, metric, flt, offset=offset, limit=limit)
            assert part.total == page.total
            assert [r.instance_id for r in part.rows] == [r.instance_id for r in page.rows][offset:offset + limit]
    assert [r.instance_id for r in sup.supervision.iter_rows(who, metric, flt, batch=2)] == \
        [r.instance_id for r in page.rows]
    assert len(page.rows) == page.total
    assert [r.instance_id for r in page.rows] == [r.instance_id for r in sorted(page.rows, key=_list_order)]
    return page.total, {r.business_key for r in page.rows}, page.rows


def test_received_list_in_deadline_order_for_long_and_short_periods(sup, clock):
    """The received list when every clock has a promised deadline (read in the order of the clocks' deadline index,
    on SQLite walked when the period holds a quarter of the clocks or more, else the period's cases sorted): the
    cases the dashboard counts, in deadline order, the cases without a deadline last; a period of one day among
    many cases and the whole month; the department filter."""
    sup.repository.deploy([_two_steps("no_limits"), _two_steps("early_stop", promisedLimit="5wd", clockStop="handle")])
    boss = sup.identity.access("boss")
    started: dict[str, date] = {}
    for day in range(2, 14):
        if date(2026, 3, day).weekday() >= 5:
            continue
        for i, process in enumerate(("clock_simple", "clock_simple", "no_limits", "early_stop")):
            clock.set(at(2026, 3, day, 9 + i, 0))
            key = f"R-{day:02d}-{i}"
            sup.runtime.start(process, business_key=key)
            started[key] = date(2026, 3, day)
    sup.tasks.complete(_task(sup, "R-03-3", "handle").id, "c1")  # clock stopped, waits at 送达 (market)
    clock.set(at(2026, 3, 13, 18, 0))
    for flt in (SupervisionFilter(), SupervisionFilter(start=date(2026, 3, 1), end=date(2026, 3, 31)),
                SupervisionFilter(start=date(2026, 3, 5), end=date(2026, 3, 5)),
                SupervisionFilter(start=date(2026, 3, 9), end=date(2026, 3, 10))):
        total, keys, rows = _whole(sup, boss, "received", flt)
        expected = {k for k, d in started.items() if (flt.start is None or flt.start <= d <= flt.end)}
        assert (total, keys) == (len(expected), expected)
        assert total == sup.supervision.report(boss, flt).total.received
        assert {r.business_key for r in rows if r.due is None} == {k for k in expected if "-2" == k[-2:]}
    market = SupervisionFilter(department="market", start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert _whole(sup, boss, "received", market)[:2] == (1, {"R-03-3"})


def test_open_and_received_lists_agree_with_the_numbers(sup, clock):
    """The lists of all open cases and of the received cases (paged from the clocks' deadline indexes and the case
    table's (state, started_at) index, the open cases with a deadline first, then those without one): exactly the
    cases the dashboard counts, in deadline order (promised and legal-only deadlines merged), then 受理时间 and id,
    the cases without a deadline after them by receipt; every page a slice of the whole list; the department
    filter, the service item, the period and the leader's scope."""
    sup.repository.deploy([
        _two_steps("legal_only", legalLimit="3wd"),  # due = legal_due: between the 5 wd promises below
        _two_steps("no_limits"),  # no clock
        _two_steps("late_start", promisedLimit="5wd", clockStart="handle"),  # WAITING until 办理 completes
        _two_steps("early_stop", promisedLimit="5wd", clockStop="handle"),  # 办结 at 办理, then 送达: not open
    ])
    boss, chief = sup.identity.access("boss"), sup.identity.access("chief")
    started: dict[str, datetime] = {}

    def start(process: str, key: str, when: datetime) -> None:
        clock.set(when)
        sup.runtime.start(process, business_key=key)
        started[key] = when

    monday = at(2026, 3, 2, 10, 0)
    start("clock_simple", "P-1", monday)
    start("clock_simple", "P-2", monday)  # the same deadline and 受理时间 as P-1: by id
    start("legal_only", "L-1", monday + timedelta(hours=1))  # due Thursday: before the 5 wd promises
    start("no_limits", "N-1", monday + timedelta(hours=2))
    start("late_start", "W-1", monday + timedelta(hours=3))
    start("early_stop", "E-1", monday + timedelta(hours=4))
    start("clock_simple", "P-3", at(2026, 3, 3, 10, 0))
    start("legal_only", "L-2", at(2026, 3, 4, 10, 0))
    start("no_limits", "N-2", at(2026, 3, 4, 11, 0))
    start("clock_simple", "T-1", at(2026, 3, 4, 12, 0))
    start("no_limits", "T-2", at(2026, 3, 4, 12, 30))
    start("clock_simple", "C-1", at(2026, 3, 5, 9, 0))
    start("no_limits", "C-2", at(2026, 3, 5, 9, 30))
    start("clock_simple", "D-1", at(2026, 3, 6, 9, 0))  # 送达 of L-1 moves it to market (below)
    clock.set(at(2026, 3, 6, 10, 0))
    sup.runtime.terminate(sup.runtime.instances(business_key="T-1")[0].id, reason="撤回")
    sup.runtime.terminate(sup.runtime.instances(business_key="T-2")[0].id, reason="撤回")
    sup.tasks.complete(_task(sup, "C-1").id, "c1")  # completed: closed
    sup.tasks.complete(_task(sup, "C-2", "handle").id, "c1")
    sup.tasks.complete(_task(sup, "C-2", "deliver").id, "c1")
    sup.tasks.complete(_task(sup, "E-1", "handle").id, "c1")  # clock stopped, the case waits at 送达 (market)
    sup.tasks.complete(_task(sup, "L-1", "handle").id, "c1")  # open at 送达 (market)
    sup.runtime.suspend(sup.runtime.instances(business_key="N-2")[0].id)  # suspended as a process: still open
    assert sup.cases.clock(sup.runtime.instances(business_key="W-1")[0].id).state == "WAITING"
    clock.set(at(2026, 3, 6, 11, 0))

    def whole(who, metric, flt=None):  # type: ignore[no-untyped-def]
        return _whole(sup, who, metric, flt)

    opened = {"P-1", "P-2", "L-1", "N-1", "W-1", "P-3", "L-2", "N-2", "D-1"}
    total, keys, rows = whole(boss, "open_cases")
    assert (total, keys) == (len(opened), opened)
    assert total == sup.supervision.report(boss).total.open_cases
    order = [r.business_key for r in rows]
    assert order[0] == "L-1" and set(order[1:3]) == {"P-1", "P-2"}  # legal 3 wd (Thursday) before promised 5 wd
    assert set(order[-3:]) == {"N-1", "W-1", "N-2"} and order[-3:] == sorted(order[-3:], key=started.get)
    assert {r.business_key for r in rows if r.due is not None} == {"P-1", "P-2", "L-1", "P-3", "L-2", "D-1"}
    market = SupervisionFilter(department="market")
    assert whole(boss, "open_cases", market)[:2] == (1, {"L-1"})  # E-1's clock stopped: not open
    assert sup.supervision.report(boss, market).total.open_cases == 1
    assert whole(chief, "open_cases")[:2] == (1, {"L-1"})
    assert whole(boss, "open_cases", SupervisionFilter(item="no_limits"))[:2] == (2, {"N-1", "N-2"})
    assert whole(boss, "open_cases", SupervisionFilter(item="legal_only"))[:2] == (2, {"L-1", "L-2"})

    received = set(started)
    total, keys, rows = whole(boss, "received")
    assert (total, keys) == (len(received), received)
    assert total == sup.supervision.report(boss).total.received
    week = SupervisionFilter(start=date(2026, 3, 3), end=date(2026, 3, 5))
    in_week = {k for k, when in started.items() if date(2026, 3, 3) <= when.date() <= date(2026, 3, 5)}
    assert whole(boss, "received", week)[:2] == (len(in_week), in_week)
    assert sup.supervision.report(boss, week).total.received == len(in_week)
    total, keys, _rows = whole(boss, "received", market)
    assert keys == {"L-1", "E-1", "C-2"} and total == sup.supervision.report(boss, market).total.received
    assert whole(chief, "received", week)[:2] == (1, {"C-2"})
    assert whole(boss, "received", SupervisionFilter(item="clock_simple"))[1] == {"P-1", "P-2", "P-3", "T-1",
                                                                                     "C-1", "D-1"}

    # the total from the dashboard's kept report while nothing was written since; counted again after a change
    sup.supervision.cache_seconds = 30
    try:
        assert sup.supervision.report(boss).total.open_cases == len(opened)
        assert whole(boss, "open_cases")[:2] == (len(opened), opened)
        start("clock_simple", "X-1", at(2026, 3, 6, 11, 30))
        page = sup.supervision.list_page(boss, "open_cases", limit=None)
        assert page.total == len(page.rows) == len(opened) + 1
    finally:
        sup.supervision.cache_seconds = 0
