"""``/process-instance``: running cases - query (GET/POST) and count, get, delete, variables, suspension, the
activity instance tree. Ended cases are history (``/history/process-instance``): here they are 404, as in
Camunda."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.types import ActivityInstanceView, InstanceView

from . import common
from .common import (ERR, NO_CONTENT, RestError, camunda_date, engine, flag, json_response, operation,
                     variable_in, variables_in, variables_out)

bp = Blueprint("rest_process_instance", __name__)


def instance_dto(v: InstanceView) -> dict[str, Any]:
    return {"links": [{"method": "GET", "href": f"{request.host_url.rstrip('/')}/engine-rest/process-instance/{v.id}",
                       "rel": "self"}],
            "id": v.id, "definitionId": v.definition_id, "definitionKey": v.definition_key,
            "businessKey": v.business_key, "caseInstanceId": None, "ended": v.ended, "suspended": v.suspended,
            "tenantId": None}


def running(instance_id: str, action: str | None = "read") -> InstanceView:
    """The running case, after checking the caller may ``action`` it ("read", "operate" for variables of any case,
    "supervise" for suspension and termination)."""
    view = engine().runtime.instance(instance_id)
    if action == "read":
        common.require_case(instance_id)
    elif action:
        common.require(action)
    if view.ended:
        raise RestError(404, f"Process instance with id {instance_id} does not exist (it has ended; see "
                             f"/history/process-instance/{instance_id})", "InvalidRequestException")
    return view


_SORT = {"instanceId": lambda v: v.id, "definitionKey": lambda v: v.definition_key,
         "definitionId": lambda v: v.definition_id, "businessKey": lambda v: v.business_key or "",
         "tenantId": lambda v: ""}


def _list(params: dict[str, Any]) -> list[InstanceView]:
    common.require_read_all()
    common.refuse_unsupported(params, ("caseInstanceId", "superProcessInstance", "subProcessInstance",
                                       "superCaseInstance", "subCaseInstance", "incidentMessage",
                                       "incidentMessageLike", "tenantIdIn", "withoutTenantId", "variables",
                                       "orQueries", "rootProcessInstances", "leafProcessInstances",
                                       "processDefinitionWithoutTenantId", "activityIdIn"))
    business_key = common.text(params.get("businessKey"), "businessKey")
    definition_key = common.text(params.get("processDefinitionKey"), "processDefinitionKey")
    views = [v for v in engine().runtime.instances(business_key=business_key, definition_key=definition_key)
             if not v.ended]
    ids = common.string_list(params.get("processInstanceIds"), "processInstanceIds")
    keys_in = common.string_list(params.get("processDefinitionKeyIn"), "processDefinitionKeyIn")
    keys_not_in = common.string_list(params.get("processDefinitionKeyNotIn"), "processDefinitionKeyNotIn")
    like = params.get("businessKeyLike")
    if like:
        import fnmatch

        pattern = str(like).replace("%", "*").replace("_", "?")
    if params.get("deploymentId"):
        definitions = {d.id for d in engine().repository.definitions() if d.deployment_id == params["deploymentId"]}
    out = []
    for v in views:
        if ids and v.id not in ids or keys_in and v.definition_key not in keys_in:
            continue
        if v.definition_key in keys_not_in:
            continue
        if params.get("processDefinitionId") and v.definition_id != params["processDefinitionId"]:
            continue
        if params.get("deploymentId") and v.definition_id not in definitions:
            continue
        if like and not (v.business_key and fnmatch.fnmatchcase(v.business_key, pattern)):
            continue
        if flag(params.get("active"), "active") and v.suspended:
            continue
        if flag(params.get("suspended"), "suspended") and not v.suspended:
            continue
        if flag(params.get("withIncident"), "withIncident") and not v.has_incident:
            continue
        if params.get("incidentId") and all(i.id != params["incidentId"] for i in v.incidents):
            continue
        if params.get("incidentType") and all(i.incident_type != params["incidentType"] for i in v.incidents):
            continue
        out.append(v)
    order = common.sorting(params, _SORT)
    if order:
        key, direction = order
        out = sorted(out, key=key, reverse=direction == "desc")
    return out


@bp.route("/process-instance", methods=["GET", "POST"])
def list_instances() -> Any:
    params = common.query_or_body()
    return jsonify([instance_dto(v) for v in common.page(_list(params), params)])


@bp.route("/process-instance/count", methods=["GET", "POST"])
def count_instances() -> Any:
    return jsonify({"count": len(_list(common.query_or_body()))})


@bp.get("/process-instance/<instance_id>")
def get_instance(instance_id: str) -> Any:
    return jsonify(instance_dto(running(instance_id)))


@bp.delete("/process-instance/<instance_id>")
def delete_instance(instance_id: str) -> Any:
    running(instance_id, "supervise")
    reason = request.args.get("deleteReason") or "deleted over REST"
    engine().runtime.terminate(instance_id, reason=reason, actor=common.current_user())
    return common.no_content()


# --- variables -------------------------------------------------------------------------------------------------
@bp.get("/process-instance/<instance_id>/variables")
def get_variables(instance_id: str) -> Any:
    running(instance_id)
    return jsonify(variables_out(engine().runtime.variables(instance_id)))


@bp.post("/process-instance/<instance_id>/variables")
def modify_variables(instance_id: str) -> Any:
    data = common.body()
    modifications = variables_in(data.get("modifications"), "modifications")
    deletions = common.string_list(data.get("deletions"), "deletions")
    running(instance_id, "operate")
    if modifications:
        engine().runtime.set_variables(instance_id, modifications, actor=common.current_user())
    if deletions:
        engine().runtime.delete_variables(instance_id, deletions, actor=common.current_user())
    return common.no_content()


@bp.get("/process-instance/<instance_id>/variables/<name>")
def get_variable(instance_id: str, name: str) -> Any:
    running(instance_id)
    values = engine().runtime.variables(instance_id)
    if name not in values:
        raise RestError(404, f"process instance variable with name {name} does not exist")
    return jsonify(common.typed(values[name]))


@bp.put("/process-instance/<instance_id>/variables/<name>")
def put_variable(instance_id: str, name: str) -> Any:
    value = variable_in(name, common.body())
    running(instance_id, "operate")
    engine().runtime.set_variables(instance_id, {name: value}, actor=common.current_user())
    return common.no_content()


@bp.delete("/process-instance/<instance_id>/variables/<name>")
def delete_variable(instance_id: str, name: str) -> Any:
    running(instance_id, "operate")
    engine().runtime.delete_variables(instance_id, [name], actor=common.current_user())
    return common.no_content()


# --- suspension and activity instances ------------------------------------------------------------------------
@bp.put("/process-instance/<instance_id>/suspended")
def suspended(instance_id: str) -> Any:
    data = common.body()
    if "suspended" not in data:
        raise RestError(400, "the body needs 'suspended': true or false")
    suspend = flag(data["suspended"], "suspended")
    running(instance_id, "supervise")
    if suspend:
        engine().runtime.suspend(instance_id, actor=common.current_user())
    else:
        engine().runtime.resume(instance_id, actor=common.current_user())
    return common.no_content()


def _incident(i: Any) -> dict[str, Any]:
    return {"id": i.id, "activityId": i.activity_id}


def activity_dto(a: ActivityInstanceView) -> dict[str, Any]:
    return {"id": a.id, "parentActivityInstanceId": a.parent_id, "activityId": a.activity_id,
            "activityType": a.activity_type, "processInstanceId": a.instance_id,
            "processDefinitionId": a.definition_id,
            "childActivityInstances": [activity_dto(c) for c in a.children], "childTransitionInstances": [],
            "executionIds": [a.task_id or a.instance_id], "activityName": a.activity_name, "name": a.activity_name,
            "incidentIds": list(a.incident_ids), "incidents": [_incident(i) for i in a.incidents]}


@bp.get("/process-instance/<instance_id>/activity-instances")
def activity_instances(instance_id: str) -> Any:
    running(instance_id)
    return jsonify(activity_dto(engine().runtime.activity_instance(instance_id)))


_ID = common.path_params("id")
_VAR = common.path_params("id", "varName")
_QUERY = common.query(
    "processInstanceIds", "businessKey", "businessKeyLike", "processDefinitionId", "processDefinitionKey",
    "processDefinitionKeyIn", "processDefinitionKeyNotIn", "deploymentId", "active:boolean", "suspended:boolean",
    "withIncident:boolean", "incidentId", "incidentType", "sortBy", "sortOrder", "firstResult:integer",
    "maxResults:integer")
_PI = "ProcessInstanceDto"
OPENAPI: dict[str, Any] = {
    "paths": {
        "/process-instance": {
            "get": operation("getProcessInstances", "Process Instance", "Running cases",
                             {"200": json_response("Cases", _PI, True), "400": ERR}, parameters=_QUERY),
            "post": operation("queryProcessInstances", "Process Instance", "Running cases (query in the body)",
                              {"200": json_response("Cases", _PI, True), "400": ERR},
                              request_body=common.json_body({"type": "object"}),
                              parameters=common.query("firstResult:integer", "maxResults:integer"))},
        "/process-instance/count": {
            "get": operation("getProcessInstancesCount", "Process Instance", "Number of running cases",
                             {"200": json_response("Count", "CountResultDto"), "400": ERR}, parameters=_QUERY),
            "post": operation("queryProcessInstancesCount", "Process Instance", "Number of running cases",
                              {"200": json_response("Count", "CountResultDto"), "400": ERR},
                              request_body=common.json_body({"type": "object"}))},
        "/process-instance/{id}": {
            "get": operation("getProcessInstance", "Process Instance", "One running case",
                             {"200": json_response("The case", _PI), "404": ERR}, parameters=_ID),
            "delete": operation("deleteProcessInstance", "Process Instance", "Terminate a running case",
                                {"204": NO_CONTENT, "404": ERR},
                                parameters=_ID + common.query("deleteReason", "skipCustomListeners:boolean",
                                                              "skipIoMappings:boolean"))},
        "/process-instance/{id}/variables": {
            "get": operation("getProcessInstanceVariables", "Process Instance", "The case's variables",
                             {"200": json_response("Variables", common.VARIABLES_SCHEMA), "404": ERR},
                             parameters=_ID + common.query("deserializeValues:boolean")),
            "post": operation("modifyProcessInstanceVariables", "Process Instance",
                              "Set (modifications) and delete (deletions) variables",
                              {"204": NO_CONTENT, "400": ERR, "404": ERR, "500": ERR}, parameters=_ID,
                              request_body=common.json_body("PatchVariablesDto", True))},
        "/process-instance/{id}/variables/{varName}": {
            "get": operation("getProcessInstanceVariable", "Process Instance", "One variable",
                             {"200": json_response("The variable", "VariableValueDto"), "404": ERR},
                             parameters=_VAR),
            "put": operation("setProcessInstanceVariable", "Process Instance", "Set one variable",
                             {"204": NO_CONTENT, "400": ERR, "404": ERR}, parameters=_VAR,
                             request_body=common.json_body("VariableValueDto", True)),
            "delete": operation("deleteProcessInstanceVariable", "Process Instance", "Delete one variable",
                                {"204": NO_CONTENT, "404": ERR}, parameters=_VAR)},
        "/process-instance/{id}/suspended": {"put": operation(
            "updateSuspensionStateById", "Process Instance", "Suspend or activate the case",
            {"204": NO_CONTENT, "400": ERR, "404": ERR}, parameters=_ID,
            request_body=common.json_body({"type": "object", "properties": {"suspended": {"type": "boolean"}}},
                                          True))},
        "/process-instance/{id}/activity-instances": {"get": operation(
            "getActivityInstanceTree", "Process Instance", "The activity instance tree",
            {"200": json_response("The tree", "ActivityInstanceDto"), "404": ERR}, parameters=_ID)},
    },
    "components": {"schemas": {
        "ProcessInstanceDto": common.props("links:array", "id", "definitionId", "definitionKey", "businessKey",
                                           "caseInstanceId", "ended:boolean", "suspended:boolean", "tenantId"),
        "ProcessInstanceWithVariablesDto": common.props(
            "links:array", "id", "definitionId", "definitionKey", "businessKey", "caseInstanceId", "ended:boolean",
            "suspended:boolean", "tenantId", "variables:object"),
        "PatchVariablesDto": {"type": "object", "properties": {
            "modifications": common.VARIABLES_SCHEMA, "deletions": {"type": "array", "items": {"type": "string"}}}},
        "ActivityInstanceDto": common.props(
            "id", "parentActivityInstanceId", "activityId", "activityType", "processInstanceId",
            "processDefinitionId", "childActivityInstances:array", "childTransitionInstances:array",
            "executionIds:array", "activityName", "name", "incidentIds:array", "incidents:array"),
    }},
}
