"""效能监察 (supervision): the read model behind the supervisors' dashboard — ``engine.supervision``.

Per department and per service item (the process definition key), for a period and in the caller's data scope:
the open / warning / overdue cases and tasks, 收件量, 补正率, 办结量, 按时办结率, and the net working days from
受理 to 办结 (mean, median, P90, suspensions excluded), with the list behind every number. Definitions follow
domain.md §1.8 (the page web/ui/supervision.py states them in Chinese):

* a case's deadline is its case clock's ``promised_due`` (else ``legal_due``): promise + approved extensions +
  suspended working days (docs/deadlines.md); its signal is the clock's (``engine.caseclock.clock.signal_of``):
  OVERDUE when now (for a suspended clock: the start of the open suspension) is past the deadline, WARNING from
  the clock's ``warn_at``;
* a task's signal is the inbox's (``TaskView.signal``): OVERDUE when now > due, WARNING when now >= followUp;
* 办结 (closed): the clock stopped after acceptance (at its ``clockStop`` activity or the case's end), or a case
  without a clock completed; a terminated case (终止) is not 办结; the 办结时间 is the clock's ``stopped_at``;
* 补正: the case had a suspension of kind ``supplement`` (补正 after acceptance) or its variable
  ``supplementRequested`` is true (一次性告知 before acceptance, set by the intake);
* the department of a task is each of its candidate groups; a case belongs to a department for the in-progress
  numbers (在办/预警/超期) when one of its **open** tasks is that department's (where it waits now), and for the
  other numbers when **any** of its tasks was.

Data scope (``engine.identity.Access``): supervisors and admins see every department; a department leader
(``leader``) sees their own departments only; anybody else is refused (Forbidden).

Every number is an aggregate in SQL (GROUP BY) in a fixed number of statements per report, whatever the number
of cases; the working-day durations of the closed cases of the period are one query whose rows are counted in
working days here (the calendar is not in the database), with one count per distinct (受理日, 办结日) pair.
"""

from __future__ import annotations

import math
import statistics
import threading
import time as time_module
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator

from sqlalchemy import (and_, case, exists, false, func, literal, literal_column, not_, or_, select, true, union,
                        union_all)
from sqlalchemy.orm import Session

from engine.calendar import CalendarYearUnknown
from engine.errors import Forbidden, InvalidInput
from engine.persistence.base import UTCDateTime
from engine.persistence.models import (
    CaseClock,
    CaseSuspension,
    Group,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskIdentityLink,
    Variable,
)

PI = ProcessInstance.__table__.c
CC = CaseClock.__table__.c
T = Task.__table__.c
L = TaskIdentityLink.__table__.c
V = Variable.__table__.c
_SUSP = CaseSuspension.__table__
OPEN_SUSP = _SUSP.alias("open_susp")
OS = OPEN_SUSP.c
SUPPLEMENT_VARIABLE = "supplementRequested"

ROLES = ("supervisor", "leader", "admin")

# name: (kind: case | task, label)
METRICS: dict[str, tuple[str, str]] = {
    "open_cases": ("case", "在办件"),
    "warning_cases": ("case", "预警件"),
    "overdue_cases": ("case", "超期在办件"),
    "received": ("case", "收件量"),
    "supplement": ("case", "补正件"),
    "closed": ("case", "办结量"),
    "closed_on_time": ("case", "按时办结件"),
    "closed_late": ("case", "超期办结件"),
    "overdue_all": ("case", "超期件（超期办结 + 超期在办）"),
    "open_tasks": ("task", "在办任务"),
    "warning_tasks": ("task", "预警任务"),
    "overdue_tasks": ("task", "超期任务"),
}
ALIASES = {"open": "open_cases", "warning": "warning_cases", "overdue": "overdue_cases"}
CASE_METRICS = tuple(k for k, (kind, _) in METRICS.items() if kind == "case")
TASK_METRICS = tuple(k for k, (kind, _) in METRICS.items() if kind == "task")



# --- filters and results -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SupervisionFilter:
    """The dashboard's filters: a period of local dates (both included; None = open end), a department (candidate
    group id) and a service item (process definition key)."""

    start: date | None = None
    end: date | None = None
    department: str | None = None
    item: str | None = None

    def checked(self) -> SupervisionFilter:
        if self.start and self.end and self.start > self.end:
            raise InvalidInput(f"the period starts on {self.start.isoformat()} after it ends on "
                               f"{self.end.isoformat()}", start=self.start.isoformat(), end=self.end.isoformat())
        return replace(self, department=(self.department or "").strip() or None, item=(self.item or "").strip() or None)


@dataclass
class Figures:
    """The numbers of one row (a department, a service item, or the total)."""

    open_cases: int = 0
    warning_cases: int = 0
    overdue_cases: int = 0
    received: int = 0
    supplement: int = 0
    closed: int = 0
    closed_timed: int = 0  # closed cases with a deadline (the denominator of 按时办结率)
    closed_on_time: int = 0
    closed_late: int = 0
    open_tasks: int = 0
    warning_tasks: int = 0
    overdue_tasks: int = 0
    durations: list[int] = field(default_factory=list)

    @property
    def overdue_all(self) -> int:
        return self.closed_late + self.overdue_cases

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed_timed if self.closed_timed else None

    @property
    def supplement_rate(self) -> float | None:
        return self.supplement / self.received if self.received else None

    @property
    def avg_days(self) -> float | None:
        return sum(self.durations) / len(self.durations) if self.durations else None

    @property
    def median_days(self) -> float | None:
        return float(statistics.median(self.durations)) if self.durations else None

    @property
    def p90_days(self) -> int | None:
        return p90(self.durations)

    def value(self, metric: str) -> int:
        return int(getattr(self, metric))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {m: self.value(m) for m in METRICS}
        out.update(onTimeRate=self.on_time_rate, supplementRate=self.supplement_rate, avgDays=self.avg_days,
                   medianDays=self.median_days, p90Days=self.p90_days, closedWithDeadline=self.closed_timed)
        return out


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    now: datetime
    filter: SupervisionFilter
    scope: tuple[str, ...] | None  # the departments the caller may see; None = all
    departments: list[Row]
    items: list[Row]
    total: Figures
    department_names: dict[str, str]
    item_names: dict[str, str]


@dataclass(frozen=True)
class CaseRow:
    instance_id: str
    business_key: str | None
    item: str
    item_name: str
    departments: tuple[str, ...]
    steps: tuple[str, ...]  # the open tasks' names (where the case waits)
    state: str  # 在办 / 挂起 / 办结 / 终止 ...
    signal: str  # ON_TIME WARNING OVERDUE
    received_at: datetime
    accepted_at: datetime | None
    due: datetime | None
    closed_at: datetime | None
    net_days: int | None
    supplement: bool


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    name: str | None
    instance_id: str
    business_key: str | None
    item: str
    item_name: str
    departments: tuple[str, ...]
    assignee: str | None
    created: datetime
    due: datetime | None
    follow_up: datetime | None
    signal: str


@dataclass(frozen=True)
class ListPage:
    metric: str
    kind: str  # case | task
    total: int
    rows: list[Any]


def p90(values: list[int]) -> int | None:
    """The 90th percentile by the nearest-rank method (the smallest value with at least 90 % of values <= it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def metric_name(metric: str) -> str:
    metric = ALIASES.get(metric, metric)
    if metric not in METRICS:
        raise InvalidInput(f"unknown supervision metric '{metric}' (known: {', '.join(METRICS)})", metric=metric)
    return metric


def scope_of(access: Any) -> tuple[str, ...] | None:
    """The departments ``access`` may see on the dashboard: None = all (supervisor, admin), a leader's own
    departments; Forbidden for anybody else."""
    if access.sees_all:
        return None
    if "leader" in access.roles:
        return tuple(access.groups)
    raise Forbidden(f"user {access.user_id} (roles: {', '.join(access.roles) or 'none'}) may not see the "
                    f"supervision dashboard (效能监察): that needs the role supervisor, leader or admin",
                    user_id=access.user_id)


# --- SQL building blocks -------------------------------------------------------------------------------------------
class _Sql:
    """The conditions of one report: the instant ``now``, the period [lo, hi) as UTC instants, the departments."""

    def __init__(self, now: datetime, lo: datetime | None, hi: datetime | None, depts: tuple[str, ...] | None):
        self.now = literal(now, UTCDateTime())
        self.lo = literal(lo, UTCDateTime()) if lo else None
        self.hi = literal(hi, UTCDateTime()) if hi else None
        self.depts = depts  # None: no department restriction

    def in_period(self, col: Any) -> Any:
        conds = []
        if self.lo is not None:
            conds.append(col >= self.lo)
        if self.hi is not None:
            conds.append(col < self.hi)
        return and_(true(), *conds)

    # the case side (process_instance LEFT JOIN case_clock LEFT JOIN the open suspension)
    @staticmethod
    def case_from(clocked: bool = False) -> Any:
        """PI LEFT JOIN CC LEFT JOIN OS; ``clocked``: only cases with a clock (CC first: its indexes can lead)."""
        if clocked:
            return CaseClock.__table__.join(ProcessInstance.__table__, PI.id == CC.instance_id).outerjoin(
                OPEN_SUSP, and_(OS.instance_id == CC.instance_id, OS.ended_at.is_(None)))
        return ProcessInstance.__table__.outerjoin(CaseClock.__table__, CC.instance_id == PI.id).outerjoin(
            OPEN_SUSP, and_(OS.instance_id == PI.id, OS.ended_at.is_(None)))

    def case_signals(self) -> tuple[Any, Any, Any]:
        """(the clock runs or is suspended, WARNING, OVERDUE) of the case joined as CC/OS: the clock's signal
        (``signal_of``) at now, or for a suspended clock at the start of its open suspension."""
        due = func.coalesce(CC.promised_due, CC.legal_due)
        at = func.coalesce(OS.started_at, self.now)
        running = CC.state.in_(("RUNNING", "SUSPENDED"))
        # "the deadline has passed" (at <= now) is said once more in index form: the clock's (state, promised_due)
        # index then finds the overdue cases without reading every open case (the lists)
        passed = or_(and_(CC.state == "RUNNING", CC.promised_due < self.now),
                     and_(CC.state == "SUSPENDED", CC.promised_due < self.now),
                     and_(CC.state.in_(("RUNNING", "SUSPENDED")), CC.promised_due.is_(None), CC.legal_due < self.now))
        overdue = and_(running, due.is_not(None), at > due, passed)
        reached = or_(and_(CC.state == "RUNNING", CC.warn_at <= self.now),  # index form, as for ``passed``
                      and_(CC.state == "SUSPENDED", CC.warn_at <= self.now))
        warning = and_(running, not_(overdue), CC.warn_at.is_not(None), at >= CC.warn_at, reached)
        return running, warning, overdue

    def case_conditions(self) -> dict[str, Any]:
        """Each case metric as a condition on PI/CC/OS (department relation not included). The in-progress
        numbers are as of now; received counts by PI.started_at, closed by the clock's stopped_at in the period."""
        due = func.coalesce(CC.promised_due, CC.legal_due)
        _running, warning, overdue = self.case_signals()
        is_open = and_(PI.state.in_(("ACTIVE", "SUSPENDED")), or_(CC.state.is_(None), CC.state != "STOPPED"))
        closed = and_(CC.state == "STOPPED", CC.accepted_at.is_not(None), PI.state != "TERMINATED",
                      self.in_period(CC.stopped_at))
        received = self.in_period(PI.started_at)
        return {
            "open_cases": is_open,
            "warning_cases": and_(is_open, warning),
            "overdue_cases": and_(is_open, overdue),
            "received": received,
            "supplement": and_(received, _needed_supplement()),
            "closed": closed,
            "closed_timed": and_(closed, due.is_not(None)),
            "closed_on_time": and_(closed, due.is_not(None), CC.stopped_at <= due),
            "closed_late": and_(closed, due.is_not(None), CC.stopped_at > due),
        }

    def case_metric(self, metric: str, conds: dict[str, Any], dept_open: Any, dept_any: Any) -> Any:
        """The condition of a case metric with the department relation (``dept_*`` None: none)."""
        def rel(cond: Any, r: Any) -> Any:
            return cond if r is None else and_(cond, r)
        if metric == "overdue_all":
            return or_(rel(conds["overdue_cases"], dept_open), rel(conds["closed_late"], dept_any))
        return rel(conds[metric], dept_open if metric in ("open_cases", "warning_cases", "overdue_cases")
                   else dept_any)

    def dept_relations(self, depts: tuple[str, ...] | None, case_id: Any = PI.id) -> tuple[Any, Any]:
        """(an open task of one of ``depts``, any task of one of them) as conditions on ``case_id`` (PI.id, or
        CC.instance_id where the cases are not joined); (None, None) when there is no department restriction."""
        if depts is None:
            return None, None
        if not depts:
            return false(), false()
        base = select(T.instance_id).select_from(Task.__table__.join(TaskIdentityLink.__table__,
                                                                     L.task_id == T.id))
        any_task = case_id.in_(base.where(L.group_id.in_(depts)))
        open_task = case_id.in_(base.where(L.group_id.in_(depts), T.state == "ACTIVE"))
        return open_task, any_task

    # the task side
    def task_conditions(self) -> dict[str, Any]:
        is_open = T.state == "ACTIVE"
        overdue = and_(T.due.is_not(None), T.due < self.now)
        return {"open_tasks": is_open,
                "warning_tasks": and_(is_open, not_(overdue), T.follow_up.is_not(None), T.follow_up <= self.now),
                "overdue_tasks": and_(is_open, overdue)}


def _data_version(session: Session) -> int:
    """The newest history event's id: every command that changes what the dashboard counts records one."""
    return int(session.execute(select(func.max(HistoryEvent.id))).scalar() or 0)


def _needed_supplement() -> Any:
    """The case needed 补正: a ``supplement`` suspension, or the intake's ``supplementRequested`` variable true."""
    return or_(exists().where(_SUSP.c.instance_id == PI.id, _SUSP.c.kind == "supplement"),
               exists().where(V.instance_id == PI.id, V.name == SUPPLEMENT_VARIABLE, V.value_json == "true"))


def _count(cond: Any) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(v for v in (text or "").split(",") if v)


# --- the service -----------------------------------------------------------------------------------------------
class SupervisionService:
    """``engine.supervision``: ``report(access, filter)`` and ``cases/tasks`` lists (``list_page``, ``iter_rows``).

    ``cache_seconds`` (0 = off, the default; the web app sets it): a report of a (scope, filter) is kept per process.
    It is served as it is while it is younger than ``cache_seconds`` (engine clock and wall clock) and nothing was
    written since (the newest history event is the same). Otherwise it is computed again before answering when that
    is cheap (the last computation took under ``CHEAP_SECONDS``: small databases always see fresh numbers), and
    when it is not, the old report is served while a background thread computes the next one (stale while
    revalidate), for up to ``STALE_FACTOR`` × ``cache_seconds``; older ones, or when the engine clock moved back,
    are computed before answering. ``Report.now`` says when a report was computed. With 100,000 open tasks a report
    takes a second or more on SQLite (docs/performance.md, Web pages)."""

    STALE_FACTOR = 4
    CACHE_ENTRIES = 256
    CHEAP_SECONDS = 0.25

    def __init__(self, ex: Any) -> None:
        self._ex = ex
        self.cache_seconds = 0.0
        self._cache: dict[Any, tuple[float, Report]] = {}
        self._refreshing: set[Any] = set()
        self._lock = threading.Lock()

    # helpers
    def _bounds(self, flt: SupervisionFilter) -> tuple[datetime | None, datetime | None]:
        tz = self._ex.services.tz
        lo = datetime.combine(flt.start, time(0), tz) if flt.start else None
        hi = datetime.combine(flt.end + timedelta(days=1), time(0), tz) if flt.end else None
        return lo, hi

    @staticmethod
    def _depts(scope: tuple[str, ...] | None, flt: SupervisionFilter) -> tuple[str, ...] | None:
        """The department restriction: the filter's department within the scope."""
        if flt.department:
            return (flt.department,) if scope is None or flt.department in scope else ()
        return scope

    @staticmethod
    def _names(session: Session) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """(department id -> name, definition key -> name of its latest version, definition id -> key)."""
        depts = {gid: name for gid, name, kind in session.execute(
            select(Group.id, Group.name, Group.type)) if kind == "department"}
        item_names: dict[str, str] = {}
        def_keys: dict[str, str] = {}
        for did, key, name, _version in session.execute(select(
                ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version)
                .order_by(ProcessDefinition.key, ProcessDefinition.version)):
            item_names[key] = name or key
            def_keys[did] = key
        return depts, item_names, def_keys

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """(department id -> name, service item key -> name) for labels."""
        def q(session: Session) -> tuple[dict[str, str], dict[str, str]]:
            depts, items, _keys = self._names(session)
            return depts, items
        return self._ex.read(q)

    # the report
    def report(self, access: Any, flt: SupervisionFilter | None = None) -> Report:
        scope = scope_of(access)
        flt = (flt or SupervisionFilter()).checked()
        ttl = float(self.cache_seconds or 0)
        if ttl <= 0:
            return self._compute(scope, flt)[0]
        key = (scope, flt)
        version = self._ex.read(_data_version)
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None:
            wall, cost, seen, report = entry
            moved = (self._ex.clock.now() - report.now).total_seconds()
            age = max(time_module.monotonic() - wall, moved)
            if moved >= 0:
                if age <= ttl and seen == version:
                    return report
                if cost >= self.CHEAP_SECONDS and age <= ttl * self.STALE_FACTOR:
                    self._refresh_later(key, scope, flt)
                    return report
        return self._compute(scope, flt, version)[0]

    def _compute(self, scope: tuple[str, ...] | None, flt: SupervisionFilter,
                 version: int | None = None) -> tuple[Report, float]:
        started = time_module.monotonic()
        now = self._ex.clock.now()
        if version is None and self.cache_seconds and self.cache_seconds > 0:
            version = self._ex.read(_data_version)
        report = self._ex.read(lambda s: self._report(s, scope, flt, now))
        cost = time_module.monotonic() - started
        if self.cache_seconds and self.cache_seconds > 0:
            with self._lock:
                self._cache[(scope, flt)] = (time_module.monotonic(), cost, version, report)
                while len(self._cache) > self.CACHE_ENTRIES:
                    self._cache.pop(min(self._cache, key=lambda k: self._cache[k][0]))
        return report, cost

    def _refresh_later(self, key: Any, scope: tuple[str, ...] | None, flt: SupervisionFilter) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                self._compute(scope, flt)
            except Exception:  # noqa: BLE001 - the next request computes it (and shows the error)
                with self._lock:
                    self._cache.pop(key, None)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name="supervision-refresh", daemon=True).start()

    def _report(self, session: Session, scope: tuple[str, ...] | None, flt: SupervisionFilter,
                now: datetime) -> Report:
        conn = session.connection()
        lo, hi = self._bounds(flt)
        depts = self._depts(scope, flt)
        sql = _Sql(now, lo, hi, depts)
        dept_names, item_names, def_keys = self._names(session)
        item_defs = [d for d, k in def_keys.items() if k == flt.item] if flt.item else None
        by_dept: dict[str, Figures] = {}
        by_item: dict[str, Figures] = {}

        def add(table: dict[str, Figures], key: str, row: Any, names: tuple[str, ...]) -> None:
            fig = table.setdefault(key, Figures())
            for n in names:
                setattr(fig, n, getattr(fig, n) + int(getattr(row, n) or 0))

        def allowed(group: str) -> bool:
            return depts is None or group in depts

        link_join = Task.__table__.join(TaskIdentityLink.__table__, L.task_id == T.id)
        task_case = Task.__table__.outerjoin(CaseClock.__table__, CC.instance_id == T.instance_id).outerjoin(
            OPEN_SUSP, and_(OS.instance_id == T.instance_id, OS.ended_at.is_(None)))
        _running, c_warning, c_overdue = sql.case_signals()
        c_open = or_(CC.state.is_(None), CC.state != "STOPPED")  # an open task's case is open unless its clock
        tconds = sql.task_conditions()                              # stopped (办结 at its clockStop activity)

        def distinct(cond: Any) -> Any:
            return func.count(func.distinct(case((cond, T.instance_id), else_=None)))

        open_cols = (distinct(c_open).label("open_cases"), distinct(and_(c_open, c_warning)).label("warning_cases"),
                     distinct(and_(c_open, c_overdue)).label("overdue_cases"))
        task_cols = (func.count().label("open_tasks"), _count(tconds["warning_tasks"]).label("warning_tasks"),
                     _count(tconds["overdue_tasks"]).label("overdue_tasks"))
        snap_cases = ("open_cases", "warning_cases", "overdue_cases")

        # 1. open tasks and the open cases they hold, per (candidate groups, definition): one scan of the open
        # tasks. A case has one definition, so per combination of groups the distinct counts add up over
        # definitions; a department found in one combination only is exact from it, the others are counted
        # below with the task's identity links.
        stmt = select(T.candidate_groups, T.definition_id, *task_cols, *open_cols).select_from(task_case).where(
            T.state == "ACTIVE")
        if item_defs is not None:
            stmt = stmt.where(T.definition_id.in_(item_defs))
        rows = conn.execute(stmt.group_by(T.candidate_groups, T.definition_id)).all()
        combos: dict[str, set[str]] = {}
        for r in rows:
            for g in _split(r.candidate_groups):
                combos.setdefault(g, set()).add(r.candidate_groups)
        ambiguous = sorted(g for g, found in combos.items() if len(found) > 1 and allowed(g))
        for r in rows:
            mine = [g for g in _split(r.candidate_groups) if allowed(g)]
            if depts is not None and not mine:
                continue
            add(by_item, def_keys.get(r.definition_id, r.definition_id), r, TASK_METRICS)
            for g in mine:
                add(by_dept, g, r, TASK_METRICS + (() if g in ambiguous else snap_cases))
        if ambiguous:
            stmt = (select(L.group_id, *open_cols).select_from(task_case.join(TaskIdentityLink.__table__,
                                                                               L.task_id == T.id))
                    .where(T.state == "ACTIVE", L.group_id.in_(ambiguous)))
            if item_defs is not None:
                stmt = stmt.where(T.definition_id.in_(item_defs))
            for r in conn.execute(stmt.group_by(L.group_id)):
                add(by_dept, r.group_id, r, snap_cases)

        conds = sql.case_conditions()
        dept_open, dept_any = sql.dept_relations(depts)

        def restricted(stmt: Any, relation: Any) -> Any:
            if flt.item:
                stmt = stmt.where(PI.definition_key == flt.item)
            return stmt if relation is None else stmt.where(relation)

        # 2. open cases per service item (each case once)
        stmt = select(PI.definition_key, *(_count(conds[n]).label(n) for n in snap_cases)).select_from(
            sql.case_from()).where(conds["open_cases"])
        for r in conn.execute(restricted(stmt, dept_open).group_by(PI.definition_key)):
            add(by_item, r.definition_key, r, snap_cases)

        # 3. received (and 补正) in the period, per item and per department (cases with a task of it)
        received = ("received", "supplement")
        stmt = select(PI.definition_key, func.count().label("received"),
                      _count(conds["supplement"]).label("supplement")).where(conds["received"])
        for r in conn.execute(restricted(stmt, dept_any).group_by(PI.definition_key)):
            add(by_item, r.definition_key, r, received)
        # per department: the cases needing 补正 are one small derived table (not two EXISTS per task row)
        needed = union(select(_SUSP.c.instance_id.label("iid")).where(_SUSP.c.kind == "supplement"),
                       select(V.instance_id).where(V.name == SUPPLEMENT_VARIABLE, V.value_json == "true")
                       ).subquery("needed")
        pid = PI.id
        stmt = (select(L.group_id, func.count(func.distinct(pid)).label("received"),
                       func.count(func.distinct(needed.c.iid)).label("supplement"))
                .select_from(ProcessInstance.__table__.join(link_join, T.instance_id == PI.id)
                             .outerjoin(needed, needed.c.iid == PI.id))
                .where(conds["received"], L.group_id.is_not(None)))
        if depts is not None:
            stmt = stmt.where(L.group_id.in_(depts) if depts else false())
        for r in conn.execute(restricted(stmt, None).group_by(L.group_id)):
            add(by_dept, r.group_id, r, received)

        # 4. closed in the period: counts per item and per department, and the net working days
        closed = ("closed", "closed_timed", "closed_on_time", "closed_late")
        closed_from = CaseClock.__table__.join(ProcessInstance.__table__, PI.id == CC.instance_id)
        stmt = select(PI.definition_key, *(_count(conds[n]).label(n) for n in closed)).select_from(
            closed_from).where(conds["closed"])
        for r in conn.execute(restricted(stmt, dept_any).group_by(PI.definition_key)):
            add(by_item, r.definition_key, r, closed)
        cid = CC.instance_id
        stmt = (select(L.group_id, *(func.count(func.distinct(case((conds[n], cid), else_=None))).label(n)
                                     for n in closed))
                .select_from(closed_from.join(link_join, T.instance_id == CC.instance_id))
                .where(conds["closed"], L.group_id.is_not(None)))
        if depts is not None:
            stmt = stmt.where(L.group_id.in_(depts) if depts else false())
        for r in conn.execute(restricted(stmt, None).group_by(L.group_id)):
            add(by_dept, r.group_id, r, closed)
        stmt = select(PI.id, PI.definition_key, CC.region, CC.accepted_at, CC.stopped_at,
                      CC.suspended_days).select_from(closed_from).where(conds["closed"])
        done = conn.execute(restricted(stmt, dept_any)).all()
        if done:
            durations = dict(zip((r.id for r in done), self._durations(
                session, [(r.region, r.accepted_at, r.stopped_at, r.suspended_days) for r in done])))
            for r in done:
                by_item.setdefault(r.definition_key, Figures()).durations.append(durations[r.id])
            stmt = (select(CC.instance_id, L.group_id).distinct()
                    .select_from(closed_from.join(link_join, T.instance_id == CC.instance_id))
                    .where(conds["closed"], L.group_id.is_not(None)))
            if depts is not None:
                stmt = stmt.where(L.group_id.in_(depts) if depts else false())
            for iid, g in conn.execute(restricted(stmt, None)):
                by_dept.setdefault(g, Figures()).durations.append(durations[iid])

        total = Figures()
        for fig in by_item.values():
            for n in snap_cases + received + closed + TASK_METRICS:
                setattr(total, n, getattr(total, n) + getattr(fig, n))
            total.durations.extend(fig.durations)

        # the rows: every department in scope (with zeros), every item with a number
        shown = set(by_dept)
        if depts is not None:
            shown |= set(depts)
        elif not flt.department:
            shown |= set(dept_names)
        dept_rows = [Row(d, dept_names.get(d, d), by_dept.get(d, Figures())) for d in sorted(shown)]
        items = {k for k, f in by_item.items() if f.durations or any(
            getattr(f, n) for n in snap_cases + received + closed + TASK_METRICS)} | ({flt.item} if flt.item else set())
        item_rows = [Row(k, item_names.get(k, k), by_item.get(k, Figures())) for k in sorted(items)]
        return Report(now=now, filter=flt, scope=scope, departments=dept_rows, items=item_rows, total=total,
                      department_names=dept_names, item_names=item_names)

    def _durations(self, session: Session, rows: list[tuple[str | None, datetime, datetime, int | None]]) -> list[int]:
        """Net working days per closed case: working days after the 受理日 up to the 办结日 (the counting of
        deadlines: the day of acceptance is not counted) minus the suspended working days; one calendar count per
        distinct (region, 受理日, 办结日)."""
        store = self._ex.services.calendar
        cals: dict[str | None, Any] = {}
        memo: dict[tuple[str | None, date, date], int] = {}
        out = []
        for region, accepted, closed, suspended in rows:
            cal = cals.get(region)
            if cal is None:
                cal = cals[region] = store.from_session(session, region)
            first, last = accepted.astimezone(cal.tz).date(), closed.astimezone(cal.tz).date()
            key = (region, first, last)
            if key not in memo:
                memo[key] = _between(cal, first + timedelta(days=1), last) if last > first else 0
            out.append(max(0, memo[key] - int(suspended or 0)))
        return out

    # the lists
    def list_page(self, access: Any, metric: str, flt: SupervisionFilter | None = None, *, offset: int = 0,
                  limit: int | None = 50) -> ListPage:
        """The cases or tasks behind a number, ordered by deadline (soonest first; cases with the same deadline by
        受理时间, then id, the cases without a deadline last by receipt, then id; tasks by creation): one count, one
        page (the ids of the page first where that spares reading every row of a long list: tasks, open, warning,
        overdue and received cases), one read of the page's tasks (departments and steps)."""
        scope = scope_of(access)
        metric = metric_name(metric)
        flt = (flt or SupervisionFilter()).checked()
        if offset < 0 or (limit is not None and limit < 1):
            raise InvalidInput(f"offset must be >= 0 and limit >= 1, got {offset} and {limit}")
        now = self._ex.clock.now()
        return self._ex.read(lambda s: self._list(s, scope, metric, flt, now, offset, limit))

    def iter_rows(self, access: Any, metric: str, flt: SupervisionFilter | None = None, *,
                  batch: int = 2000) -> Iterator[Any]:
        """Every row of a list (the CSV export), read ``batch`` rows per query."""
        offset = 0
        while True:
            page = self.list_page(access, metric, flt, offset=offset, limit=batch)
            yield from page.rows
            offset += batch
            if offset >= page.total or not page.rows:
                return

    def _list(self, session: Session, scope: tuple[str, ...] | None, metric: str, flt: SupervisionFilter,
              now: datetime, offset: int, limit: int | None) -> ListPage:
        conn = session.connection()
        lo, hi = self._bounds(flt)
        depts = self._depts(scope, flt)
        sql = _Sql(now, lo, hi, depts)
        dept_names, item_names, def_keys = self._names(session)
        kind = METRICS[metric][0]
        if kind == "task":
            cond = sql.task_conditions()[metric]
            if depts is not None:
                cond = and_(cond, _tasks_of(depts, conn.dialect.name) if depts else false())
            frm = Task.__table__.join(ProcessInstance.__table__, PI.id == T.instance_id)
            where = [cond] + ([PI.definition_key == flt.item] if flt.item else [])
            # the count and the page's ids read the cases only for the item filter (every task has its case: a
            # foreign key); the page's rows are read by id afterwards. Deadline order, none last, in the order of
            # the (state, due) index where the database can (the first page of 70,000 overdue tasks without
            # sorting them all): PostgreSQL ``due NULLS LAST``; SQLite (NULL first in an index) ``due`` for the
            # overdue tasks, which all have one, else ``due IS NULL, due``
            searched = frm if flt.item else Task.__table__
            total = int(conn.execute(select(func.count()).select_from(searched).where(*where)).scalar() or 0)
            if conn.dialect.name == "postgresql":
                by_due = [T.due.asc().nulls_last()]
            else:
                by_due = [T.due] if metric == "overdue_tasks" else [T.due.is_(None), T.due]
            stmt = select(T.id).select_from(searched).where(*where).order_by(*by_due, T.created, T.id).offset(offset)
            ids = [r[0] for r in conn.execute(stmt if limit is None else stmt.limit(limit))]
            by_id: dict[str, Any] = {}
            for chunk in range(0, len(ids), 500):
                for r in conn.execute(select(T.id, T.name, T.instance_id, T.candidate_groups, T.assignee, T.created,
                                             T.due, T.follow_up, PI.business_key, PI.definition_key)
                                      .select_from(frm).where(T.id.in_(ids[chunk:chunk + 500]))):
                    by_id[r.id] = r
            rows = []
            for r in (by_id[i] for i in ids if i in by_id):
                overdue = r.due is not None and now > r.due
                signal = "OVERDUE" if overdue else ("WARNING" if r.follow_up is not None and now >= r.follow_up
                                                    else "ON_TIME")
                rows.append(TaskRow(r.id, r.name, r.instance_id, r.business_key, r.definition_key,
                                    item_names.get(r.definition_key, r.definition_key),
                                    tuple(dept_names.get(g, g) for g in _split(r.candidate_groups)), r.assignee,
                                    r.created, r.due, r.follow_up, signal))
            return ListPage(metric, kind, total, rows)

        due = func.coalesce(CC.promised_due, CC.legal_due)
        closed_at = func.coalesce(CC.stopped_at, PI.ended_at)
        supplement = _needed_supplement()
        frm = sql.case_from(metric not in ("open_cases", "received", "supplement"))  # the others need a clock
        stmt = select(PI.id, PI.business_key, PI.definition_key, PI.state, PI.started_at, CC.state.label("clock"),
                      CC.region, CC.accepted_at, CC.warn_at, CC.suspended_days, due.label("due"),
                      closed_at.label("closed_at"), CC.stopped_at, OS.started_at.label("suspended_since"),
                      case((supplement, 1), else_=0).label("supplement")).select_from(frm)
        by_ids = None
        if metric in _RUNNING_CLOCK_LISTS and not flt.item:
            by_ids = self._running_clock_ids(conn, sql, metric, depts, offset, limit)
        elif metric == "open_cases":
            by_ids = self._open_case_ids(conn, sql, depts, flt.item, offset, limit,
                                         self._reported(session, scope, flt, metric))
        elif metric == "received":
            by_ids = self._received_ids(conn, sql, depts, flt.item, offset, limit)
        if by_ids is not None:
            total, ids = by_ids
            found_by_id: dict[str, Any] = {}
            for chunk in range(0, len(ids), 500):
                for r in conn.execute(stmt.where(PI.id.in_(ids[chunk:chunk + 500]))):
                    found_by_id[r.id] = r
            found = [found_by_id[i] for i in ids if i in found_by_id]
        else:
            conds = sql.case_conditions()
            dept_open, dept_any = sql.dept_relations(depts)
            where = [sql.case_metric(metric, conds, dept_open, dept_any)]
            if flt.item:
                where.append(PI.definition_key == flt.item)
            total = int(conn.execute(select(func.count()).select_from(frm).where(*where)).scalar() or 0)
            stmt = stmt.where(*where).order_by(*_case_order(due)).offset(offset)
            found = conn.execute(stmt if limit is None else stmt.limit(limit)).all()
        tasks: dict[str, list[Any]] = {}
        ids = [r.id for r in found]
        for chunk in range(0, len(ids), 500):
            for t in conn.execute(select(T.instance_id, T.name, T.state, T.candidate_groups)
                                  .where(T.instance_id.in_(ids[chunk:chunk + 500])).order_by(T.created, T.name, T.id)):
                tasks.setdefault(t.instance_id, []).append(t)
        closed_rows = [(r.region, r.accepted_at, r.stopped_at, r.suspended_days) for r in found
                       if r.clock == "STOPPED" and r.accepted_at is not None and r.stopped_at is not None]
        net = iter(self._durations(session, closed_rows))
        rows = []
        for r in found:
            mine = tasks.get(r.id, [])
            open_tasks = [t for t in mine if t.state == "ACTIVE"]
            shown = open_tasks if metric in ("open_cases", "warning_cases", "overdue_cases") or open_tasks else mine
            groups = tuple(dict.fromkeys(g for t in shown for g in _split(t.candidate_groups)))
            is_closed = r.clock == "STOPPED" and r.accepted_at is not None and r.stopped_at is not None
            rows.append(CaseRow(
                instance_id=r.id, business_key=r.business_key, item=r.definition_key,
                item_name=item_names.get(r.definition_key, r.definition_key),
                departments=tuple(dept_names.get(g, g) for g in groups),
                steps=tuple(t.name or "" for t in open_tasks), state=_case_state(r),
                signal=_case_signal(r, now), received_at=r.started_at, accepted_at=r.accepted_at, due=r.due,
                closed_at=r.closed_at if (is_closed or r.state == "COMPLETED") else None,
                net_days=next(net) if is_closed else None, supplement=bool(r.supplement)))
        return ListPage(metric, kind, total, rows)


    @staticmethod
    def _running_clock_ids(conn: Any, sql: _Sql, metric: str, depts: tuple[str, ...] | None, offset: int,
                           limit: int | None) -> tuple[int, list[str]]:
        """The warning or overdue cases (``_RUNNING_CLOCK_LISTS``) from their clocks alone: (how many, the ids of
        the page in the list's order — deadline, then 受理时间, then id). The case table is not read: a clock that
        runs or is suspended belongs to an open case (the engine stops a case's clock in the transaction that ends
        the case: ``caseclock.on_save``), and reading the case rows of 13,000 overdue cases for their state and
        receipt time took 40-70 ms per statement (docs/performance.md, Web pages); the page's rows are read
        afterwards by id."""
        _running, warning, overdue = sql.case_signals()
        where = [warning if metric == "warning_cases" else overdue]
        dept_open = sql.dept_relations(depts, CC.instance_id)[0]
        if dept_open is not None:
            where.append(dept_open)
        frm = CaseClock.__table__.outerjoin(OPEN_SUSP, and_(OS.instance_id == CC.instance_id, OS.ended_at.is_(None)))
        total = int(conn.execute(select(func.count()).select_from(frm).where(*where)).scalar() or 0)
        due = func.coalesce(CC.promised_due, CC.legal_due)
        stmt = (select(CC.instance_id).select_from(frm).where(*where)
                .order_by(due.is_(None), due, CC.accepted_at, CC.instance_id).offset(offset))
        return total, [r[0] for r in conn.execute(stmt if limit is None else stmt.limit(limit))]


    def _reported(self, session: Session, scope: tuple[str, ...] | None, flt: SupervisionFilter,
                  metric: str) -> int | None:
        """``metric``'s number in the kept report of the same scope and filter (``cache_seconds``) when that report
        was computed on the data as they are now (no history event since): the number the user clicked, which is
        the list's length by definition, so the list need not count again. None when there is no such report."""
        if not self.cache_seconds or self.cache_seconds <= 0:
            return None
        with self._lock:
            entry = self._cache.get((scope, flt))
        if entry is None or entry[2] is None or entry[2] != _data_version(session):
            return None
        return entry[3].total.value(metric)

    @staticmethod
    def _open_case_ids(conn: Any, sql: _Sql, depts: tuple[str, ...] | None, item: str | None, offset: int,
                       limit: int | None, known: int | None = None) -> tuple[int, list[str]]:
        """The open cases (在办件) without reading their rows: (how many, the ids of the page in the list's order).
        First those with a deadline: each has a running or suspended clock, and such a clock belongs to an open
        case (as for ``_running_clock_ids``), so they are counted and paged from case_clock's partial deadline
        indexes — by ``promised_due``, and by ``legal_due`` for the clocks without a promised deadline, the two
        merged in deadline order (then 受理时间, then id) — instead of joining 50,000 case rows and sorting them;
        after them the open cases without a deadline (no clock, a clock not started, no limits) in receipt order,
        from process_instance(state, started_at, id), the cases whose clock stopped before their end (办结 at a
        clockStop activity) left out. One statement counts both parts; the second part is read only when the page
        reaches it. Counting the second part checks every open case's clock (45-100 ms with 50,000 open cases,
        docs/performance.md, Web pages): with ``known`` (the total, from the dashboard's report of the same data,
        ``_reported``) only the first part is counted, from its indexes."""
        dept_open = sql.dept_relations(depts, CC.instance_id)[0]
        timed_where = [] if dept_open is None else [dept_open]
        has_due = or_(CC.promised_due.is_not(None), CC.legal_due.is_not(None))
        timed_clock = or_(CC.state == "STOPPED", and_(_clock_runs(), has_due))  # stopped, or in the first part
        rest_where = [PI.state.in_(("ACTIVE", "SUSPENDED")), ~exists().where(CC.instance_id == PI.id, timed_clock)]
        if dept_open is not None:
            rest_where.append(sql.dept_relations(depts)[0])
        if item:
            timed_where.append(CC.instance_id.in_(select(PI.id).where(PI.definition_key == item)))
            rest_where.append(PI.definition_key == item)
        promised = select(CC.instance_id.label("iid"), CC.promised_due.label("due"), CC.accepted_at.label("acc")
                          ).where(_clock_runs(), CC.promised_due.is_not(None), *timed_where)
        legal = select(CC.instance_id.label("iid"), CC.legal_due.label("due"), CC.accepted_at.label("acc")
                       ).where(_clock_runs(), CC.promised_due.is_(None), CC.legal_due.is_not(None), *timed_where)
        rest = select(PI.id).where(*rest_where)

        def counted(stmt: Any) -> Any:
            return select(func.count()).select_from(stmt.subquery()).scalar_subquery()

        if known is None:
            n_promised, n_legal, n_rest = conn.execute(select(counted(promised), counted(legal), counted(rest))).one()
            timed = int(n_promised or 0) + int(n_legal or 0)
            known = timed + int(n_rest or 0)
        else:
            n_promised, n_legal = conn.execute(select(counted(promised), counted(legal))).one()
            timed = int(n_promised or 0) + int(n_legal or 0)
        ids: list[str] = []
        if offset < timed:
            if n_legal:  # clocks with a legal deadline only (rare): both parts merged
                both = union_all(promised, legal).subquery("timed")
                stmt = select(both.c.iid).order_by(both.c.due, both.c.acc, both.c.iid).offset(offset)
            else:  # the page from the index (PostgreSQL did not merge the two index scans of a UNION ALL)
                stmt = promised.order_by(CC.promised_due, CC.accepted_at, CC.instance_id).offset(offset)
            ids = [r[0] for r in conn.execute(stmt if limit is None else stmt.limit(limit))]
        if limit is None or len(ids) < limit:
            stmt = rest.order_by(PI.started_at, PI.id).offset(max(0, offset - timed))
            ids += [r[0] for r in conn.execute(stmt if limit is None else stmt.limit(limit - len(ids)))]
        return known, ids

    @staticmethod
    def _received_ids(conn: Any, sql: _Sql, depts: tuple[str, ...] | None, item: str | None, offset: int,
                      limit: int | None) -> tuple[int, list[str]]:
        """The cases received in the period (收件量) without reading their rows: (how many, the ids of the page in
        the list's order). The count from process_instance(started_at) alone; the page from the received cases'
        clocks in deadline order (then 受理时间, then id), then the received cases without a deadline in receipt
        order — read only when the page reaches them (that needs the number of the first part)."""
        received = [sql.in_period(PI.started_at)]
        dept_any = sql.dept_relations(depts)[1]
        if dept_any is not None:
            received.append(dept_any)
        if item:
            received.append(PI.definition_key == item)
        total = int(conn.execute(select(func.count()).select_from(ProcessInstance.__table__).where(*received))
                    .scalar() or 0)
        due = func.coalesce(CC.promised_due, CC.legal_due)
        legal_only = conn.execute(select(CC.instance_id).where(CC.promised_due.is_(None), CC.legal_due.is_not(None))
                                  .limit(1)).first() is not None
        if legal_only:  # clocks with a legal deadline only (rare): the received cases' clocks sorted
            timed = (select(CC.instance_id.label("iid"), due.label("due"), CC.accepted_at.label("acc"))
                     .select_from(CaseClock.__table__.join(ProcessInstance.__table__, PI.id == CC.instance_id))
                     .where(due.is_not(None), *received))
            stmt = timed.order_by(due, CC.accepted_at, CC.instance_id)
        else:
            # the clocks in deadline order (case_clock(promised_due, accepted_at, instance_id)), those of the
            # period's cases kept: PostgreSQL walks the index when the period holds many of the clocks and sorts
            # the period's clocks when it holds few; SQLite always starts from the period's cases, so there the
            # walk is asked for (the id as an expression: no index lookup from the period) when the period holds
            # at least a quarter of the clocks — else a walk could pass every clock of the years before
            case_id: Any = CC.instance_id
            if conn.dialect.name == "sqlite" and total:
                clocks = int(conn.execute(select(func.count()).select_from(CaseClock.__table__)
                                          .where(CC.promised_due.is_not(None))).scalar() or 0)
                if total * 4 >= clocks:
                    case_id = CC.instance_id.concat("")
            timed = select(CC.instance_id).where(CC.promised_due.is_not(None),
                                                 case_id.in_(select(PI.id).where(*received)))
            stmt = timed.order_by(CC.promised_due, CC.accepted_at, CC.instance_id)
        stmt = stmt.offset(offset)
        ids = [r[0] for r in conn.execute(stmt if limit is None else stmt.limit(limit))]
        if limit is None or len(ids) < limit:
            n_timed = int(conn.execute(select(func.count()).select_from(timed.subquery())).scalar() or 0)
            rest = (select(PI.id).where(*received, ~exists().where(CC.instance_id == PI.id, due.is_not(None)))
                    .order_by(PI.started_at, PI.id).offset(max(0, offset - n_timed)))
            ids += [r[0] for r in conn.execute(rest if limit is None else rest.limit(limit - len(ids)))]
        return total, ids


def _clock_runs() -> Any:
    """The clock runs or is suspended, with the states as constants in the SQL: the condition of case_clock's
    partial deadline indexes (``models.OPEN_CLOCK``), which SQLite matches only against constants (when it prepares
    the statement), as PostgreSQL does in a prepared statement's generic plan."""
    return CC.state.in_([literal_column("'RUNNING'"), literal_column("'SUSPENDED'")])


def _case_order(due: Any) -> tuple[Any, ...]:
    """The order of the case lists: the cases with a deadline first, by deadline, then 受理时间, then id; then the
    cases without one by 收件时间 (receipt), then id — the order in which ``_running_clock_ids`` and
    ``_open_case_ids`` read them from their indexes."""
    return (due.is_(None), due, case((due.is_(None), None), else_=CC.accepted_at),
            case((due.is_(None), PI.started_at), else_=None), PI.id)


def _tasks_of(depts: tuple[str, ...], dialect: str) -> Any:
    """The tasks naming one of ``depts`` as a candidate group. PostgreSQL: ``task.id = ANY(<their ids, aggregated
    once>)``, fetched by primary key; for ``IN (subquery)`` the planner scanned every task in parallel workers and
    hashed them against the department's links, 35 ms per statement with 100,000 open tasks (as for the inbox:
    engine.tasks.queries._groups_any)."""
    if dialect != "postgresql":
        return T.id.in_(select(L.task_id).where(L.group_id.in_(depts)))
    from sqlalchemy import ARRAY, String, any_, cast

    ids = select(func.array_agg(L.task_id)).where(L.group_id.in_(depts)).scalar_subquery()
    return T.id == any_(cast(ids, ARRAY(String)))


# the case lists read from the case clocks alone (SupervisionService._running_clock_ids)
_RUNNING_CLOCK_LISTS = ("warning_cases", "overdue_cases")


def _between(cal: Any, first: date, last: date) -> int:
    """Working days in first..last; a year without calendar data counts Monday-Friday (as the clock's estimate)."""
    try:
        return int(cal.working_days_between(first, last))
    except CalendarYearUnknown:
        count, day = 0, first
        while day <= last:
            try:
                count += cal.is_working_day(day)
            except CalendarYearUnknown:
                count += day.weekday() < 5
            day += timedelta(days=1)
        return count


def _case_state(r: Any) -> str:
    if r.state == "TERMINATED":
        return "终止"
    if r.clock == "STOPPED" and r.accepted_at is not None or r.state == "COMPLETED":
        return "办结"
    if r.clock == "SUSPENDED":
        return "挂起"
    if r.clock == "WAITING":
        return "待受理"
    return "在办"


def _case_signal(r: Any, now: datetime) -> str:
    if r.clock not in ("RUNNING", "SUSPENDED", "STOPPED") or r.due is None or r.accepted_at is None:
        return "ON_TIME"
    at = r.stopped_at if r.clock == "STOPPED" else (r.suspended_since or now)
    if at is not None and at > r.due:
        return "OVERDUE"
    if r.clock != "STOPPED" and r.warn_at is not None and at >= r.warn_at:
        return "WARNING"
    return "ON_TIME"


__all__ = ["METRICS", "CaseRow", "Figures", "ListPage", "Report", "Row", "SupervisionFilter",
           "SupervisionService", "TaskRow", "p90", "scope_of"]
