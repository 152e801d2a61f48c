"""流程跟踪: the case view ``/cases/<business key>``.

One page per case: the diagram (the definition's XML from the engine, drawn in the browser by the vendored
bpmn-js NavigatedViewer) with the completed, active, warning and overdue activities marked — the markers are
computed here, on the server, from the case's history, its open tasks and their signals, and handed to the page
as JSON (``highlights``); the timeline of every history event with Chinese labels, actor and time in the service
centre's zone; the case clock (承诺/法定时限, signal, working days left, suspensions, extensions); the variables;
the open tasks with their holders and signals.

Supervisors and admins (``Access.may("supervise")``) also get forms: suspend/resume the clock (挂起/恢复), extend
(延期), reassign a task (改派), urge (催办) and terminate (终止). Each posts to ``/cases/<key>/<action>``, goes
through the engine façade (one call, one transaction, recorded in the history) and redirects back; a refusal is
shown on the page as a sentence. Data scope: a user reads a case when one of its tasks is in their scope
(``require_case_access``); anyone else gets 403.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.caseclock.clock import SUSPENSION_KINDS
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound
from engine.identity import Access, require_case_access, require_task_access
from engine.tasks.queries import TaskQuery
from web.ui import _casepage as page
from web.ui.base import access as current_access
from web.ui.base import login_required, page_blueprint

bp = page_blueprint("cases", __name__)

BPMN_JS_VERSION = "18.31.1"
ACTIONS = ("suspend", "resume", "extend", "reassign", "urge", "terminate")
ACTION_DONE = {"suspend": _l("已挂起计时"), "resume": _l("已恢复计时"), "extend": _l("已延期"), "reassign": _l("已改派"),
               "urge": _l("已催办"), "terminate": _l("已终止办件")}
SIGNAL_LABELS = {"ON_TIME": _l("正常"), "WARNING": _l("预警"), "OVERDUE": _l("超期")}
CLOCK_STATES = {"WAITING": _l("待受理（未计时）"), "RUNNING": _l("计时中"), "SUSPENDED": _l("已挂起"),
                "STOPPED": _l("已停止")}
ACTION_FAILED = {"suspend": _l("挂起未完成：%(reason)s"), "resume": _l("恢复计时未完成：%(reason)s"),
                 "extend": _l("延期未完成：%(reason)s"), "reassign": _l("改派未完成：%(reason)s"),
                 "urge": _l("催办未完成：%(reason)s"), "terminate": _l("终止未完成：%(reason)s")}
CASE_STATES = {"ACTIVE": _l("办理中"), "SUSPENDED": _l("已暂停"), "COMPLETED": _l("已办结"), "TERMINATED": _l("已终止")}
_STATUS = {InvalidInput: 400, Forbidden: 403, NotFound: 404, Conflict: 409}


def find_case(engine: Any, key: str) -> Any:
    """The case of business key ``key`` (or, failing that, of id ``key``); 404 when there is none."""
    found = engine.runtime.instances(business_key=key)
    if found:
        return found[-1]
    try:
        return engine.runtime.instance(key)
    except NotFound:
        abort(404, description=_("没有办件编号为 %(key)s 的办件", key=key))


def _visible(engine: Any, access: Access, instance_id: str) -> int:
    if access.sees_all:
        return 1
    return engine.tasks.count(TaskQuery(instance_id=instance_id, state=None, visible_to=access.task_scope))


def _page(key: str, *, error: str | None = None, status: int = 200, form: dict[str, Any] | None = None) -> Any:
    engine = page.engine()
    access = current_access()
    case = find_case(engine, key)
    try:
        require_case_access(access, key, _visible(engine, access, case.id), "read")
    except Forbidden as exc:
        abort(403, description=str(exc))
    view = page.case_model(engine, case)
    done = request.args.get("done")
    return render_template(
        "cases/case.html", case=case, v=view, access=access, supervise=access.may("supervise"),
        error=error, done=ACTION_DONE.get(done or ""), form=form or {}, kinds=[(k, page.KIND_LABELS[k])
                                                                                 for k in SUSPENSION_KINDS],
        kind_names=page.KIND_LABELS,
        bpmn_js_version=BPMN_JS_VERSION,
        highlights_json=json.dumps(view["highlights"], ensure_ascii=False).replace("<", "\\u003c"),
        signal_labels=SIGNAL_LABELS, clock_states=CLOCK_STATES, case_states=CASE_STATES), status


@bp.get("/cases/<path:key>")
@login_required
def case_view(key: str) -> Any:
    return _page(key)


@bp.get("/cases/<path:key>/diagram.bpmn")
@login_required
def case_diagram(key: str) -> Any:
    """The definition's XML (the page loads it into the viewer; same access rule as the page)."""
    engine = page.engine()
    access = current_access()
    case = find_case(engine, key)
    try:
        require_case_access(access, key, _visible(engine, access, case.id), "read")
    except Forbidden as exc:
        abort(403, description=str(exc))
    xml = engine.repository.definition_xml(case.definition_id)
    return xml, 200, {"Content-Type": "application/xml; charset=utf-8", "Cache-Control": "private, max-age=300"}


def _text(name: str, *, required: str | None = None, limit: int = 500) -> str:
    value = (request.form.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(required)
    if len(value) > limit:
        raise InvalidInput(_("「%(name)s」最多 %(limit)s 个字符", name=name, limit=limit))
    return value


def _int(name: str, label: str, *, required: bool = True) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise InvalidInput(_("请填写%(label)s", label=label))
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(_("%(label)s必须是整数，收到「%(raw)s」", label=label, raw=raw)) from None


@bp.post("/cases/<path:key>/<any(suspend, resume, extend, reassign, urge, terminate):action>")
@login_required
def case_action(key: str, action: str) -> Any:
    engine = page.engine()
    access = current_access()
    case = find_case(engine, key)
    visible = _visible(engine, access, case.id)
    try:
        require_case_access(access, key, visible, "read")
    except Forbidden as exc:
        abort(403, description=str(exc))
    try:
        require_case_access(access, key, visible, action)
    except Forbidden as exc:
        abort(403, description=str(exc))
    actor = access.user_id
    try:
        if action == "suspend":
            kind = _text("kind") or "other"
            engine.cases.suspend(case.id, reason=_text("reason", required=_("挂起需要填写原因（将书面告知申请人）")),
                                 kind=kind, expected_days=_int("expected_days", _("预计工作日"), required=False),
                                 actor=actor)
        elif action == "resume":
            engine.cases.resume(case.id, actor=actor)
        elif action == "extend":
            days = _int("days", _("延期工作日数"))
            engine.cases.extend(case.id, days=days or 0, reason=_text("reason", required=_("延期需要填写理由")),
                                approver=_text("approver", required=_("延期需要填写批准人（行政机关负责人）"), limit=128),
                                actor=actor)
        elif action == "reassign":
            task = _case_task(engine, case, _text("task_id", required=_("请选择要改派的任务"), limit=64))
            require_task_access(access, task, "assign")
            engine.tasks.set_assignee(task.id, _text("assignee", limit=64) or None, actor=actor)
        elif action == "urge":
            task = _case_task(engine, case, _text("task_id", required=_("请选择要催办的任务"), limit=64))
            engine.cases.urge(case.id, task.id, _text("message", required=_("请填写催办内容")), actor=actor)
        elif action == "terminate":
            engine.runtime.terminate(case.id, reason=_text("reason", required=_("终止办件需要填写原因")), actor=actor)
    except EngineError as exc:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        return _page(key, error=str(ACTION_FAILED[action]) % {"reason": exc}, status=status,
                     form={"action": action, **{k: v for k, v in request.form.items() if k != "csrf_token"}})
    return redirect(url_for("cases.case_view", key=key, done=action) + "#actions", code=303)


def _case_task(engine: Any, case: Any, task_id: str) -> Any:
    task = engine.tasks.task(task_id)
    if task.instance_id != case.id:
        raise NotFound(_("本办件没有任务 %(id)s", id=task_id))
    return task
