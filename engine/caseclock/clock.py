"""The clock of a case (承诺时限/法定时限) and its jobs.

Life of a clock: WAITING (received, not yet accepted) → RUNNING (accepted: deadlines set) ⇄ SUSPENDED (挂起) →
STOPPED (办结). Deadlines are computed, never stored as limits alone:

    promised_due = accepted_at + promisedLimit + extended working days + suspended working days
    legal_due    = accepted_at + legalLimit    + extended working days + suspended working days
    warn_at      = promised_due - warnBefore (default: max(1, ceil(20% of the limit)) working days)

A suspension from day A to day B moves every deadline of the case (the case's, its open tasks' due and followUp,
their jobs, and BPMN timers written in working days) by the working days in A..B, both included
(domain.md §1.6: accepted 2026-04-01 + 10 wd = 04-16; suspended 04-08..04-14 = 5 wd → 04-23).
A year with no calendar data gives a Monday–Friday estimate flagged ``provisional``; ``recompute_provisional``
replaces it once the year is known.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from engine.calendar import CalendarYearUnknown, WorkingCalendar
from engine.errors import Conflict, InvalidInput, NotFound
from engine.jobs.handlers import handler
from engine.persistence.models import CaseClock, CaseExtension, CaseSuspension, Job, ProcessInstance, Task

from . import config
from .config import local_text

CASE_JOBS = ("case-warning", "case-overdue", "case-legal-overdue")
TASK_JOBS = ("task-warning", "task-timeout")
# the task jobs that stop with the clock and move when it resumes: its deadline jobs and its timeout listeners
CLOCK_TASK_JOBS = TASK_JOBS + ("task-listener-timeout",)
SUSPENSION_KINDS = ("supplement", "expert-review", "public-notice", "site-inspection", "hearing", "testing",
                    "other")
KIND_NAMES = {"supplement": "补正", "expert-review": "专家评审", "public-notice": "公示", "site-inspection": "现场勘验",
              "hearing": "听证", "testing": "检验检测", "other": "其他"}
_J = Job.__table__
_PAUSE = (update(_J).where(_J.c.instance_id == bindparam("iid"), _J.c.state == "PENDING",
                           _J.c.job_type.in_(CASE_JOBS + CLOCK_TASK_JOBS))
          .values(state="PAUSED", version=_J.c.version + 1))


class _Estimating(WorkingCalendar):
    """The calendar, but a year without data counts Monday–Friday and says so (``estimated``)."""

    estimated: bool = False

    def is_working_day(self, day: Any) -> bool:
        try:
            return super().is_working_day(day)
        except CalendarYearUnknown:
            self.estimated = True
            return day.weekday() < 5


def calendar_for(uow: Any, region: str | None = None) -> _Estimating:
    base = uow.services.calendar.from_session(uow.session, region)
    return _Estimating(base.tz, base.office_hours, base.overrides, base.added_years)


def model_config(model: Any) -> config.ClockConfig | None:
    cached = getattr(model, "_clock_config", False)
    if cached is False:
        meta = model.meta.get(f"@process:{model.spec.name}")
        cached = config.clock_config(meta.properties) if meta is not None else None
        object.__setattr__(model, "_clock_config", cached)
    return cached  # type: ignore[return-value]


# --- views ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClockView:
    instance_id: str
    business_key: str | None
    state: str
    signal: str  # ON_TIME WARNING OVERDUE (and for a stopped clock: whether it stopped in time)
    promised_limit: str | None
    legal_limit: str | None
    accepted_at: datetime | None
    promised_due: datetime | None
    legal_due: datetime | None
    warn_at: datetime | None
    provisional: bool
    suspended_days: int
    extended_days: int
    working_days_left: int | None
    stopped_at: datetime | None
    suspensions: tuple[dict[str, Any], ...] = ()
    extensions: tuple[dict[str, Any], ...] = ()
    region: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v is not None else None
        return {"instanceId": self.instance_id, "businessKey": self.business_key, "state": self.state,
                "signal": self.signal, "promisedLimit": self.promised_limit, "legalLimit": self.legal_limit,
                "acceptedAt": iso(self.accepted_at), "promisedDue": iso(self.promised_due),
                "legalDue": iso(self.legal_due), "warnAt": iso(self.warn_at), "provisional": self.provisional,
                "suspendedWorkingDays": self.suspended_days, "extendedWorkingDays": self.extended_days,
                "workingDaysLeft": self.working_days_left, "stoppedAt": iso(self.stopped_at),
                "region": self.region, "suspensions": list(self.suspensions), "extensions": list(self.extensions)}


def signal_of(clock: CaseClock, now: datetime, suspended_since: datetime | None = None) -> str:
    """Green/yellow/red of a case: a suspended clock shows the signal it had when it stopped counting; a stopped
    one whether it stopped by its deadline."""
    if clock.state == "WAITING" or clock.promised_due is None and clock.legal_due is None:
        return "ON_TIME"
    due = clock.promised_due or clock.legal_due
    at = clock.stopped_at if clock.state == "STOPPED" else (suspended_since or now)
    if at is not None and due is not None and at > due:
        return "OVERDUE"
    if clock.state != "STOPPED" and clock.warn_at is not None and at is not None and at >= clock.warn_at:
        return "WARNING"
    return "ON_TIME"


def clock_view(session: Any, uow_or_services: Any, clock: CaseClock, now: datetime) -> ClockView:
    services = getattr(uow_or_services, "services", uow_or_services)
    row = session.get(ProcessInstance, clock.instance_id)
    suspensions = session.scalars(select(CaseSuspension).where(CaseSuspension.instance_id == clock.instance_id)
                                  .order_by(CaseSuspension.started_at)).all()
    extensions = session.scalars(select(CaseExtension).where(CaseExtension.instance_id == clock.instance_id)
                                 .order_by(CaseExtension.approved_at)).all()
    # rows this command added (not flushed yet) belong to the view too
    pending = [o for o in session.new if getattr(o, "instance_id", None) == clock.instance_id]
    suspensions = sorted({*suspensions, *[o for o in pending if isinstance(o, CaseSuspension)]},
                         key=lambda s: s.started_at)
    extensions = sorted({*extensions, *[o for o in pending if isinstance(o, CaseExtension)]},
                        key=lambda e: e.approved_at)
    open_since = next((s.started_at for s in suspensions if s.ended_at is None), None)
    left = None
    due = clock.promised_due or clock.legal_due
    if due is not None and clock.state in ("RUNNING", "SUSPENDED"):
        base = services.calendar.from_session(session, clock.region)
        left = config.working_days_left(_Estimating(base.tz, base.office_hours, base.overrides, base.added_years),
                                        open_since or now, due)
    tz = services.tz

    def local(v: datetime | None) -> datetime | None:  # every instant of the view in the service centre's zone
        return v.astimezone(tz) if v is not None else None

    def text(v: datetime | None) -> str | None:
        return v.astimezone(tz).isoformat() if v is not None else None

    return ClockView(
        instance_id=clock.instance_id, business_key=row.business_key if row else None, state=clock.state,
        signal=signal_of(clock, now, open_since), promised_limit=clock.promised_limit,
        legal_limit=clock.legal_limit, accepted_at=local(clock.accepted_at), promised_due=local(clock.promised_due),
        legal_due=local(clock.legal_due), warn_at=local(clock.warn_at), provisional=clock.provisional,
        suspended_days=clock.suspended_days, extended_days=clock.extended_days, working_days_left=left,
        stopped_at=local(clock.stopped_at), region=clock.region,
        suspensions=tuple({"id": s.id, "kind": s.kind, "kindName": KIND_NAMES.get(s.kind, s.kind),
                           "reason": s.reason, "expectedWorkingDays": s.expected_days,
                           "start": text(s.started_at), "end": text(s.ended_at),
                           "workingDays": s.working_days, "startedBy": s.started_by, "endedBy": s.ended_by}
                          for s in suspensions),
        extensions=tuple({"id": e.id, "days": e.days, "reason": e.reason, "approver": e.approver,
                          "requestedBy": e.requested_by, "approvedAt": text(e.approved_at)}
                         for e in extensions),
    )


# --- computing -----------------------------------------------------------------------------------------------
def _compute(uow: Any, clock: CaseClock) -> None:
    """Set the effective deadlines and the warning time from the limits, extensions and suspensions."""
    cal = calendar_for(uow, clock.region)
    extra = (clock.extended_days or 0) + (clock.suspended_days or 0)
    assert clock.accepted_at is not None
    promised = config.parse_span(clock.promised_limit) if clock.promised_limit else None
    legal = config.parse_span(clock.legal_limit) if clock.legal_limit else None
    clock.promised_due = promised.add(cal, clock.accepted_at, extra) if promised else None
    clock.legal_due = legal.add(cal, clock.accepted_at, extra) if legal else None
    due = clock.promised_due or clock.legal_due
    span = promised or legal
    warn = None
    if due is not None and span is not None:
        if clock.warn_before:
            warn = config.parse_span(clock.warn_before).subtract(cal, due)
        elif span.unit == "wd" and float(span.amount).is_integer() and span.amount >= 1:
            warn = config.back_working_days(cal, due, config.default_warn_days(span))
        else:  # limits under a day or in calendar time: the last fifth of the limit
            warn = due - (due - clock.accepted_at) * 0.2
        warn = max(warn, clock.accepted_at)
    clock.warn_at = warn
    was = clock.provisional
    clock.provisional = cal.estimated
    if cal.estimated and not was:
        uow.record("CaseDeadlineProvisional", instance_id=clock.instance_id,
                   reason="a year on the way has no official calendar data: Monday-Friday estimate",
                   promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due))


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _case_jobs(uow: Any, clock: CaseClock) -> None:
    """One PENDING job per future signal of a RUNNING clock (PAUSED while SUSPENDED), none otherwise."""
    session = uow.session
    existing = {j.job_type: j for j in session.scalars(
        select(Job).where(Job.instance_id == clock.instance_id, Job.job_type.in_(CASE_JOBS),
                          Job.state.in_(("PENDING", "PAUSED", "SUSPENDED"))))}
    desired: dict[str, datetime] = {}
    if clock.state in ("RUNNING", "SUSPENDED"):
        if clock.warn_at is not None and clock.warned_at is None:
            desired["case-warning"] = clock.warn_at
        if clock.promised_due is not None and clock.overdue_at is None:
            desired["case-overdue"] = clock.promised_due
        if clock.legal_due is not None:
            desired["case-legal-overdue"] = clock.legal_due
    instance = session.get(ProcessInstance, clock.instance_id)
    state = "PAUSED" if clock.state == "SUSPENDED" else \
        "SUSPENDED" if instance is not None and instance.state == "SUSPENDED" else "PENDING"
    # jobs this command queued already (a case accepted and ended in one command): adjusted in the queue
    queue = uow.inserts.get(Job.__table__, [])
    for queued in [r for r in queue if r["instance_id"] == clock.instance_id and r["job_type"] in CASE_JOBS]:
        queue.remove(queued)
        if queued["job_type"] in desired and queued["job_type"] not in existing:
            existing_due = desired[queued["job_type"]]
            queue.append({**queued, "due": existing_due, "state": state})
            desired.pop(queued["job_type"])
    for kind, job in existing.items():
        if kind not in desired:
            job.state, job.executed_at = "CANCELLED", uow.now
        else:
            job.due, job.state = desired[kind], state
    for kind, due in desired.items():
        if kind in existing:
            continue
        uow.insert(Job.__table__, id=str(uuid.uuid4()), job_type=kind, instance_id=clock.instance_id,
                   activity_id=None, task_id=None, definition_id=None, payload=None, due=due, state=state,
                   attempts=0, last_error=None, executed_by=None, executed_at=None, retry_at=None, created=uow.now,
                   version=1)
        if state == "PENDING":
            uow.new_job_due(due)


def _rearm(uow: Any, clock: CaseClock) -> None:
    """After the deadlines moved later: a signal that already fired fires again at its new time."""
    if clock.warned_at is not None and clock.warn_at is not None and clock.warn_at > uow.now:
        clock.warned_at = None
    if clock.overdue_at is not None and clock.promised_due is not None and clock.promised_due > uow.now:
        clock.overdue_at = None


# --- hooks from the runtime ----------------------------------------------------------------------------------
def _activity_completed(wf: Any, activity_id: str) -> bool:
    from engine.runtime import spiff

    return any(t.task_spec.bpmn_id == activity_id for t in spiff.all_tasks(wf, spiff.TaskState.COMPLETED)
               if getattr(t.task_spec, "bpmn_id", None))


def _start_time(wf: Any, cfg: config.ClockConfig, now: datetime) -> datetime | None:
    """The earlier acceptance instant the clockStart activity set in ``cfg.start_time`` (行政许可法 §32: a case
    not told to supplement in time counts as accepted from the day of receipt); None when absent, unreadable or
    not earlier than now (then the completion is the acceptance)."""
    from engine.runtime import spiff

    if not cfg.start_time:
        return None
    done = [t for t in spiff.all_tasks(wf, spiff.TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None) == cfg.start]
    value = done[-1].data.get(cfg.start_time) if done else None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime) or value.tzinfo is None or value >= now:
        return None
    return value


def _promised_limit(wf: Any, cfg: config.ClockConfig) -> tuple[str | None, str]:
    """The case's own promised limit the clockStart activity set in ``cfg.promised_variable`` (e.g. a DMN output:
    ``1wd`` for a mortgage registration) and a note for the history; (None, note) keeps the diagram's."""
    from engine.runtime import spiff

    if not cfg.promised_variable:
        return None, ""
    done = [t for t in spiff.all_tasks(wf, spiff.TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None) == cfg.start]
    value = done[-1].data.get(cfg.promised_variable) if done else None
    if value is None or value == "":
        return None, f"; {cfg.promised_variable} not set, promised limit from the diagram"
    try:
        span = config.parse_span(str(value), cfg.promised_variable)
    except InvalidInput as exc:
        return None, f"; {exc.message} - promised limit from the diagram"
    return span.text, f"; promised limit {span.text} ({cfg.promised_variable})"


def on_save(uow: Any, case: Any, ended: bool) -> None:
    """After every step of a case whose diagram has time limits: create its clock, start it at acceptance, stop
    it at its stop activity or the case's end."""
    cfg = model_config(case.model)
    if cfg is None:
        # no limits in the diagram; a clock started by the window intake (the item's limits) stops at the end
        if ended:
            given = uow.session.get(CaseClock, case.row.id)
            if given is not None and given.state in ("RUNNING", "SUSPENDED"):
                stop_clock(uow, given, reason="case ended")
            elif given is not None and given.state == "WAITING":
                given.state, given.stopped_at = "STOPPED", uow.now
        return
    session = uow.session
    clock = session.get(CaseClock, case.row.id)
    new = clock is None
    if clock is None:  # a new case: the row is written after the case's own row (uow.insert)
        clock = CaseClock(instance_id=case.row.id, state="WAITING", region=uow.services.settings.calendar_region,
                          promised_limit=cfg.promised.text if cfg.promised else None,
                          legal_limit=cfg.legal.text if cfg.legal else None,
                          warn_before=cfg.warn_before.text if cfg.warn_before else None, suspended_days=0,
                          extended_days=0, provisional=False, version=1)
    if clock.state == "WAITING" and not ended and (cfg.start == "start" or _activity_completed(case.wf, cfg.start)):
        at, reason = uow.now, "case started" if cfg.start == "start" else f"activity '{cfg.start}' completed (受理)"
        earlier = _start_time(case.wf, cfg, uow.now)
        if earlier is not None:
            at, reason = earlier, f"{reason}; counts as accepted from {earlier.isoformat()} ({cfg.start_time})"
        own, note = _promised_limit(case.wf, cfg)
        if own is not None:
            clock.promised_limit = own
        reason += note
        accept_clock(uow, clock, at, reason=reason)
    elif clock.state in ("RUNNING", "SUSPENDED") and cfg.promised_variable and not ended:
        # accepted before its acceptance activity ran (the window intake accepts at once, engine/intake): the case's
        # own promise applies when that activity has completed
        own, note = _promised_limit(case.wf, cfg)
        if own is not None and own != clock.promised_limit:
            _set_promise(uow, clock, own, f"activity '{cfg.start}' completed{note}")
    if clock.state in ("RUNNING", "SUSPENDED") and (ended or (cfg.stop and _activity_completed(case.wf, cfg.stop))):
        stop_clock(uow, clock, reason="case ended" if ended else f"activity '{cfg.stop}' completed")
    elif clock.state == "WAITING" and ended:
        clock.state, clock.stopped_at = "STOPPED", uow.now
    if new:
        uow.insert(CaseClock.__table__, **{c.key: getattr(clock, c.key) for c in CaseClock.__table__.columns})


def _set_promise(uow: Any, clock: CaseClock, limit: str, reason: str) -> None:
    """A running clock gets the case's own promised limit: deadlines, warning and jobs recomputed."""
    old_limit, old_due = clock.promised_limit, clock.promised_due
    clock.promised_limit = limit
    _compute(uow, clock)
    _rearm(uow, clock)
    _case_jobs(uow, clock)
    for due in (clock.warn_at, clock.promised_due):  # possibly earlier than before: wake the job runner
        if due is not None and clock.state == "RUNNING":
            uow.new_job_due(due)
    uow.record("CasePromisedLimitSet", instance_id=clock.instance_id, reason=reason, previousLimit=old_limit,
               promisedLimit=limit, previousDue=_iso(old_due), promisedDue=_iso(clock.promised_due),
               warnAt=_iso(clock.warn_at))


def accept_clock(uow: Any, clock: CaseClock, at: datetime, reason: str, actor: str | None = None) -> None:
    clock.accepted_at = at
    clock.state = "RUNNING"
    _compute(uow, clock)
    _case_jobs(uow, clock)
    uow.record("CaseClockStarted", instance_id=clock.instance_id, actor=actor, reason=reason,
               acceptedAt=at.isoformat(), promisedLimit=clock.promised_limit, legalLimit=clock.legal_limit,
               promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due), warnAt=_iso(clock.warn_at),
               provisional=clock.provisional)


def stop_clock(uow: Any, clock: CaseClock, reason: str) -> None:
    if clock.state == "SUSPENDED":
        _close_suspension(uow, clock, None)
    clock.state, clock.stopped_at = "STOPPED", uow.now
    _case_jobs(uow, clock)
    on_time = clock.promised_due is None or uow.now <= clock.promised_due
    uow.record("CaseClockStopped", instance_id=clock.instance_id, reason=reason, onTime=on_time,
               promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due))


# --- commands ------------------------------------------------------------------------------------------------
def _clock(uow: Any, instance_id: str) -> tuple[ProcessInstance, CaseClock]:
    session = uow.session
    row = session.get(ProcessInstance, instance_id) or session.scalars(
        select(ProcessInstance).where(ProcessInstance.business_key == instance_id)).first()
    if row is None:
        raise NotFound(f"no case with id or business key '{instance_id}'")
    clock = session.get(CaseClock, row.id, with_for_update=True, populate_existing=True)
    if clock is None:
        raise Conflict(f"case '{row.business_key or row.id}' has no clock: its diagram sets no promisedLimit or "
                       f"legalLimit", instance_id=row.id)
    return row, clock


def _name(row: ProcessInstance) -> str:
    return row.business_key or row.id


def get_clock(session: Any, services: Any, instance_id: str, now: datetime) -> ClockView | None:
    row = session.get(ProcessInstance, instance_id) or session.scalars(
        select(ProcessInstance).where(ProcessInstance.business_key == instance_id)).first()
    if row is None:
        raise NotFound(f"no case with id or business key '{instance_id}'")
    clock = session.get(CaseClock, row.id)
    return clock_view(session, services, clock, now) if clock is not None else None


def accept(uow: Any, instance_id: str, actor: str | None = None) -> ClockView:
    row, clock = _clock(uow, instance_id)
    if clock.state != "WAITING":
        raise Conflict(f"the clock of case '{_name(row)}' is already {clock.state.lower()}", instance_id=row.id)
    accept_clock(uow, clock, uow.now, reason="accepted", actor=actor)
    return clock_view(uow.session, uow, clock, uow.now)


def suspend(uow: Any, instance_id: str, *, reason: str, kind: str = "other", expected_days: int | None = None,
            actor: str | None = None) -> ClockView:
    if not reason or not str(reason).strip():
        raise InvalidInput("a suspension needs a reason (行政许可法 §45: the applicant is told why, in writing)")
    if kind not in SUSPENSION_KINDS:
        raise InvalidInput(f"suspension kind '{kind}' is not one of {', '.join(SUSPENSION_KINDS)}")
    if expected_days is not None and (isinstance(expected_days, bool) or int(expected_days) < 0):
        raise InvalidInput(f"expected working days must be a whole number >= 0, got {expected_days!r}")
    row, clock = _clock(uow, instance_id)
    if clock.state != "RUNNING":
        what = {"WAITING": "not accepted yet", "SUSPENDED": "already suspended", "STOPPED": "stopped (办结)"}
        raise Conflict(f"cannot suspend the clock of case '{_name(row)}': it is {what[clock.state]}",
                       instance_id=row.id, state=clock.state)
    sid = str(uuid.uuid4())
    uow.session.add(CaseSuspension(id=sid, instance_id=row.id, kind=kind, reason=str(reason).strip(),
                                   expected_days=expected_days, started_at=uow.now, started_by=actor))
    clock.state = "SUSPENDED"
    uow.write(_PAUSE, {"iid": row.id})
    from . import policies

    policies.pause_timers(uow, row.id, uow.now)
    uow.record("CaseClockSuspended", instance_id=row.id, actor=actor, suspensionId=sid, kind=kind,
               reason=str(reason).strip(), expectedWorkingDays=expected_days)
    from engine import outbox

    outbox.enqueue(uow, dedupe_key=f"suspended:{sid}", recipients=["role:applicant", f"case:{row.id}"],
                   subject=f"办件 {_name(row)} 挂起（{KIND_NAMES[kind]}）",
                   body=f"办件 {_name(row)} 自 {local_text(uow, uow.now)} 起挂起，原因：{str(reason).strip()}"
                        + (f"，预计 {expected_days} 个工作日" if expected_days is not None else "")
                        + "。挂起期间不计入办理时限。", instance_id=row.id)
    return clock_view(uow.session, uow, clock, uow.now)


def _close_suspension(uow: Any, clock: CaseClock, actor: str | None) -> tuple[CaseSuspension, int]:
    open_one = uow.session.scalars(select(CaseSuspension).where(
        CaseSuspension.instance_id == clock.instance_id, CaseSuspension.ended_at.is_(None))).first()
    if open_one is None:
        raise Conflict(f"case '{clock.instance_id}' has no open suspension")
    cal = calendar_for(uow, clock.region)
    first = open_one.started_at.astimezone(cal.tz).date()
    last = uow.now.astimezone(cal.tz).date()
    days = cal.working_days_between(first, last) if last >= first else 0
    open_one.ended_at, open_one.ended_by, open_one.working_days = uow.now, actor, days
    clock.suspended_days = (clock.suspended_days or 0) + days
    clock.state = "RUNNING"
    return open_one, days


def resume(uow: Any, instance_id: str, actor: str | None = None) -> ClockView:
    row, clock = _clock(uow, instance_id)
    if clock.state != "SUSPENDED":
        raise Conflict(f"cannot resume the clock of case '{_name(row)}': it is not suspended "
                       f"({clock.state.lower()})", instance_id=row.id, state=clock.state)
    old_due = clock.promised_due
    suspension, days = _close_suspension(uow, clock, actor)
    _compute(uow, clock)
    _rearm(uow, clock)
    _case_jobs(uow, clock)
    from . import policies

    moved = policies.shift_case(uow, row, calendar_for(uow, clock.region), days, suspension.started_at)
    uow.record("CaseClockResumed", instance_id=row.id, actor=actor, suspensionId=suspension.id, workingDays=days,
               previousDue=_iso(old_due), promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due),
               movedTasks=moved["tasks"], movedTimers=moved["timers"])
    return clock_view(uow.session, uow, clock, uow.now)


def extend(uow: Any, instance_id: str, *, days: int, reason: str, approver: str,
           actor: str | None = None) -> ClockView:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 60:
        raise InvalidInput(f"an extension is 1 to 60 working days, got {days!r}")
    if not reason or not str(reason).strip():
        raise InvalidInput("an extension needs a reason (the applicant is told why)")
    if not approver or not str(approver).strip():
        raise InvalidInput("an extension needs its approver (行政机关负责人)")
    row, clock = _clock(uow, instance_id)
    if clock.state not in ("RUNNING", "SUSPENDED"):
        raise Conflict(f"cannot extend case '{_name(row)}': its clock is {clock.state.lower()}", instance_id=row.id)
    due = clock.promised_due or clock.legal_due
    if due is not None and uow.now > due:
        raise Conflict(f"extension refused: the deadline of case '{_name(row)}' passed at {due.isoformat()}; "
                       f"an extension (延期) must be approved before expiry, the case is overdue (超期)",
                       instance_id=row.id, due=due.isoformat())
    eid = str(uuid.uuid4())
    uow.session.add(CaseExtension(id=eid, instance_id=row.id, days=days, reason=str(reason).strip(),
                                  approver=str(approver).strip(), requested_by=actor, approved_at=uow.now))
    old = clock.promised_due
    clock.extended_days = (clock.extended_days or 0) + days
    _compute(uow, clock)
    _rearm(uow, clock)
    _case_jobs(uow, clock)
    uow.record("CaseClockExtended", instance_id=row.id, actor=actor, extensionId=eid, days=days,
               reason=str(reason).strip(), approver=str(approver).strip(), previousDue=_iso(old),
               promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due))
    from engine import outbox

    outbox.enqueue(uow, dedupe_key=f"extended:{eid}", recipients=["role:applicant", f"case:{row.id}"],
                   subject=f"办件 {_name(row)} 延期 {days} 个工作日",
                   body=f"经 {str(approver).strip()} 批准，办件 {_name(row)} 延期 {days} 个工作日，理由：{str(reason).strip()}；"
                        f"新的办结期限：{local_text(uow, clock.promised_due)}。", instance_id=row.id)
    return clock_view(uow.session, uow, clock, uow.now)


def recompute_provisional(uow: Any, actor: str | None = None) -> list[str]:
    """Recompute every provisional deadline (after a year's calendar data was added); returns the case ids whose
    deadlines are now final."""
    done = []
    for clock in uow.session.scalars(select(CaseClock).where(CaseClock.provisional.is_(True),
                                                              CaseClock.state.in_(("RUNNING", "SUSPENDED")))):
        old = (clock.promised_due, clock.legal_due)
        _compute(uow, clock)
        if not clock.provisional:
            _case_jobs(uow, clock)
            done.append(clock.instance_id)
            uow.record("CaseDeadlineRecomputed", instance_id=clock.instance_id, actor=actor,
                       reason="the calendar now knows every year on the way", previousDue=_iso(old[0]),
                       promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due))
    from . import policies

    return list(dict.fromkeys(done + policies.recompute_provisional_tasks(uow, actor)))


# --- jobs ----------------------------------------------------------------------------------------------------
def _recipients_of_case(uow: Any, instance_id: str) -> list[str]:
    out = []
    for t in uow.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "ACTIVE")):
        out += [f"user:{t.assignee}"] if t.assignee else [f"group:{g}" for g in t.candidate_groups.split(",") if g]
    return out


def _fire_case(uow: Any, job: Any, kind: str) -> str:
    clock = uow.session.get(CaseClock, job.instance_id, with_for_update=True, populate_existing=True)
    if clock is None or clock.state != "RUNNING":
        return "cancelled"
    row = uow.session.get(ProcessInstance, job.instance_id)
    name = _name(row) if row else job.instance_id
    people = _recipients_of_case(uow, job.instance_id)
    if kind == "case-warning":
        clock.warned_at = uow.now
        uow.record("CaseDeadlineWarning", instance_id=job.instance_id, actor="system", signal="WARNING",
                   reason=f"the promised deadline {_iso(clock.promised_due)} is near (warnAt {_iso(clock.warn_at)})",
                   jobId=job.id)
        subject, recipients = f"【预警】办件 {name} 即将到期", people + ["role:leader"]
    elif kind == "case-overdue":
        clock.overdue_at = uow.now
        uow.record("CaseOverdue", instance_id=job.instance_id, actor="system", signal="OVERDUE",
                   reason=f"the promised deadline {_iso(clock.promised_due)} has passed", jobId=job.id)
        subject, recipients = f"【超期】办件 {name} 已超过承诺时限", people + ["role:leader", "role:supervisor"]
    else:
        uow.record("CaseLegalDeadlinePassed", instance_id=job.instance_id, actor="system", signal="OVERDUE",
                   reason=f"the legal deadline {_iso(clock.legal_due)} has passed", jobId=job.id)
        subject, recipients = f"【超法定时限】办件 {name}", people + ["role:leader", "role:supervisor"]
    from engine import outbox

    outbox.enqueue(uow, dedupe_key=f"{kind}:{job.id}", recipients=recipients, subject=subject,
                   body=f"{subject}。承诺期限：{local_text(uow, clock.promised_due)}；法定期限：{local_text(uow, clock.legal_due)}。",
                   instance_id=job.instance_id)
    return "fired"


for _kind in CASE_JOBS:
    handler(_kind)(lambda uow, job, worker_id, _k=_kind: _fire_case(uow, job, _k))
