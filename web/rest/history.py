"""``/history``: historic process instances (running and ended cases), historic task instances (every task row,
open and ended) and historic activity instances (user and external tasks, from the history events)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from engine.tasks.queries import TaskQuery
from engine.types import HistoricActivityView, HistoricInstanceView, TaskView

from . import common
from .common import ERR, RestError, camunda_date, engine, flag, integer, json_response, operation, parse_date

bp = Blueprint("rest_history", __name__)


def _millis(start: Any, end: Any) -> int | None:
    return None if start is None or end is None else int((end - start).total_seconds() * 1000)


def instance_dto(h: HistoricInstanceView) -> dict[str, Any]:
    return {"id": h.id, "rootProcessInstanceId": h.id, "superProcessInstanceId": None, "superCaseInstanceId": None,
            "caseInstanceId": None, "processDefinitionName": h.definition_name,
            "processDefinitionKey": h.definition_key, "processDefinitionVersion": h.definition_version,
            "processDefinitionId": h.definition_id, "businessKey": h.business_key,
            "startTime": camunda_date(h.start_time), "endTime": camunda_date(h.end_time), "removalTime": None,
            "durationInMillis": _millis(h.start_time, h.end_time), "startUserId": h.start_user,
            "startActivityId": None, "deleteReason": h.delete_reason, "tenantId": None, "state": h.state,
            "restartedProcessInstanceId": None}


_INSTANCE_SORT = {"instanceId": "instanceId", "definitionId": "definitionId", "definitionKey": "definitionKey",
                  "businessKey": "businessKey", "startTime": "startTime", "endTime": "endTime"}


def _instances(params: dict[str, Any], paged: bool = True) -> list[HistoricInstanceView]:
    common.refuse_unsupported(params, ("superProcessInstanceId", "subProcessInstanceId", "caseInstanceId",
                                       "tenantIdIn", "withoutTenantId", "variables", "incidentType",
                                       "withIncidents", "activityIdIn", "executedActivityAfter",
                                       "executedActivityBefore", "orQueries"))
    order = common.sorting(params, _INSTANCE_SORT)

    def date(name: str) -> Any:
        return parse_date(params[name], name) if params.get(name) not in (None, "") else None

    return engine().history.process_instances(
        instance_id=params.get("processInstanceId"),
        instance_ids=tuple(common.string_list(params.get("processInstanceIds"), "processInstanceIds")),
        business_key=params.get("processInstanceBusinessKey"),
        business_key_like=params.get("processInstanceBusinessKeyLike"),
        definition_id=params.get("processDefinitionId"), definition_key=params.get("processDefinitionKey"),
        finished=flag(params.get("finished"), "finished"), unfinished=flag(params.get("unfinished"), "unfinished"),
        state=params.get("state"), started_by=params.get("startedBy"), started_before=date("startedBefore"),
        started_after=date("startedAfter"), finished_before=date("finishedBefore"),
        finished_after=date("finishedAfter"), sort_by=order[0] if order else None,
        sort_order=order[1] if order else "asc",
        first_result=(integer(params.get("firstResult"), "firstResult") or 0) if paged else 0,
        max_results=integer(params.get("maxResults"), "maxResults") if paged else None)


@bp.route("/history/process-instance", methods=["GET", "POST"])
def process_instances() -> Any:
    _require_read_all()
    return jsonify([instance_dto(h) for h in _instances(common.query_or_body())])


@bp.route("/history/process-instance/count", methods=["GET", "POST"])
def process_instances_count() -> Any:
    _require_read_all()
    return jsonify({"count": len(_instances(common.query_or_body(), paged=False))})


@bp.get("/history/process-instance/<instance_id>")
def process_instance(instance_id: str) -> Any:
    _require_read_all()
    return jsonify(instance_dto(engine().history.process_instance(instance_id)))


def _require_read_all() -> None:
    common.require_read_all()


# --- tasks -------------------------------------------------------------------------------------------------------
_DELETE_REASON = {"COMPLETED": "completed", "CANCELLED": "deleted"}
_TASK_STATE = {"ACTIVE": "Created", "COMPLETED": "Completed", "CANCELLED": "Deleted"}


def task_dto(t: TaskView, definition_keys: dict[str, str]) -> dict[str, Any]:
    return {"id": t.id, "processDefinitionKey": definition_keys.get(t.definition_id),
            "processDefinitionId": t.definition_id, "processInstanceId": t.instance_id, "executionId": t.instance_id,
            "caseDefinitionKey": None, "caseDefinitionId": None, "caseInstanceId": None, "caseExecutionId": None,
            "activityInstanceId": f"{t.task_definition_key}:{t.id}", "name": t.name, "description": t.description,
            "deleteReason": _DELETE_REASON.get(t.state), "owner": t.owner, "assignee": t.assignee,
            "startTime": camunda_date(t.created), "endTime": camunda_date(t.ended_at),
            "duration": _millis(t.created, t.ended_at), "taskDefinitionKey": t.task_definition_key,
            "priority": t.priority, "due": camunda_date(t.due), "parentTaskId": t.parent_task_id,
            "followUp": camunda_date(t.follow_up), "tenantId": None, "removalTime": None,
            "rootProcessInstanceId": t.instance_id, "taskState": _TASK_STATE.get(t.state, t.state),
            "completedBy": t.completed_by, "businessKey": t.business_key}


_TASK_SORT = {"taskId": "id", "startTime": "created", "dueDate": "dueDate", "followUpDate": "followUpDate",
              "priority": "priority", "taskName": "name", "assignee": "assignee"}


def _tasks(params: dict[str, Any], paged: bool = True) -> list[TaskView]:
    common.refuse_unsupported(params, ("taskParentTaskId", "executionId", "activityInstanceIdIn",
                                       "processDefinitionId", "processDefinitionName", "taskName", "taskNameLike",
                                       "taskDescription", "taskDeleteReason", "taskOwner", "taskPriority",
                                       "assigned", "withCandidateGroups", "withoutCandidateGroups",
                                       "taskVariables", "processVariables", "tenantIdIn", "orQueries",
                                       "taskInvolvedUser", "taskInvolvedGroup", "taskHadCandidateUser",
                                       "taskHadCandidateGroup", "taskDueDate", "taskFollowUpDate",
                                       "startedBefore", "startedAfter", "finishedBefore", "finishedAfter"))
    order = common.sorting(params, _TASK_SORT)
    finished, unfinished = flag(params.get("finished"), "finished"), flag(params.get("unfinished"), "unfinished")

    def date(name: str) -> Any:
        return parse_date(params[name], name) if params.get(name) not in (None, "") else None

    query = TaskQuery(
        state="ACTIVE" if unfinished else None, assignee=params.get("taskAssignee"),
        unassigned=flag(params.get("unassigned"), "unassigned"),
        candidate_group=params.get("taskCandidateGroup") or None,
        candidate_user=params.get("taskCandidateUser") or None,
        instance_id=params.get("processInstanceId"), business_key=params.get("processInstanceBusinessKey"),
        task_definition_key=params.get("taskDefinitionKey"), definition_key=params.get("processDefinitionKey"),
        due_before=date("taskDueBefore"), due_after=date("taskDueAfter"),
        follow_up_before=date("taskFollowUpBefore"), sort_by=order[0] if order else "created",
        sort_order=order[1] if order else "asc")
    who = common.access()
    if who is not None:
        query = who.restrict(query)
    items = engine().tasks.list(query)
    if params.get("taskId"):
        items = [t for t in items if t.id == params["taskId"]]
    if finished:
        items = [t for t in items if t.state != "ACTIVE"]
    return common.page(items, params) if paged else items


def _definition_keys() -> dict[str, str]:
    return {d.id: d.key for d in engine().repository.definitions()}


@bp.route("/history/task", methods=["GET", "POST"])
def tasks() -> Any:
    keys = _definition_keys()
    return jsonify([task_dto(t, keys) for t in _tasks(common.query_or_body())])


@bp.route("/history/task/count", methods=["GET", "POST"])
def tasks_count() -> Any:
    return jsonify({"count": len(_tasks(common.query_or_body(), paged=False))})


# --- activity instances -----------------------------------------------------------------------------------------
def activity_dto(a: HistoricActivityView) -> dict[str, Any]:
    return {"id": a.id, "parentActivityInstanceId": a.instance_id, "activityId": a.activity_id,
            "activityName": a.activity_name, "activityType": a.activity_type,
            "processDefinitionKey": a.definition_key, "processDefinitionId": a.definition_id,
            "processInstanceId": a.instance_id, "executionId": a.task_id or a.instance_id, "taskId": a.task_id,
            "calledProcessInstanceId": None, "calledCaseInstanceId": None, "assignee": a.assignee,
            "startTime": camunda_date(a.start_time), "endTime": camunda_date(a.end_time),
            "durationInMillis": _millis(a.start_time, a.end_time), "canceled": a.canceled, "completeScope": False,
            "tenantId": None, "removalTime": None, "rootProcessInstanceId": a.instance_id}


_ACTIVITY_SORT = {"activityInstanceId": lambda a: a.id, "instanceId": lambda a: a.instance_id,
                  "activityId": lambda a: a.activity_id, "activityName": lambda a: a.activity_name or "",
                  "activityType": lambda a: a.activity_type, "startTime": lambda a: a.start_time,
                  "endTime": lambda a: (a.end_time is None, a.end_time or a.start_time),
                  "duration": lambda a: _millis(a.start_time, a.end_time) or 0}


def _activities(params: dict[str, Any]) -> list[HistoricActivityView]:
    common.refuse_unsupported(params, ("activityInstanceId", "executionId", "processDefinitionId",
                                       "activityName", "activityNameLike", "startedBefore", "startedAfter",
                                       "finishedBefore", "finishedAfter", "tenantIdIn", "completeScope"))
    _require_read_all()
    items = engine().history.activity_instances(
        instance_id=params.get("processInstanceId"), activity_id=params.get("activityId"),
        activity_type=params.get("activityType"), task_assignee=params.get("taskAssignee"),
        finished=flag(params.get("finished"), "finished"), unfinished=flag(params.get("unfinished"), "unfinished"),
        canceled=flag(params.get("canceled"), "canceled"))
    order = common.sorting(params, _ACTIVITY_SORT)
    if order:
        key, direction = order
        items = sorted(items, key=key, reverse=direction == "desc")
    return items


@bp.route("/history/activity-instance", methods=["GET", "POST"])
def activity_instances() -> Any:
    params = common.query_or_body()
    return jsonify([activity_dto(a) for a in common.page(_activities(params), params)])


@bp.route("/history/activity-instance/count", methods=["GET", "POST"])
def activity_instances_count() -> Any:
    return jsonify({"count": len(_activities(common.query_or_body()))})


_PI_QUERY = common.query(
    "processInstanceId", "processInstanceIds", "processInstanceBusinessKey", "processInstanceBusinessKeyLike",
    "processDefinitionId", "processDefinitionKey", "finished:boolean", "unfinished:boolean", "state", "startedBy",
    "startedBefore", "startedAfter", "finishedBefore", "finishedAfter", "sortBy", "sortOrder",
    "firstResult:integer", "maxResults:integer")
_TASK_QUERY = common.query(
    "taskId", "processInstanceId", "processInstanceBusinessKey", "processDefinitionKey", "taskDefinitionKey",
    "taskAssignee", "taskCandidateGroup", "taskCandidateUser", "unassigned:boolean", "finished:boolean",
    "unfinished:boolean", "taskDueBefore", "taskDueAfter", "taskFollowUpBefore", "sortBy", "sortOrder",
    "firstResult:integer", "maxResults:integer")
_ACT_QUERY = common.query(
    "processInstanceId", "activityId", "activityType", "taskAssignee", "finished:boolean", "unfinished:boolean",
    "canceled:boolean", "sortBy", "sortOrder", "firstResult:integer", "maxResults:integer")


def _list_paths(path: str, name: str, schema: str, params: list[Any]) -> dict[str, Any]:
    count = {"200": json_response("Count", "CountResultDto"), "400": ERR}
    items = {"200": json_response(name, schema, True), "400": ERR}
    return {
        path: {"get": operation(f"get{name}", "History", name, items, parameters=params),
               "post": operation(f"query{name}", "History", f"{name} (query in the body)", items,
                                 parameters=common.query("firstResult:integer", "maxResults:integer"),
                                 request_body=common.json_body({"type": "object"}))},
        f"{path}/count": {"get": operation(f"get{name}Count", "History", f"Number of {name}", count,
                                           parameters=params),
                          "post": operation(f"query{name}Count", "History", f"Number of {name}", count,
                                            request_body=common.json_body({"type": "object"}))},
    }


OPENAPI: dict[str, Any] = {
    "paths": {
        **_list_paths("/history/process-instance", "HistoricProcessInstances", "HistoricProcessInstanceDto",
                      _PI_QUERY),
        "/history/process-instance/{id}": {"get": operation(
            "getHistoricProcessInstance", "History", "One historic case",
            {"200": json_response("The case", "HistoricProcessInstanceDto"), "404": ERR},
            parameters=common.path_params("id"))},
        **_list_paths("/history/task", "HistoricTaskInstances", "HistoricTaskInstanceDto", _TASK_QUERY),
        **_list_paths("/history/activity-instance", "HistoricActivityInstances", "HistoricActivityInstanceDto",
                      _ACT_QUERY),
    },
    "components": {"schemas": {
        "HistoricProcessInstanceDto": common.props(
            "id", "rootProcessInstanceId", "superProcessInstanceId", "superCaseInstanceId", "caseInstanceId",
            "processDefinitionName", "processDefinitionKey", "processDefinitionVersion:integer",
            "processDefinitionId", "businessKey", "startTime:date", "endTime:date", "removalTime:date",
            "durationInMillis:integer", "startUserId", "startActivityId", "deleteReason", "tenantId", "state",
            "restartedProcessInstanceId"),
        "HistoricTaskInstanceDto": common.props(
            "id", "processDefinitionKey", "processDefinitionId", "processInstanceId", "executionId",
            "caseDefinitionKey", "caseDefinitionId", "caseInstanceId", "caseExecutionId", "activityInstanceId",
            "name", "description", "deleteReason", "owner", "assignee", "startTime:date", "endTime:date",
            "duration:integer", "taskDefinitionKey", "priority:integer", "due:date", "parentTaskId",
            "followUp:date", "tenantId", "removalTime:date", "rootProcessInstanceId", "taskState", "completedBy",
            "businessKey"),
        "HistoricActivityInstanceDto": common.props(
            "id", "parentActivityInstanceId", "activityId", "activityName", "activityType", "processDefinitionKey",
            "processDefinitionId", "processInstanceId", "executionId", "taskId", "calledProcessInstanceId",
            "calledCaseInstanceId", "assignee", "startTime:date", "endTime:date", "durationInMillis:integer",
            "canceled:boolean", "completeScope:boolean", "tenantId", "removalTime:date", "rootProcessInstanceId"),
    }},
}
