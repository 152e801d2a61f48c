"""/tasks/<id>: the task page (form from the task's camunda:formFields, case data, comments 审批意见, the case
timeline) and its actions: complete, claim/unclaim, transfer (转办: set the assignee), delegate (委派), resolve.

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
    "VariablesSet": _l("数据变更"),
}
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
    if now.state != "ACTIVE":
        if now.completed_by:
            return _("此任务已由 %(user)s 办结。您填写的内容保留在下方，尚未提交。", user=now.completed_by)
        return _("此任务已结束（流程已继续或被取消）。您填写的内容保留在下方，尚未提交。")
    if isinstance(exc, SuspendedEntity) or now.suspended:
        return _("办件已挂起，暂不能办理。您填写的内容保留在下方，尚未提交。")
    if now.assignee and now.assignee != me:
        return _("此任务已由 %(user)s 办理（已被认领或转办）。您填写的内容保留在下方，尚未提交。", user=now.assignee)
    if isinstance(exc, TaskAlreadyClaimed | TaskNotActive):
        return str(exc)
    return _("此办件刚被他人修改，请核对后重新提交。您填写的内容保留在下方。") + f" ({exc})"


def _render(task: Any, fields: list[forms.Field] | None = None, *, comment: str = "", comment_error: str | None = None,
            error: str | None = None, status: int = 200) -> Any:
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
    return render_template("task.html", task=task, fields=fields, variables=variables,
                           comments=eng.tasks.comments(task.id), events=events, event_labels=EVENT_LABELS,
                           signal=task.signal(now), days_left=days_left, may=may, comment=comment,
                           comment_error=comment_error, error=error, candidates=sorted(set(candidates)),
                           item=item), status


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
