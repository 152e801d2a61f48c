"""What the case view (``cases.py``) and the public status page (``status.py``) compute on the server.

Kept apart from the blueprints so it can be tested without a request: the diagram highlights (completed, active,
warning and overdue activities, from the history, the open tasks and their signals), the timeline rows with
Chinese labels, the clock in the service centre's zone, and each activity's public stage label (status page).
The module name starts with ``_``, so ``web.ui.register`` does not mount it as a page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree

from engine.definitions.xml import BPMN_NS, CAMUNDA_NS, _parser
from engine.errors import EngineError, NotFound
from engine.tasks.queries import TaskQuery

ACTION_NAMES = {"suspend": _l("挂起"), "resume": _l("恢复计时"), "extend": _l("延期"), "reassign": _l("改派"), "urge": _l("催办"),
                "terminate": _l("终止")}

EVENT_LABELS = {
    "ProcessInstanceStarted": _l("办件创建"), "ProcessInstanceStartedByTimer": _l("定时创建办件"),
    "ProcessInstanceCompleted": _l("办结"), "ProcessInstanceTerminated": _l("终止办件"),
    "ProcessInstanceSuspended": _l("暂停办件"), "ProcessInstanceResumed": _l("恢复办件"),
    "TaskCreated": _l("生成任务"), "TaskCompleted": _l("完成任务"), "TaskClaimed": _l("签收任务"), "TaskUnclaimed": _l("取消签收"),
    "TaskAssigned": _l("指派/改派"), "TaskDelegated": _l("委派"), "TaskResolved": _l("委派办理完毕"), "TaskCancelled": _l("任务取消"),
    "TaskOverdue": _l("任务超期"), "TaskDeadlineWarning": _l("任务预警"), "TaskDeemedApproved": _l("超时默认同意"),
    "TaskEscalated": _l("超期督办"), "TaskUrged": _l("催办"), "TaskDueProvisional": _l("任务期限为估算"),
    "TaskDueRecomputed": _l("任务期限重算"), "TaskIdentityLinkAdded": _l("增加候选人/部门"),
    "TaskIdentityLinkDeleted": _l("移除候选人/部门"), "TaskTimeoutListenerFired": _l("超时监听触发"),
    "FormalOpinionRequested": _l("要求出具正式意见"), "CommentAdded": _l("审批意见"), "VariablesSet": _l("更新办件数据"),
    "VariablesDeleted": _l("删除办件数据"), "MessageCorrelated": _l("收到消息"),
    "CaseClockStarted": _l("受理，开始计时"), "CaseClockStopped": _l("停止计时"), "CaseClockSuspended": _l("挂起（暂停计时）"),
    "CaseClockResumed": _l("恢复计时"), "CaseClockExtended": _l("延期"), "CaseDeadlineWarning": _l("办件预警"),
    "CaseOverdue": _l("办件超期"), "CaseLegalDeadlinePassed": _l("超过法定时限"), "CaseDeadlineProvisional": _l("期限为估算"),
    "CaseDeadlineRecomputed": _l("期限重算"), "JobCreated": _l("设置定时器"), "JobExecuted": _l("定时器触发"),
    "JobCancelled": _l("取消定时器"), "JobFailed": _l("后台作业失败"), "JobRetried": _l("重试后台作业"),
    "JobRetryScheduled": _l("计划重试"), "IncidentCreated": _l("发生故障"), "IncidentResolved": _l("故障已排除"),
    "ExternalTaskCreated": _l("生成外部任务"), "ExternalTaskLocked": _l("外部任务领取"), "ExternalTaskCompleted": _l("外部任务完成"),
    "ExternalTaskFailed": _l("外部任务失败"), "ExternalTaskBpmnError": _l("外部任务业务错误"),
    "ExternalTaskUnlocked": _l("外部任务解锁"), "ExternalTaskLockExtended": _l("外部任务延长锁定"),
    "ExternalTaskRetriesSet": _l("外部任务重试次数"), "TimersPaused": _l("定时器暂停"), "HistoryCompacted": _l("历史压缩"),
    "TaskReturned": _l("退回"), "CorrectionRequested": _l("要求补正"), "CorrectionReceived": _l("补正已收到"),
    "IntakeAccepted": _l("窗口受理"), "IntakeNotified": _l("一次性告知"), "IntakeRejected": _l("不予受理"),
    "IntakeSupplemented": _l("补正材料登记"), "CasePromisedLimitSet": _l("承诺时限确定"),
    "ActivitiesInterrupted": _l("中断办理"),
}
# the events whose activity counts as done on the diagram
COMPLETING_EVENTS = frozenset({"TaskCompleted", "ExternalTaskCompleted", "TaskDeemedApproved", "JobExecuted",
                               "MessageCorrelated"})
SYSTEM_ACTOR = _l("系统")
# the suspension kinds of engine.caseclock.clock.KIND_NAMES, for the pages (translatable)
KIND_LABELS = {"supplement": _l("补正"), "expert-review": _l("专家评审"), "public-notice": _l("公示"),
               "site-inspection": _l("现场勘验"), "hearing": _l("听证"), "testing": _l("检验检测"), "other": _l("其他")}


# --- request helpers ------------------------------------------------------------------------------------------
def engine() -> Any:
    return current_app.extensions["onewindow"]


# --- formatting ----------------------------------------------------------------------------------------------
def local(engine_: Any, value: datetime | None) -> datetime | None:
    return value.astimezone(engine_.services.tz) if value is not None else None


def fmt(engine_: Any, value: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return local(engine_, value).strftime(pattern)  # type: ignore[union-attr]


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if value is None:
        return _("（空）")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# --- the diagram ---------------------------------------------------------------------------------------------
def highlights(events: Iterable[Any], open_tasks: Iterable[Any], active_ids: Iterable[str], now: datetime,
               start_ids: Iterable[str] = ()) -> dict[str, Any]:
    """Markers for the viewer: ``completed`` (done at least once and not active now), ``active``, ``warning`` and
    ``overdue`` (open tasks by signal) activity ids, each sorted, and ``overlays`` (one badge per open task)."""
    events = list(events)
    tasks = list(open_tasks)
    active = set(active_ids) | {t.task_definition_key for t in tasks}
    done = {e.activity_id for e in events if e.event_type in COMPLETING_EVENTS and e.activity_id}
    if any(e.event_type in ("ProcessInstanceStarted", "ProcessInstanceStartedByTimer") for e in events):
        done |= set(start_ids)
    for e in events:  # the end events the case reached (recorded since 2026-12; earlier cases have none)
        if e.event_type == "ProcessInstanceCompleted":
            done |= {x for x in (e.payload or {}).get("endEvents") or () if isinstance(x, str)}
    signals = {t.task_definition_key: t.signal(now) for t in tasks}
    warning = {k for k, s in signals.items() if s == "WARNING"}
    overdue = {k for k, s in signals.items() if s == "OVERDUE"}
    overlays = []
    for t in sorted(tasks, key=lambda t: (t.task_definition_key, t.created, t.id)):
        signal = t.signal(now)
        holder = t.assignee or _("、").join(list(t.candidate_groups) + list(t.candidate_users)) or _("未分配")
        overlays.append({"element": t.task_definition_key, "signal": signal,
                         "label": {"OVERDUE": _("超期"), "WARNING": _("预警")}.get(signal, _("办理中")) + " · " + holder})
    return {"completed": sorted(done - active), "active": sorted(active), "warning": sorted(warning - overdue),
            "overdue": sorted(overdue), "overlays": overlays}


_MODELS: dict[str, dict[str, Any]] = {}
_MODELS_LOCK = threading.Lock()


def diagram_facts(engine_: Any, definition_id: str) -> dict[str, Any]:
    """Read once per definition (deployed definitions never change): the top-level start events, the name of
    every flow node, and the ``publicStage`` property of those that declare one."""
    key = f"{id(engine_)}:{definition_id}"
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
    facts: dict[str, Any] = {"starts": [], "names": {}, "stages": {}}
    try:
        root = etree.fromstring(engine_.repository.definition_xml(definition_id), _parser())
    except (EngineError, etree.XMLSyntaxError):
        return facts
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        facts["starts"] += [el.get("id") for el in process.findall(f"{{{BPMN_NS}}}startEvent") if el.get("id")]
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN_NS}}}") or not el.get("id"):
            continue
        if el.get("name"):
            facts["names"][el.get("id")] = el.get("name")
        for prop in el.findall(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"):
            if prop.get("name") == "publicStage" and (prop.get("value") or "").strip():
                facts["stages"][el.get("id")] = prop.get("value").strip()
    with _MODELS_LOCK:
        _MODELS[key] = facts
    return facts


# --- the timeline --------------------------------------------------------------------------------------------
def _detail(e: Any, task_names: dict[str, str], names: dict[str, str], fmt_iso: Callable[[Any], str]) -> str:
    p = e.payload or {}
    what = task_names.get(e.task_id or "") or names.get(e.activity_id or "") or (e.activity_id or "")
    parts: list[str] = []
    t = e.event_type
    if t == "TaskCreated":
        who = _("、").join((p.get("candidateGroups") or []) + (p.get("candidateUsers") or []))
        parts += [p.get("name") or what, _("候选：%(who)s", who=who) if who else "",
                  _("期限 %(due)s", due=fmt_iso(p.get("due"))) if p.get("due") else ""]
    elif t in ("TaskAssigned", "TaskDelegated"):
        parts += [what, f"→ {p.get('assignee') or _('（无）')}",
                  _("原办理人 %(name)s", name=p["previousAssignee"]) if p.get("previousAssignee") else ""]
    elif t == "TaskUrged":
        parts += [what, _("「%(text)s」", text=p.get("message", "")),
                  _("通知 %(names)s", names=_("、").join(p.get("recipients") or []))]
    elif t == "CaseClockSuspended":
        parts += [str(KIND_LABELS.get(p.get("kind", ""), p.get("kind", ""))),
                  _("原因：%(reason)s", reason=p.get("reason", "")),
                  _("预计 %(n)s 个工作日", n=p["expectedWorkingDays"]) if p.get("expectedWorkingDays") is not None else ""]
    elif t == "CaseClockResumed":
        parts += [_("挂起 %(n)s 个工作日", n=p.get("workingDays", 0)),
                  _("新承诺期限 %(due)s", due=fmt_iso(p.get("promisedDue")))]
    elif t == "CaseClockExtended":
        parts += [_("延期 %(n)s 个工作日", n=p.get("days")), _("理由：%(reason)s", reason=p.get("reason", "")),
                  _("批准人：%(name)s", name=p.get("approver", "")),
                  _("新承诺期限 %(due)s", due=fmt_iso(p.get("promisedDue")))]
    elif t == "CaseClockStarted":
        parts += [_("承诺期限 %(due)s", due=fmt_iso(p.get("promisedDue"))),
                  _("法定期限 %(due)s", due=fmt_iso(p.get("legalDue")))]
    elif t == "CommentAdded":
        parts += [what, _("「%(text)s」", text=p.get("message", ""))]
    elif t == "MessageCorrelated":
        parts += [p.get("message", "")]
    elif t in ("ProcessInstanceTerminated",):
        parts += [_("原因：%(reason)s", reason=p.get("reason") or _("（未说明）"))]
    else:
        parts += [what if e.task_id or e.activity_id else ""]
        if p.get("reason"):
            parts.append(str(p["reason"]))
    return _("；").join(x for x in parts if x)


def timeline(engine_: Any, events: list[Any], names: dict[str, str]) -> list[dict[str, Any]]:
    task_names = {e.task_id: e.payload.get("name") for e in events
                  if e.event_type == "TaskCreated" and e.task_id and e.payload.get("name")}
    return [{"seq": e.seq, "type": e.event_type, "label": str(EVENT_LABELS.get(e.event_type, e.event_type)),
             "actor": e.actor or str(SYSTEM_ACTOR), "time": fmt(engine_, e.timestamp, "%Y-%m-%d %H:%M:%S"),
             "detail": _detail(e, task_names, names, lambda v: fmt(engine_, v))} for e in events]


# --- the whole page ------------------------------------------------------------------------------------------
def case_model(engine_: Any, case: Any) -> dict[str, Any]:
    now = engine_.clock.now()
    events = engine_.history.events(case.id)
    tasks = engine_.tasks.list(TaskQuery(instance_id=case.id, sort_by="created"))
    facts = diagram_facts(engine_, case.definition_id)
    try:
        variables = engine_.runtime.variables(case.id)
    except NotFound:
        variables = {}
    clock = engine_.cases.clock(case.id)
    return {
        "now": fmt(engine_, now),
        "started": fmt(engine_, case.started_at), "ended": fmt(engine_, case.ended_at),
        "highlights": highlights(events, tasks, case.active_activity_ids, now, facts["starts"]),
        "timeline": timeline(engine_, events, facts["names"]),
        "tasks": [{"id": t.id, "name": t.name or facts["names"].get(t.task_definition_key) or t.task_definition_key,
                   "key": t.task_definition_key, "assignee": t.assignee or "", "owner": t.owner or "",
                   "candidates": _("、").join(list(t.candidate_groups) + list(t.candidate_users)),
                   "created": fmt(engine_, t.created), "due": fmt(engine_, t.due),
                   "follow_up": fmt(engine_, t.follow_up), "signal": t.signal(now)} for t in tasks],
        "variables": [(k, show_value(v)) for k, v in sorted(variables.items())],
        "clock": None if clock is None else {
            "state": clock.state, "signal": clock.signal, "promised_limit": clock.promised_limit or "",
            "legal_limit": clock.legal_limit or "", "accepted": fmt(engine_, clock.accepted_at),
            "promised_due": fmt(engine_, clock.promised_due), "legal_due": fmt(engine_, clock.legal_due),
            "warn_at": fmt(engine_, clock.warn_at), "provisional": clock.provisional,
            "working_days_left": clock.working_days_left, "suspended_days": clock.suspended_days,
            "extended_days": clock.extended_days, "stopped": fmt(engine_, clock.stopped_at),
            "suspensions": [{**s, "start": fmt(engine_, s["start"]), "end": fmt(engine_, s["end"])}
                            for s in clock.suspensions],
            "extensions": [{**x, "approvedAt": fmt(engine_, x["approvedAt"])} for x in clock.extensions]},
    }
