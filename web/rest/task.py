"""``/task``: the inbox - query (GET/POST) and count, get, claim/unclaim/assignee/delegate/resolve/complete,
submit-form and form-variables (``camunda:formField``), comments, identity links, variables, the candidate-group
report. With authentication on, lists and counts hold only the caller's tasks (their own, their departments'),
and acting on another department's task is a 403 AuthorizationException."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, jsonify, request

from engine.tasks.queries import TaskQuery
from engine.types import CommentView, TaskView

from . import common
from .common import (ERR, NO_CONTENT, RestError, camunda_date, engine, flag, integer, json_response, operation,
                     parse_date, variables_in, variables_out)

bp = Blueprint("rest_task", __name__)

_TASK_STATE = {"ACTIVE": "Created", "COMPLETED": "Completed", "CANCELLED": "Deleted"}


def task_dto(t: TaskView) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "assignee": t.assignee, "owner": t.owner, "created": camunda_date(t.created),
            "lastUpdated": None, "due": camunda_date(t.due), "followUp": camunda_date(t.follow_up),
            "delegationState": t.delegation_state, "description": t.description, "executionId": t.instance_id,
            "parentTaskId": t.parent_task_id, "priority": t.priority, "processDefinitionId": t.definition_id,
            "processInstanceId": t.instance_id, "taskDefinitionKey": t.task_definition_key,
            "caseExecutionId": None, "caseInstanceId": None, "caseDefinitionId": None, "suspended": t.suspended,
            "formKey": t.form_key, "camundaFormRef": None, "tenantId": None,
            "taskState": _TASK_STATE.get(t.state, t.state),
            # OneWindow's own (not in Camunda's TaskDto)
            "businessKey": t.business_key, "candidateGroups": list(t.candidate_groups),
            "candidateUsers": list(t.candidate_users), "origin": t.origin, "deemed": t.deemed}


# --- queries ---------------------------------------------------------------------------------------------------
_SORT = {"created": "created", "dueDate": "dueDate", "followUpDate": "followUpDate", "priority": "priority",
         "name": "name", "assignee": "assignee", "id": "id"}
_UNSUPPORTED = (
    "processInstanceIdIn", "processInstanceBusinessKeyIn", "processInstanceBusinessKeyLike", "processDefinitionId",
    "processDefinitionKeyIn", "processDefinitionName", "processDefinitionNameLike", "executionId",
    "caseInstanceId", "caseDefinitionId", "caseDefinitionKey", "caseExecutionId", "activityInstanceIdIn",
    "tenantIdIn", "withoutTenantId", "assigneeLike", "assigneeIn", "assigneeNotIn", "involvedUser", "assigned",
    "taskDefinitionKeyIn", "taskDefinitionKeyLike", "name", "nameNotEqual", "nameLike", "nameNotLike",
    "description", "descriptionLike", "priority", "maxPriority", "minPriority", "dueDate", "dueDateExpression",
    "followUpDate", "followUpAfter", "followUpBeforeOrNotExistent", "createdOn", "createdBefore", "createdAfter",
    "updatedAfter", "delegationState", "withCandidateGroups", "withoutCandidateGroups", "withCandidateUsers",
    "withoutCandidateUsers", "parentTaskId", "taskVariables", "processVariables", "caseInstanceVariables",
    "orQueries", "candidateGroupLike", "candidateGroupsExpression", "candidateUserExpression")


def task_query(params: dict[str, Any], *, paged: bool = True) -> TaskQuery:
    """A TaskQuery from Camunda's task query parameters (query string or POST body), limited to what the caller
    may see."""
    common.refuse_unsupported(params, _UNSUPPORTED)
    if flag(params.get("suspended"), "suspended"):
        raise RestError(400, "query parameter 'suspended' is not supported by OneWindow (docs/rest.md)")
    groups = tuple(common.string_list(params.get("candidateGroups"), "candidateGroups"))
    group = common.text(params.get("candidateGroup"), "candidateGroup")
    user = common.text(params.get("candidateUser"), "candidateUser")
    unassigned = flag(params.get("unassigned"), "unassigned")
    if (group or groups or user) and not flag(params.get("includeAssignedTasks"), "includeAssignedTasks"):
        unassigned = True  # Camunda: candidate queries return unassigned tasks unless includeAssignedTasks
    order = common.sorting(params, _SORT)
    sort_by, sort_order = order if order else ("created", "asc")

    def date(name: str) -> Any:
        return parse_date(params[name], name) if params.get(name) not in (None, "") else None

    query = TaskQuery(
        assignee=common.text(params.get("assignee"), "assignee"), unassigned=unassigned, candidate_group=group,
        candidate_groups=groups, candidate_user=user,
        instance_id=common.text(params.get("processInstanceId"), "processInstanceId"),
        business_key=common.text(params.get("processInstanceBusinessKey"), "processInstanceBusinessKey"),
        task_definition_key=common.text(params.get("taskDefinitionKey"), "taskDefinitionKey"),
        definition_key=common.text(params.get("processDefinitionKey"), "processDefinitionKey"),
        due_before=date("dueBefore"), due_after=date("dueAfter"), follow_up_before=date("followUpBefore"),
        owner=common.text(params.get("owner"), "owner"), sort_by=sort_by, sort_order=sort_order,
        first_result=(integer(params.get("firstResult"), "firstResult") or 0) if paged else 0,
        max_results=integer(params.get("maxResults"), "maxResults") if paged else None)
    if params.get("taskId"):
        raise RestError(400, "query parameter 'taskId' is not supported: use GET /task/{id}")
    who = common.access()
    return who.restrict(query) if who is not None else query


@bp.route("/task", methods=["GET", "POST"])
def list_tasks() -> Any:
    return jsonify([task_dto(t) for t in engine().tasks.list(task_query(common.query_or_body()))])


@bp.route("/task/count", methods=["GET", "POST"])
def count_tasks() -> Any:
    return jsonify({"count": engine().tasks.count(task_query(common.query_or_body(), paged=False))})


def _task(task_id: str, action: str = "read") -> TaskView:
    view = engine().tasks.task(task_id)
    if view.state != "ACTIVE":  # Camunda's runtime has no ended tasks
        raise RestError(404, f"No matching task with id {task_id} (it is {view.state.lower()}; see "
                             f"/history/task?taskId={task_id})")
    common.require_task(view, action)
    return view


@bp.get("/task/<task_id>")
def get_task(task_id: str) -> Any:
    return jsonify(task_dto(_task(task_id)))


# --- actions ---------------------------------------------------------------------------------------------------
def _user_id(data: dict[str, Any], required: bool = True) -> str | None:
    user = common.text(data.get("userId"), "userId")
    if required and not user:
        raise RestError(400, "the body needs a userId")
    return user


@bp.post("/task/<task_id>/claim")
def claim(task_id: str) -> Any:
    user = _user_id(common.body())
    _task(task_id, "claim")
    engine().tasks.claim(task_id, user)
    return common.no_content()


@bp.post("/task/<task_id>/unclaim")
def unclaim(task_id: str) -> Any:
    _task(task_id, "unclaim")
    engine().tasks.unclaim(task_id, common.current_user())
    return common.no_content()


@bp.post("/task/<task_id>/assignee")
def assignee(task_id: str) -> Any:
    user = _user_id(common.body(), required=False)
    _task(task_id, "assign")
    engine().tasks.set_assignee(task_id, user, actor=common.current_user())
    return common.no_content()


@bp.post("/task/<task_id>/delegate")
def delegate(task_id: str) -> Any:
    user = _user_id(common.body())
    _task(task_id, "delegate")
    engine().tasks.delegate(task_id, user, actor=common.current_user())
    return common.no_content()


@bp.post("/task/<task_id>/resolve")
def resolve(task_id: str) -> Any:
    variables = variables_in(common.body().get("variables"))
    view = _task(task_id, "resolve")
    engine().tasks.resolve(task_id, common.current_user() or view.assignee, variables)
    return common.no_content()


def _complete(task_id: str) -> Any:
    data = common.body()
    variables = variables_in(data.get("variables"))
    want = flag(data.get("withVariablesInReturn"), "withVariablesInReturn")
    who = common.access()
    if who is not None:  # the caller's right is checked inside the completion (one transaction)
        view = engine().tasks.complete(task_id, common.current_user(), variables, access=who)
    else:  # authentication off: complete as the assignee
        view = _task(task_id, "complete")
        engine().tasks.complete(task_id, view.assignee, variables)
    if want:
        return jsonify(variables_out(engine().runtime.variables(view.instance_id)))
    return common.no_content()


@bp.post("/task/<task_id>/complete")
def complete(task_id: str) -> Any:
    return _complete(task_id)


@bp.post("/task/<task_id>/submit-form")
def submit_form(task_id: str) -> Any:
    return _complete(task_id)


_FORM_TYPES = {"string": "String", "long": "Long", "boolean": "Boolean", "date": "Date", "enum": "String"}


@bp.get("/task/<task_id>/form-variables")
def form_variables(task_id: str) -> Any:
    _task(task_id)
    names = common.string_list(common.query_params().get("variableNames"), "variableNames")
    fields = engine().tasks.form_fields(task_id)
    if not fields:  # Camunda: a task without form fields offers all its variables
        values = engine().tasks.variables(task_id)
        return jsonify({k: v for k, v in variables_out(values).items() if not names or k in names})
    out = {}
    for field, value in fields:
        if names and field.id not in names:
            continue
        dto = common.typed(value)
        if value is None:
            dto["type"] = _FORM_TYPES.get(field.type, "String")
        elif field.type == "long" and dto["type"] in ("Integer", "Long"):
            dto["type"] = "Long"
        out[field.id] = dto
    return jsonify(out)


@bp.get("/task/<task_id>/form")
def form(task_id: str) -> Any:
    view = _task(task_id)
    return jsonify({"key": view.form_key, "contextPath": None, "camundaFormRef": None})


# --- comments, identity links, variables --------------------------------------------------------------------
def comment_dto(c: CommentView, instance_id: str | None) -> dict[str, Any]:
    return {"id": c.id, "userId": c.user_id, "taskId": c.task_id, "processInstanceId": c.instance_id or instance_id,
            "time": camunda_date(c.time), "message": c.message, "removalTime": None,
            "rootProcessInstanceId": c.instance_id or instance_id}


def _any_task(task_id: str) -> TaskView:
    view = engine().tasks.task(task_id)  # comments are kept after the task ended
    common.require_task(view, "read")
    return view


@bp.get("/task/<task_id>/comment")
def comments(task_id: str) -> Any:
    view = _any_task(task_id)
    return jsonify([comment_dto(c, view.instance_id) for c in engine().tasks.comments(task_id)])


@bp.get("/task/<task_id>/comment/<comment_id>")
def comment(task_id: str, comment_id: str) -> Any:
    view = _any_task(task_id)
    for c in engine().tasks.comments(task_id):
        if c.id == comment_id:
            return jsonify(comment_dto(c, view.instance_id))
    raise RestError(404, f"No comment found for task id {task_id} and comment id {comment_id}")


@bp.post("/task/<task_id>/comment/create")
def create_comment(task_id: str) -> Any:
    data = common.body()
    message = common.text(data.get("message"), "message")
    if not message:
        raise RestError(400, "the body needs a message")
    view = _task(task_id, "comment")
    c = engine().tasks.comment(task_id, message, user_id=common.current_user())
    return jsonify(comment_dto(c, view.instance_id))


@bp.get("/task/<task_id>/identity-links")
def identity_links(task_id: str) -> Any:
    _task(task_id)
    kind = common.query_params().get("type")
    return jsonify([{"userId": link.user_id, "groupId": link.group_id, "type": link.type}
                    for link in engine().tasks.identity_links(task_id, kind)])


def _link(data: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": common.text(data.get("userId"), "userId"),
            "group_id": common.text(data.get("groupId"), "groupId"),
            "link_type": common.text(data.get("type"), "type") or ""}


@bp.post("/task/<task_id>/identity-links")
def add_identity_link(task_id: str) -> Any:
    link = _link(common.body())
    _task(task_id, "assign")
    engine().tasks.add_identity_link(task_id, actor=common.current_user(), **link)
    return common.no_content()


@bp.post("/task/<task_id>/identity-links/delete")
def delete_identity_link(task_id: str) -> Any:
    link = _link(common.body())
    _task(task_id, "assign")
    engine().tasks.delete_identity_link(task_id, actor=common.current_user(), **link)
    return common.no_content()


@bp.get("/task/<task_id>/variables")
def variables(task_id: str) -> Any:
    _task(task_id)
    return jsonify(variables_out(engine().tasks.variables(task_id)))


@bp.get("/task/<task_id>/variables/<name>")
def variable(task_id: str, name: str) -> Any:
    _task(task_id)
    values = engine().tasks.variables(task_id)
    if name not in values:
        raise RestError(404, f"task variable with name {name} does not exist")
    return jsonify(common.typed(values[name]))


@bp.get("/task/report/candidate-group-count")
def candidate_group_count() -> Any:
    who = common.access()
    counts = engine().tasks.candidate_group_counts()
    if who is not None and not who.sees_all:
        counts = [(g, n) for g, n in counts if g in who.groups]
    return jsonify([{"groupName": g, "taskCount": n} for g, n in counts])


# --- OneWindow's own: 退回 and 补正 (no Camunda counterpart; engine/tasks/returns.py) ---------------------------
def _may_act(task_id: str) -> TaskView:
    """The open task, if the caller may complete it or supervises (a 403 otherwise)."""
    view = engine().tasks.task(task_id)
    if view.state != "ACTIVE":
        raise RestError(404, f"No matching task with id {task_id} (it is {view.state.lower()}; see "
                             f"/history/task?taskId={task_id})")
    who = common.access()
    if who is None or who.may("supervise"):
        return view
    common.require_task(view, "complete")
    return view


@bp.get("/task/<task_id>/return-targets")
def return_targets(task_id: str) -> Any:
    _task(task_id)
    refused = flag(request.args.get("includeRefused"), "includeRefused")
    return jsonify([t.as_json() for t in engine().tasks.return_targets(task_id, include_refused=bool(refused))])


@bp.post("/task/<task_id>/return")
def return_task(task_id: str) -> Any:
    data = common.body()
    target = common.text(data.get("targetActivityId"), "targetActivityId")
    reason = common.text(data.get("reason"), "reason")
    if not target or not reason:
        raise RestError(400, "a return needs targetActivityId and reason")
    view = _may_act(task_id)
    engine().tasks.return_to(task_id, target, reason, common.current_user() or view.assignee)
    return common.no_content()


@bp.post("/task/<task_id>/correction")
def request_correction(task_id: str) -> Any:
    from .case import clock_dto

    data = common.body()
    materials = data.get("materials")
    if materials is not None and not (isinstance(materials, str) or (
            isinstance(materials, list) and all(isinstance(m, str) for m in materials))):
        raise RestError(400, "materials must be a list of strings (or one string, one material per line)")
    _may_act(task_id)
    view = engine().tasks.request_correction(
        task_id, materials=materials, reason=common.text(data.get("reason"), "reason"),
        expected_days=integer(data.get("expectedDays"), "expectedDays"), user_id=common.current_user())
    return jsonify(clock_dto(view))


@bp.post("/task/<task_id>/correction-received")
def correction_received(task_id: str) -> Any:
    from .case import clock_dto

    data = common.body()
    _may_act(task_id)
    view = engine().tasks.correction_received(task_id, user_id=common.current_user(),
                                              note=common.text(data.get("note"), "note"))
    return jsonify(clock_dto(view))


# --- OpenAPI -----------------------------------------------------------------------------------------------------
_ID = common.path_params("id")
_QUERY = common.query(
    "processInstanceId", "processInstanceBusinessKey", "processDefinitionKey", "taskDefinitionKey", "assignee",
    "owner", "candidateGroup", "candidateGroups", "candidateUser", "includeAssignedTasks:boolean",
    "unassigned:boolean", "active:boolean", "dueBefore", "dueAfter", "followUpBefore", "sortBy", "sortOrder",
    "firstResult:integer", "maxResults:integer")
_USER_BODY = common.json_body({"type": "object", "properties": {"userId": {"type": "string", "nullable": True}}},
                              True)
_ACTION = {"204": NO_CONTENT, "400": ERR, "403": ERR, "404": ERR, "500": ERR}
_COMPLETE_BODY = common.json_body({"type": "object", "properties": {
    "variables": common.VARIABLES_SCHEMA, "withVariablesInReturn": {"type": "boolean"}}})
_COMPLETED = {"200": json_response("The case's variables (withVariablesInReturn)", common.VARIABLES_SCHEMA),
              **_ACTION}
_LINK_BODY = common.json_body("IdentityLinkDto", True)


def _action(op: str, summary: str, body: dict[str, Any] | None = None,
            responses: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"post": operation(op, "Task", summary, responses or _ACTION, parameters=_ID, request_body=body)}


OPENAPI: dict[str, Any] = {
    "paths": {
        "/task": {
            "get": operation("getTasks", "Task", "Open tasks (the caller's, with authentication on)",
                             {"200": json_response("Tasks", "TaskDto", True), "400": ERR}, parameters=_QUERY),
            "post": operation("queryTasks", "Task", "Open tasks (query in the body)",
                              {"200": json_response("Tasks", "TaskDto", True), "400": ERR},
                              parameters=common.query("firstResult:integer", "maxResults:integer"),
                              request_body=common.json_body({"type": "object"}))},
        "/task/count": {
            "get": operation("getTasksCount", "Task", "Number of open tasks",
                             {"200": json_response("Count", "CountResultDto"), "400": ERR}, parameters=_QUERY),
            "post": operation("queryTasksCount", "Task", "Number of open tasks (query in the body)",
                              {"200": json_response("Count", "CountResultDto"), "400": ERR},
                              request_body=common.json_body({"type": "object"}))},
        "/task/{id}": {"get": operation("getTask", "Task", "One open task",
                                        {"200": json_response("The task", "TaskDto"), "403": ERR, "404": ERR},
                                        parameters=_ID)},
        "/task/{id}/claim": _action("claim", "Claim (500 TaskAlreadyClaimedException when someone else holds it)",
                                    _USER_BODY),
        "/task/{id}/unclaim": _action("unclaim", "Clear the assignee"),
        "/task/{id}/assignee": _action("setAssignee", "Set or clear the assignee", _USER_BODY),
        "/task/{id}/delegate": _action("delegateTask", "Delegate (the assignee becomes owner)", _USER_BODY),
        "/task/{id}/resolve": _action("resolve", "Resolve a delegated task", _COMPLETE_BODY),
        "/task/{id}/complete": _action("complete", "Complete with variables", _COMPLETE_BODY, _COMPLETED),
        "/task/{id}/submit-form": _action("submit", "Complete with the form's variables", _COMPLETE_BODY,
                                          _COMPLETED),
        "/task/{id}/form-variables": {"get": operation(
            "getFormVariables", "Task", "The camunda:formField values (all variables when the task has no fields)",
            {"200": json_response("Variables", common.VARIABLES_SCHEMA), "404": ERR},
            parameters=_ID + common.query("variableNames", "deserializeValues:boolean"))},
        "/task/{id}/form": {"get": operation(
            "getForm", "Task", "The task's form key", {"200": json_response("Form", "FormDto"), "404": ERR},
            parameters=_ID)},
        "/task/{id}/comment": {"get": operation(
            "getComments", "Task", "Comments", {"200": json_response("Comments", "CommentDto", True), "404": ERR},
            parameters=_ID)},
        "/task/{id}/comment/{commentId}": {"get": operation(
            "getComment", "Task", "One comment", {"200": json_response("Comment", "CommentDto"), "404": ERR},
            parameters=common.path_params("id", "commentId"))},
        "/task/{id}/comment/create": {"post": operation(
            "createComment", "Task", "Add a comment", {"200": json_response("Comment", "CommentDto"), **_ACTION},
            parameters=_ID, request_body=common.json_body({"type": "object", "properties": {
                "message": {"type": "string"}}}, True))},
        "/task/{id}/identity-links": {
            "get": operation("getIdentityLinks", "Task", "Assignee, owner and candidates",
                             {"200": json_response("Links", "IdentityLinkDto", True), "404": ERR},
                             parameters=_ID + common.query("type")),
            "post": operation("addIdentityLink", "Task", "Add a candidate user/group (or set assignee/owner)",
                              _ACTION, parameters=_ID, request_body=_LINK_BODY)},
        "/task/{id}/identity-links/delete": _action("deleteIdentityLink", "Remove an identity link", _LINK_BODY),
        "/task/{id}/variables": {"get": operation(
            "getTaskVariables", "Task", "The variables the task sees",
            {"200": json_response("Variables", common.VARIABLES_SCHEMA), "404": ERR}, parameters=_ID)},
        "/task/{id}/variables/{varName}": {"get": operation(
            "getTaskVariable", "Task", "One variable the task sees",
            {"200": json_response("Variable", "VariableValueDto"), "404": ERR},
            parameters=common.path_params("id", "varName"))},
        "/task/{id}/return-targets": {"get": operation(
            "getReturnTargets", "Task (OneWindow)", "The earlier steps the task may be returned to (退回), nearest "
            "first; includeRefused adds the others on its path with why",
            {"200": json_response("Targets", "ReturnTargetDto", True), "403": ERR, "404": ERR},
            parameters=_ID + common.query("includeRefused:boolean"))},
        "/task/{id}/return": {"post": operation(
            "returnTask", "Task (OneWindow)", "退回: end the task and make an earlier step active again",
            _ACTION, parameters=_ID, request_body=common.json_body({"type": "object", "required": [
                "targetActivityId", "reason"], "properties": {"targetActivityId": {"type": "string"},
                                                              "reason": {"type": "string"}}}, True))},
        "/task/{id}/correction": {"post": operation(
            "requestCorrection", "Task (OneWindow)", "要求补正: suspend the case clock (kind supplement)",
            {"200": json_response("The clock", "CaseClockDto"), "400": ERR, "403": ERR, "404": ERR, "500": ERR},
            parameters=_ID, request_body=common.json_body({"type": "object", "properties": {
                "materials": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"},
                "expectedDays": {"type": "integer", "nullable": True}}}, True))},
        "/task/{id}/correction-received": {"post": operation(
            "correctionReceived", "Task (OneWindow)", "补正已收到: the case clock runs again",
            {"200": json_response("The clock", "CaseClockDto"), "400": ERR, "403": ERR, "404": ERR, "500": ERR},
            parameters=_ID, request_body=common.json_body({"type": "object", "properties": {
                "note": {"type": "string"}}}))},
        "/task/report/candidate-group-count": {"get": operation(
            "getCandidateGroupCount", "Task", "Open tasks per candidate group",
            {"200": json_response("Counts", "TaskCountByCandidateGroupResultDto", True)})},
    },
    "components": {"schemas": {
        "TaskDto": common.props(
            "id", "name", "assignee", "owner", "created:date", "lastUpdated:date", "due:date", "followUp:date",
            "delegationState", "description", "executionId", "parentTaskId", "priority:integer",
            "processDefinitionId", "processInstanceId", "taskDefinitionKey", "caseExecutionId", "caseInstanceId",
            "caseDefinitionId", "suspended:boolean", "formKey", "camundaFormRef:object", "tenantId", "taskState",
            "businessKey", "candidateGroups:array", "candidateUsers:array", "origin", "deemed:boolean"),
        "CommentDto": common.props("id", "userId", "taskId", "processInstanceId", "time:date", "message",
                                   "removalTime:date", "rootProcessInstanceId"),
        "IdentityLinkDto": common.props("userId", "groupId", "type"),
        "FormDto": common.props("key", "contextPath", "camundaFormRef:object"),
        "TaskCountByCandidateGroupResultDto": common.props("groupName", "taskCount:integer"),
        "ReturnTargetDto": common.props("activityId", "name", "assignee", "completedAt", "allowed:boolean",
                                        "refusal", "why", "blocking:array"),
    }},
}
