"""/tasks/<id>: the task page (form from the task's camunda:formFields, case data, comments 审批意见, the case
timeline) and its actions: complete, claim/unclaim, transfer (转办: set the assignee), delegate (委派), resolve,
退回 (return to an earlier step the diagram allows, with a required reason), 要求补正 (the case clock stops until
the materials come) and 补正已收到 (it runs again).

Every action checks ``require_task_access`` and goes through the engine façade (the same calls as the REST API).
When someone else completed, claimed or reassigned the task meanwhile (``TaskNotActive``, ``TaskAlreadyClaimed``,
``OptimisticLockConflict``, a suspended case), the page says so and shows the user's input again: a form is
never lost.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.errors import Conflict, InvalidInput, NotFound, SuspendedEntity, TaskAlreadyClaimed, TaskNotActive
from engine.identity import require_task_access
from web.ui import forms
from web.ui._casepage import EVENT_LABELS as CASE_EVENT_LABELS
from web.ui.base import access, data_dir, engine, login_required, page_blueprint, safe_next

bp = page_blueprint("tasks", __name__)

EVENT_LABELS = {
    "ProcessInstanceStarted": _l("办件受理"), "ProcessInstanceCompleted": _l("办结"),
    "ProcessInstanceTerminated": _l("终止"), "ProcessInstanceSuspended": _l("挂起"),
    "TaskCreated": _l("任务到达"), "TaskCompleted": _l("任务办结"), "TaskClaimed": _l("认领"),
    "TaskUnclaimed": _l("退回认领"), "TaskAssigned": _l("转办"), "TaskDelegated": _l("委派"),
    "TaskResolved": _l("委派办结"), "TaskCancelled": _l("任务取消"), "CommentAdded": _l("审批意见"),
    "TaskDeadlineWarning": _l("预警"), "TaskOverdue": _l("超期"), "TaskUrged": _l("催办"),
    "TaskDeemedApproved": _l("超时默认同意"), "TaskEscalated": _l("升级督办"), "MessageCorrelated": _l("消息"),
    "VariablesSet": _l("数据变更"), "TaskReturned": _l("退回"), "CorrectionRequested": _l("要求补正"),
    "CorrectionReceived": _l("补正已收到"), "CaseClockSuspended": _l("暂停计时"), "CaseClockResumed": _l("恢复计时"),
    "IntakeAccepted": _l("窗口受理"), "CaseClockStarted": _l("受理，开始计时"), "CaseClockStopped": _l("停止计时"),
    "CaseClockExtended": _l("延期"), "CaseOverdue": _l("办件超期"), "CaseDeadlineWarning": _l("办件预警"),
    "ExternalTaskCompleted": _l("自动办理完成"), "JobExecuted": _l("定时器触发"), "ActivitiesInterrupted": _l("中断办理"),
}
TIMELINE_LABELS = {**CASE_EVENT_LABELS, **EVENT_LABELS}  # the task page's own words first, the case page's else
# the timeline shows these events' reason (退回, 补正)
REASON_EVENTS = ("TaskReturned", "CorrectionRequested", "CaseClockSuspended")
HIDDEN_VARIABLES = ("password",)


def _task(task_id: str, action: str) -> Any:
    task = engine().tasks.task(task_id)  # NotFound -> 404 page
    require_task_access(access(), task, action)  # Forbidden -> 403 page
    return task


def _fields(task: Any) -> list[forms.Field]:
    try:
        return forms.build(engine().tasks.form_fields(task.id))
    except NotFound:
        return []


def _conflict_message(exc: Exception, task_id: str) -> str:
    """What happened meanwhile, in the user's words."""
    try:
        now = engine().tasks.task(task_id)
    except NotFound:
        return _("此任务已不存在（办件可能已被终止）。您填写的内容保留在下方，尚未提交。")
    me = access().user_id
    if now.state == "CANCELLED" and now.completed_by:
        return _("此任务已被 %(user)s 退回。您填写的内容保留在下方，尚未提交。", user=now.completed_by)
    if now.state != "ACTIVE":
        if now.completed_by:
            return _("此任务已由 %(user)s 办结。您填写的内容保留在下方，尚未提交。", user=now.completed_by)
        return _("此任务已结束（流程已继续或被取消）。您填写的内容保留在下方，尚未提交。")
    if isinstance(exc, SuspendedEntity) or now.suspended:
        return _("办件已挂起，暂不能办理。您填写的内容保留在下方，尚未提交。")
    if engine().tasks.pending_correction(now.instance_id) is not None:
        return _("办件正在等待补正，补正材料收到后才能办理。您填写的内容保留在下方，尚未提交。")
    if now.assignee and now.assignee != me:
        return _("此任务已由 %(user)s 办理（已被认领或转办）。您填写的内容保留在下方，尚未提交。", user=now.assignee)
    if isinstance(exc, TaskAlreadyClaimed | TaskNotActive):
        return str(exc)
    return _("此办件刚被他人修改，请核对后重新提交。您填写的内容保留在下方。") + f" ({exc})"


def _refusal(target: Any) -> str:
    """Why a task cannot be returned to ``target`` (a ReturnTarget), in the user's words."""
    if target.why == "returnTargets":
        return _("流程图不允许退回到此环节。")
    if target.why == "running":
        return _("并行分支“%(names)s”尚在办理，退回会取消它们。", names=_("、").join(target.blocking))
    if target.why == "joined":
        return _("此环节属于已汇合的并行分支，请退回到分支之前的环节。")
    return target.refusal or ""


def _may_act(task: Any) -> bool:
    """退回 and 补正: the task's holder or candidates with the complete capability, and supervisors."""
    acc = access()
    return acc.may_task(task, "complete") or acc.may("supervise")


def _render(task: Any, fields: list[forms.Field] | None = None, *, comment: str = "", comment_error: str | None = None,
            error: str | None = None, status: int = 200, kept: dict[str, str] | None = None,
            kept_errors: dict[str, str] | None = None) -> Any:
    eng, acc = engine(), access()
    fields = _fields(task) if fields is None else fields
    now = eng.clock.now()
    variables: dict[str, Any] = {}
    try:
        variables = {k: v for k, v in eng.runtime.variables(task.instance_id).items() if k not in HIDDEN_VARIABLES}
    except NotFound:
        pass
    events = eng.history.events(task.instance_id)
    days_left = None
    if task.due is not None and task.state == "ACTIVE":
        from engine.caseclock.config import working_days_left

        days_left = working_days_left(eng.calendar.calendar(), now, task.due)
    candidates: list[str] = []
    for group in task.candidate_groups:
        candidates += [u.id for u in eng.identity.users(group=group, active=True)]
    item = ""
    try:
        d = eng.repository.definition(definition_id=task.definition_id)
        item = d.name or d.key
    except NotFound:
        pass
    me = acc.user_id
    active = task.state == "ACTIVE"
    delegated_to_me = task.delegation_state == "PENDING" and task.assignee == me
    may = {
        "claim": active and task.assignee is None and acc.may_task(task, "claim"),
        "unclaim": active and task.assignee == me and not task.owner and acc.may_task(task, "unclaim"),
        "complete": active and not delegated_to_me and (task.assignee in (None, me) or task.owner == me)
        and task.delegation_state != "PENDING" and acc.may_task(task, "complete"),
        "resolve": active and delegated_to_me and acc.may_task(task, "resolve"),
        "assign": active and acc.may_task(task, "assign"),
        "delegate": active and task.assignee in (None, me) and acc.may_task(task, "delegate"),
    }
    correction = eng.tasks.pending_correction(task.instance_id) if active else None
    act = active and task.origin is None and _may_act(task)
    holder = task.assignee in (None, me) or task.owner == me  # a task claimed by another: theirs to return
    targets: list[Any] = []
    if act and holder and task.delegation_state != "PENDING" and correction is None:
        targets = eng.tasks.return_targets(task.id, include_refused=True)
    case_clock = None
    if act:
        try:
            case_clock = eng.cases.clock(task.instance_id)
        except NotFound:
            pass
    if correction is not None:  # the case waits for 补正: nothing moves it until the materials come
        may["complete"] = False
    may["return"] = any(t.allowed for t in targets)
    may["correction"] = act and holder and correction is None and case_clock is not None \
        and case_clock.state == "RUNNING"
    may["correction_received"] = correction is not None and act
    return render_template("task.html", task=task, fields=fields, variables=variables,
                           comments=eng.tasks.comments(task.id), events=events, event_labels=TIMELINE_LABELS,
                           signal=task.signal(now), days_left=days_left, may=may, comment=comment,
                           comment_error=comment_error, error=error, candidates=sorted(set(candidates)),
                           item=item, targets=targets, refusal=_refusal, correction=correction,
                           reason_events=REASON_EVENTS, kept=kept or {}, kept_errors=kept_errors or {}), status


@bp.route("/tasks/<task_id>")
@login_required
def task_page(task_id: str) -> Any:
    return _render(_task(task_id, "read"))


def _submit(task_id: str, action: str) -> Any:
    eng, me = engine(), access().user_id
    task = _task(task_id, action)
    fields = _fields(task)
    result = forms.parse(fields, request.form, request.files, data_dir_materials())
    if task.state != "ACTIVE":
        return _render(task, result.fields, comment=result.comment,
                       error=_conflict_message(TaskNotActive("ended"), task_id), status=409)
    if not result.ok:
        return _render(task, result.fields, comment=result.comment, comment_error=result.comment_error,
                       error=_("请按提示修改后重新提交。"), status=422)
    try:
        if action == "resolve":
            eng.tasks.resolve(task_id, me, result.variables)
        else:
            eng.tasks.complete(task_id, me, result.variables)
    except Conflict as exc:
        return _render(eng.tasks.task(task_id), result.fields, comment=result.comment,
                       error=_conflict_message(exc, task_id), status=409)
    except InvalidInput as exc:
        return _render(task, result.fields, comment=result.comment, error=str(exc), status=400)
    if result.comment:
        eng.tasks.comment(task_id, result.comment, me)
    flash(_("“%(name)s”已办结。", name=task.name or task.task_definition_key) if action == "complete"
          else _("“%(name)s”已办理完毕，交回委派人。", name=task.name or task.task_definition_key), "success")
    return redirect(url_for("inbox.inbox"))


def data_dir_materials() -> Any:
    from flask import current_app

    return data_dir(current_app) / "materials"


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: str) -> Any:
    return _submit(task_id, "complete")


@bp.route("/tasks/<task_id>/resolve", methods=["POST"])
@login_required
def resolve(task_id: str) -> Any:
    return _submit(task_id, "resolve")


def _back(task_id: str) -> Any:
    return redirect(safe_next(request.form.get("next"), url_for("tasks.task_page", task_id=task_id)))


def _simple(task_id: str, action: str, run: Any, done: str) -> Any:
    task = _task(task_id, action)
    try:
        run(task)
    except Conflict as exc:
        flash(_("操作未完成：%(reason)s", reason=_short_conflict(exc, task_id)), "error")
        return _back(task_id)
    except InvalidInput as exc:
        flash(_("操作未完成：%(reason)s", reason=str(exc)), "error")
        return _back(task_id)
    flash(done, "success")
    return _back(task_id)


def _short_conflict(exc: Exception, task_id: str) -> str:
    try:
        now = engine().tasks.task(task_id)
    except NotFound:
        return _("此任务已不存在。")
    if now.state == "CANCELLED" and now.completed_by:
        return _("此任务已被 %(user)s 退回。", user=now.completed_by)
    if now.state != "ACTIVE":
        return _("此任务已由 %(user)s 办结。", user=now.completed_by or "?")
    if now.assignee and now.assignee != access().user_id:
        return _("此任务已由 %(user)s 认领。", user=now.assignee)
    return str(exc)


def _user(field: str) -> str:
    user_id = (request.form.get(field) or "").strip()
    if not user_id:
        raise InvalidInput(_("请填写办理人的用户名。"))
    try:
        view = engine().identity.user(user_id)
    except NotFound:
        raise InvalidInput(_("用户 %(user)s 不存在。", user=user_id)) from None
    if not view.active:
        raise InvalidInput(_("用户 %(user)s 已停用。", user=user_id))
    return view.id


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: str) -> Any:
    me = access().user_id
    return _simple(task_id, "claim", lambda t: engine().tasks.claim(t.id, me), _("已认领。"))


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: str) -> Any:
    me = access().user_id

    def run(t: Any) -> None:
        if t.assignee != me and not access().may_task(t, "assign"):
            raise TaskAlreadyClaimed(_("此任务已由 %(user)s 认领。", user=t.assignee or "?"))
        engine().tasks.unclaim(t.id, me)
    return _simple(task_id, "unclaim", run, _("已退回部门待认领。"))


@bp.route("/tasks/<task_id>/transfer", methods=["POST"])
@login_required
def transfer(task_id: str) -> Any:
    me = access().user_id

    def run(t: Any) -> None:
        engine().tasks.set_assignee(t.id, _user("user"), actor=me)
    return _simple(task_id, "assign", run, _("已转办。"))


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id: str) -> Any:
    me = access().user_id

    def run(t: Any) -> None:
        engine().tasks.delegate(t.id, _user("user"), actor=me)
    return _simple(task_id, "delegate", run, _("已委派。"))


# --- 退回 and 补正 ----------------------------------------------------------------------------------------------
def _act(task_id: str) -> Any:
    """The task, if the user may return it or request/receive 补正 (403 otherwise)."""
    task = _task(task_id, "read")
    if not _may_act(task):
        require_task_access(access(), task, "complete")  # raises Forbidden with the sentence
    return task


def _kept_page(task_id: str, kept: dict[str, str], *, error: str, status: int,
               kept_errors: dict[str, str] | None = None) -> Any:
    try:
        task = engine().tasks.task(task_id)
    except NotFound:
        flash(error, "error")
        return redirect(url_for("inbox.inbox"))
    return _render(task, error=error, status=status, kept=kept, kept_errors=kept_errors)


@bp.route("/tasks/<task_id>/return", methods=["POST"])
@login_required
def return_task(task_id: str) -> Any:
    """退回: the task ends and the chosen earlier step is active again, back with whoever did it last time."""
    me = access().user_id
    task = _act(task_id)
    kept = {"target": (request.form.get("target") or "").strip(), "reason": (request.form.get("reason") or "").strip()}
    errors = {}
    if not kept["target"]:
        errors["target"] = _("请选择退回到哪个环节。")
    if not kept["reason"]:
        errors["reason"] = _("请填写退回理由。")
    if errors:
        return _kept_page(task_id, kept, error=_("请按提示修改后重新提交。"), status=422, kept_errors=errors)
    try:
        engine().tasks.return_to(task.id, kept["target"], kept["reason"], me)
    except Conflict as exc:
        message = _conflict_message(exc, task_id)
        target = next((t for t in engine().tasks.return_targets(task_id, include_refused=True)
                       if t.activity_id == kept["target"] and not t.allowed), None) \
            if engine().tasks.task(task_id).state == "ACTIVE" else None
        if target is not None:
            message = _("不能退回到“%(name)s”：%(why)s", name=target.name, why=_refusal(target))
        elif engine().tasks.task(task_id).state == "ACTIVE" and not isinstance(exc, TaskAlreadyClaimed) \
                and engine().tasks.pending_correction(task.instance_id) is None:
            message = str(exc)
        return _kept_page(task_id, kept, error=message, status=409)
    except InvalidInput as exc:
        return _kept_page(task_id, kept, error=_("不能退回到此环节：%(reason)s", reason=str(exc)), status=422,
                          kept_errors={"target": _("请选择列表中的环节。")})
    flash(_("“%(name)s”已退回。", name=task.name or task.task_definition_key), "success")
    return redirect(url_for("inbox.inbox"))


def _expected_days(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) > 365:
        raise InvalidInput(_("预计天数请填写 0 到 365 之间的整数。"))
    return int(text)


@bp.route("/tasks/<task_id>/correction", methods=["POST"])
@login_required
def request_correction(task_id: str) -> Any:
    """要求补正: the listed materials are missing; the case clock stops until they come."""
    me = access().user_id
    task = _act(task_id)
    kept = {"materials": (request.form.get("materials") or "").strip(),
            "correction_reason": (request.form.get("correction_reason") or "").strip(),
            "expected_days": (request.form.get("expected_days") or "").strip()}
    try:
        days = _expected_days(kept["expected_days"])
    except InvalidInput as exc:
        return _kept_page(task_id, kept, error=_("请按提示修改后重新提交。"), status=422,
                          kept_errors={"expected_days": str(exc)})
    if not kept["materials"] and not kept["correction_reason"]:
        return _kept_page(task_id, kept, error=_("请按提示修改后重新提交。"), status=422,
                          kept_errors={"materials": _("请列出需补正的材料或填写补正原因。")})
    try:
        engine().tasks.request_correction(task.id, materials=kept["materials"], reason=kept["correction_reason"],
                                          expected_days=days, user_id=me)
    except Conflict as exc:
        now = engine().tasks.task(task_id)
        if now.state != "ACTIVE":
            message = _conflict_message(exc, task_id)
        elif engine().tasks.pending_correction(task.instance_id) is not None:
            message = _("办件已在等待补正，不能重复要求。")
        else:
            message = _("不能要求补正：%(reason)s", reason=str(exc))
        return _kept_page(task_id, kept, error=message, status=409)
    except InvalidInput as exc:
        return _kept_page(task_id, kept, error=str(exc), status=422)
    flash(_("已要求补正，办件暂停计时。"), "success")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.route("/tasks/<task_id>/correction-received", methods=["POST"])
@login_required
def correction_received(task_id: str) -> Any:
    """补正已收到: the clock runs again; every running deadline moves by the suspended working days."""
    me = access().user_id
    task = _act(task_id)
    note = (request.form.get("note") or "").strip()
    try:
        view = engine().tasks.correction_received(task.id, user_id=me, note=note)
    except Conflict:
        return _kept_page(task_id, {"note": note}, error=_("办件没有在等待补正（可能已由他人登记收到）。"), status=409)
    suspension = view.suspensions[-1] if view.suspensions else {}
    flash(_("补正材料已收到，恢复计时（暂停 %(n)s 个工作日）。", n=suspension.get("workingDays", 0)), "success")
    return redirect(url_for("tasks.task_page", task_id=task_id))
