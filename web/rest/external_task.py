"""``/external-task``: Camunda's external task API - fetch and lock (with ``asyncResponseTimeout`` long polling),
complete, failure, bpmnError, extendLock, unlock, retries, queries (docs/rest.md, "External tasks").

With authentication on, a worker's calls (fetch and lock, complete, failure, bpmnError, extendLock) need the
``external_work`` capability, unlock and retries ``operate``, the queries ``external_work`` or ``read_all``
(engine/identity/access.py)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.runtime.external import ExternalTaskQuery, TopicRequest
from engine.types import ExternalTaskView

from .common import RestError, access, body, camunda_date, current_user, engine, parse_date, require, variables_in, \
    variables_out

bp = Blueprint("rest_external_task", __name__)

MAX_ASYNC_RESPONSE_TIMEOUT = 1_800_000  # ms, Camunda's limit


def _require_reader() -> None:
    """The queries: a worker, or whoever sees every case (supervisor, admin)."""
    who = access()
    if who is not None and not (who.may("external_work") or who.may("read_all")):
        who.require("external_work")


# --- shapes ---------------------------------------------------------------------------------------------------
def task_dto(t: ExternalTaskView) -> dict[str, Any]:
    """Camunda's ExternalTaskDto."""
    return {
        "activityId": t.activity_id,
        "activityInstanceId": f"{t.activity_id}:{t.id}",
        "errorMessage": t.error_message,
        "executionId": t.id,
        "id": t.id,
        "lockExpirationTime": camunda_date(t.lock_expiration),
        "createTime": camunda_date(t.created),
        "processDefinitionId": t.definition_id,
        "processDefinitionKey": t.definition_key,
        "processDefinitionVersionTag": t.definition_version_tag,
        "processInstanceId": t.instance_id,
        "tenantId": None,
        "retries": t.retries,
        "suspended": t.suspended,
        "workerId": t.worker_id,
        "priority": t.priority,
        "topicName": t.topic,
        "businessKey": t.business_key,
    }


def locked_task_dto(t: ExternalTaskView) -> dict[str, Any]:
    """Camunda's LockedExternalTaskDto."""
    dto = task_dto(t)
    dto.pop("createTime")
    dto["errorDetails"] = t.error_details
    dto["variables"] = variables_out(t.variables)
    dto["extensionProperties"] = dict(t.extension_properties)
    return dto


def _no_content() -> Response:
    return Response(status=204)


# --- input helpers --------------------------------------------------------------------------------------------
def _int(value: Any, what: str, *, default: int | None = None, minimum: int | None = None) -> int:
    if value is None:
        if default is None:
            raise RestError(400, f"{what} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RestError(400, f"{what} must be a number, got {value!r}")
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
    except ValueError:
        raise RestError(400, f"{what} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise RestError(400, f"{what} must be >= {minimum}, got {number}")
    return number


def _str(value: Any, what: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise RestError(400, f"{what} is required")
        return None
    if not isinstance(value, str):
        raise RestError(400, f"{what} must be a string, got {value!r}")
    return value


def _bool(value: Any, what: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RestError(400, f"{what} must be true or false, got {value!r}")


def _str_list(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v for v in value.split(",") if v)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RestError(400, f"{what} must be a list of strings")


def _plain_values(payload: Any, what: str) -> dict[str, Any]:
    """processVariables of a topic: name -> value (Camunda also accepts a list of values: any of them)."""
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise RestError(400, f"{what} must be an object of name -> value")
    return dict(payload)


def _topic(raw: Any, i: int) -> TopicRequest | None:
    if not isinstance(raw, dict):
        raise RestError(400, f"topics[{i}] must be an object with topicName and lockDuration")
    name = _str(raw.get("topicName"), f"topics[{i}].topicName", required=True)
    duration = _int(raw.get("lockDuration"), f"topics[{i}].lockDuration", minimum=1)
    tenants = _str_list(raw.get("tenantIdIn"), f"topics[{i}].tenantIdIn")
    if tenants:
        return None  # no task of this engine has a tenant
    ids = list(_str_list(raw.get("processDefinitionIdIn"), f"topics[{i}].processDefinitionIdIn") or ())
    keys = list(_str_list(raw.get("processDefinitionKeyIn"), f"topics[{i}].processDefinitionKeyIn") or ())
    if raw.get("processDefinitionId") is not None:
        ids.append(_str(raw.get("processDefinitionId"), f"topics[{i}].processDefinitionId") or "")
    if raw.get("processDefinitionKey") is not None:
        keys.append(_str(raw.get("processDefinitionKey"), f"topics[{i}].processDefinitionKey") or "")
    process_variables = _plain_values(raw.get("processVariables"), f"topics[{i}].processVariables")
    if any(isinstance(v, list) for v in process_variables.values()):
        raise RestError(400, f"topics[{i}].processVariables: a list of values per variable is not supported")
    return TopicRequest(
        name=name or "", lock_duration=duration,
        variables=_str_list(raw.get("variables"), f"topics[{i}].variables"),
        local_variables=_bool(raw.get("localVariables"), f"topics[{i}].localVariables"),
        business_key=_str(raw.get("businessKey"), f"topics[{i}].businessKey"),
        process_definition_ids=tuple(ids), process_definition_keys=tuple(keys),
        process_variables=process_variables,
        include_extension_properties=_bool(raw.get("includeExtensionProperties"),
                                           f"topics[{i}].includeExtensionProperties"),
    )


# --- fetch and lock -------------------------------------------------------------------------------------------
@bp.post("/external-task/fetchAndLock")
def fetch_and_lock() -> Any:
    require("external_work")
    b = body()
    worker_id = _str(b.get("workerId"), "workerId", required=True)
    max_tasks = _int(b.get("maxTasks"), "maxTasks", minimum=0)
    use_priority = _bool(b.get("usePriority"), "usePriority")
    timeout_ms = _int(b.get("asyncResponseTimeout"), "asyncResponseTimeout", default=0, minimum=0)
    if timeout_ms > MAX_ASYNC_RESPONSE_TIMEOUT:
        raise RestError(400, f"The asynchronous response timeout cannot be set to a value greater than "
                             f"{MAX_ASYNC_RESPONSE_TIMEOUT} milliseconds")
    sorting = b.get("sorting")
    if sorting not in (None, []):
        if not isinstance(sorting, list) or any(not isinstance(s, dict) or s.get("sortBy") != "createTime"
                                                or s.get("sortOrder", "asc") != "asc" for s in sorting):
            raise RestError(400, "sorting: only [{\"sortBy\": \"createTime\", \"sortOrder\": \"asc\"}] (the "
                                 "default order) is supported")
    raw_topics = b.get("topics")
    if raw_topics is None:
        raw_topics = []
    if not isinstance(raw_topics, list):
        raise RestError(400, "topics must be a list")
    topics = [t for t in (_topic(raw, i) for i, raw in enumerate(raw_topics)) if t is not None]
    service = engine().external_tasks
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        locked = service.fetch_and_lock(worker_id, topics, max_tasks, use_priority=use_priority) \
            if topics and max_tasks else []
        remaining = deadline - time.monotonic()
        if locked or remaining <= 0 or not topics or not max_tasks:
            return jsonify([locked_task_dto(t) for t in locked])
        # long polling: no transaction is held while waiting; woken when this process makes a task available
        # and re-checking the database a few times a second for the others
        if not service.wait_for_work(worker_id, topics, remaining):
            return jsonify([])


# --- reports of the worker ------------------------------------------------------------------------------------
@bp.post("/external-task/<task_id>/complete")
def complete(task_id: str) -> Any:
    require("external_work")
    b = body()
    engine().external_tasks.complete(task_id, _str(b.get("workerId"), "workerId", required=True) or "",
                                     variables_in(b.get("variables")),
                                     variables_in(b.get("localVariables"), "localVariables"))
    return _no_content()


@bp.post("/external-task/<task_id>/failure")
def failure(task_id: str) -> Any:
    require("external_work")
    b = body()
    engine().external_tasks.failure(
        task_id, _str(b.get("workerId"), "workerId", required=True) or "",
        error_message=_str(b.get("errorMessage"), "errorMessage"),
        error_details=b.get("errorDetails") if b.get("errorDetails") not in ("", {}) else None,
        retries=_int(b.get("retries"), "retries", default=0, minimum=0),
        retry_timeout=_int(b.get("retryTimeout"), "retryTimeout", default=0, minimum=0),
        variables=variables_in(b.get("variables")),
        local_variables=variables_in(b.get("localVariables"), "localVariables"))
    return _no_content()


@bp.post("/external-task/<task_id>/bpmnError")
def bpmn_error(task_id: str) -> Any:
    require("external_work")
    b = body()
    engine().external_tasks.bpm_error(task_id, _str(b.get("workerId"), "workerId", required=True) or "",
                                      _str(b.get("errorCode"), "errorCode", required=True) or "",
                                      _str(b.get("errorMessage"), "errorMessage"),
                                      variables_in(b.get("variables")))
    return _no_content()


@bp.post("/external-task/<task_id>/extendLock")
def extend_lock(task_id: str) -> Any:
    require("external_work")
    b = body()
    engine().external_tasks.extend_lock(task_id, _str(b.get("workerId"), "workerId", required=True) or "",
                                        _int(b.get("newDuration"), "newDuration", minimum=1))
    return _no_content()


@bp.post("/external-task/<task_id>/unlock")
def unlock(task_id: str) -> Any:
    require("operate")
    engine().external_tasks.unlock(task_id, actor=current_user())
    return _no_content()


@bp.put("/external-task/<task_id>/retries")
def set_retries(task_id: str) -> Any:
    require("operate")
    b = body()
    engine().external_tasks.set_retries(task_id, _int(b.get("retries"), "retries", minimum=0),
                                        actor=current_user())
    return _no_content()


# --- queries --------------------------------------------------------------------------------------------------
def _query(params: dict[str, Any]) -> ExternalTaskQuery:
    def date(name: str) -> Any:
        return parse_date(params[name], name) if params.get(name) is not None else None

    def number(name: str) -> int | None:
        return _int(params[name], name) if params.get(name) is not None else None

    sort_by, sort_order = params.get("sortBy"), params.get("sortOrder")
    if (sort_by is None) != (sort_order is None):
        raise RestError(400, "Only a single sorting parameter specified. sortBy and sortOrder required")
    first = number("firstResult")
    return ExternalTaskQuery(
        external_task_id=_str(params.get("externalTaskId"), "externalTaskId"),
        external_task_id_in=_str_list(params.get("externalTaskIdIn"), "externalTaskIdIn"),
        topic_name=_str(params.get("topicName"), "topicName"),
        worker_id=_str(params.get("workerId"), "workerId"),
        locked=_bool(params.get("locked"), "locked"),
        not_locked=_bool(params.get("notLocked"), "notLocked"),
        with_retries_left=_bool(params.get("withRetriesLeft"), "withRetriesLeft"),
        no_retries_left=_bool(params.get("noRetriesLeft"), "noRetriesLeft"),
        lock_expiration_after=date("lockExpirationAfter"),
        lock_expiration_before=date("lockExpirationBefore"),
        activity_id=_str(params.get("activityId"), "activityId"),
        activity_id_in=_str_list(params.get("activityIdIn"), "activityIdIn"),
        execution_id=_str(params.get("executionId"), "executionId"),
        process_instance_id=_str(params.get("processInstanceId"), "processInstanceId"),
        process_instance_id_in=_str_list(params.get("processInstanceIdIn"), "processInstanceIdIn"),
        process_definition_id=_str(params.get("processDefinitionId"), "processDefinitionId"),
        active=_bool(params.get("active"), "active"),
        suspended=_bool(params.get("suspended"), "suspended"),
        priority_higher_than_or_equals=number("priorityHigherThanOrEquals"),
        priority_lower_than_or_equals=number("priorityLowerThanOrEquals"),
        sort_by=sort_by, sort_order=sort_order or "asc",
        first_result=first or 0, max_results=number("maxResults"),
    )


def _params_from_body() -> dict[str, Any]:
    b = body()
    if isinstance(b.get("sorting"), list) and b["sorting"]:
        first = b["sorting"][0]
        if isinstance(first, dict):
            b.setdefault("sortBy", first.get("sortBy"))
            b.setdefault("sortOrder", first.get("sortOrder"))
    params = {k: v for k, v in b.items() if k != "sorting"}
    params.update({k: v for k, v in request.args.items() if k in ("firstResult", "maxResults")})
    return params


@bp.get("/external-task")
def list_tasks() -> Any:
    _require_reader()
    return jsonify([task_dto(t) for t in engine().external_tasks.query(_query(request.args.to_dict()))])


@bp.post("/external-task")
def list_tasks_post() -> Any:
    _require_reader()
    return jsonify([task_dto(t) for t in engine().external_tasks.query(_query(_params_from_body()))])


@bp.get("/external-task/count")
def count_tasks() -> Any:
    _require_reader()
    return jsonify({"count": engine().external_tasks.count(_query(request.args.to_dict()))})


@bp.post("/external-task/count")
def count_tasks_post() -> Any:
    _require_reader()
    return jsonify({"count": engine().external_tasks.count(_query(_params_from_body()))})


@bp.get("/external-task/<task_id>")
def get_task(task_id: str) -> Any:
    _require_reader()
    return jsonify(task_dto(engine().external_tasks.get(task_id)))


@bp.get("/external-task/<task_id>/errorDetails")
def error_details(task_id: str) -> Any:
    _require_reader()
    details = engine().external_tasks.error_details(task_id)
    if details is None:
        return _no_content()
    return Response(details, status=200, mimetype="text/plain")


# --- OpenAPI --------------------------------------------------------------------------------------------------
def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


_ERR = {"description": "Camunda error body", "content": {"application/json": {"schema": _ref("ExceptionDto")}}}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_NO_CONTENT = {"description": "Request successful."}
_REPORT = {"204": _NO_CONTENT, "400": _ERR, "403": _ERR, "404": _ERR, "500": _ERR}
_QUERY_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": t}} for n, t in (
        ("externalTaskId", "string"), ("externalTaskIdIn", "string"), ("topicName", "string"),
        ("workerId", "string"), ("locked", "boolean"), ("notLocked", "boolean"), ("withRetriesLeft", "boolean"),
        ("noRetriesLeft", "boolean"), ("lockExpirationAfter", "string"), ("lockExpirationBefore", "string"),
        ("activityId", "string"), ("activityIdIn", "string"), ("executionId", "string"),
        ("processInstanceId", "string"), ("processInstanceIdIn", "string"), ("processDefinitionId", "string"),
        ("active", "boolean"), ("suspended", "boolean"), ("priorityHigherThanOrEquals", "integer"),
        ("priorityLowerThanOrEquals", "integer"), ("sortBy", "string"), ("sortOrder", "string"),
        ("firstResult", "integer"), ("maxResults", "integer"))]
_VARIABLES = {"type": "object", "additionalProperties": _ref("VariableValueDto")}
_TASK_PROPS: dict[str, Any] = {
    "activityId": {"type": "string"}, "activityInstanceId": {"type": "string"},
    "errorMessage": {"type": "string", "nullable": True}, "executionId": {"type": "string"},
    "id": {"type": "string"}, "lockExpirationTime": {"type": "string", "format": "date-time", "nullable": True},
    "processDefinitionId": {"type": "string"}, "processDefinitionKey": {"type": "string"},
    "processDefinitionVersionTag": {"type": "string", "nullable": True}, "processInstanceId": {"type": "string"},
    "tenantId": {"type": "string", "nullable": True}, "retries": {"type": "integer", "nullable": True},
    "suspended": {"type": "boolean"}, "workerId": {"type": "string", "nullable": True},
    "priority": {"type": "integer"}, "topicName": {"type": "string"},
    "businessKey": {"type": "string", "nullable": True},
}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/external-task/fetchAndLock": {"post": {
            "operationId": "fetchAndLock", "tags": ["External Task"],
            "summary": "Fetch and lock external tasks; waits up to asyncResponseTimeout ms for work (long polling)",
            "requestBody": _json_body("FetchExternalTasksDto"),
            "responses": {"200": {"description": "The locked tasks (empty after the timeout)", "content": {
                "application/json": {"schema": {"type": "array", "items": _ref("LockedExternalTaskDto")}}}},
                "400": _ERR, "403": _ERR}}},
        "/external-task/{id}/complete": {"post": {
            "operationId": "completeExternalTaskResource", "tags": ["External Task"], "parameters": _ID,
            "requestBody": _json_body("CompleteExternalTaskDto"), "responses": _REPORT}},
        "/external-task/{id}/failure": {"post": {
            "operationId": "handleFailure", "tags": ["External Task"], "parameters": _ID,
            "requestBody": _json_body("ExternalTaskFailureDto"), "responses": _REPORT}},
        "/external-task/{id}/bpmnError": {"post": {
            "operationId": "handleExternalTaskBpmnError", "tags": ["External Task"], "parameters": _ID,
            "requestBody": _json_body("ExternalTaskBpmnError"), "responses": _REPORT}},
        "/external-task/{id}/extendLock": {"post": {
            "operationId": "extendLock", "tags": ["External Task"], "parameters": _ID,
            "requestBody": _json_body("ExtendLockOnExternalTaskDto"), "responses": _REPORT}},
        "/external-task/{id}/unlock": {"post": {
            "operationId": "unlock", "tags": ["External Task"], "parameters": _ID,
            "responses": {"204": _NO_CONTENT, "403": _ERR, "404": _ERR}}},
        "/external-task/{id}/retries": {"put": {
            "operationId": "setExternalTaskResourceRetries", "tags": ["External Task"], "parameters": _ID,
            "requestBody": _json_body("RetriesDto"),
            "responses": {"204": _NO_CONTENT, "400": _ERR, "403": _ERR, "404": _ERR}}},
        "/external-task/{id}/errorDetails": {"get": {
            "operationId": "getExternalTaskErrorDetails", "tags": ["External Task"], "parameters": _ID,
            "responses": {"200": {"description": "The error details", "content": {
                "text/plain": {"schema": {"type": "string"}}}}, "204": {"description": "No error details"},
                "404": _ERR}}},
        "/external-task/{id}": {"get": {
            "operationId": "getExternalTask", "tags": ["External Task"], "parameters": _ID,
            "responses": {"200": {"description": "The task", "content": {
                "application/json": {"schema": _ref("ExternalTaskDto")}}}, "404": _ERR}}},
        "/external-task": {
            "get": {"operationId": "getExternalTasks", "tags": ["External Task"], "parameters": _QUERY_PARAMS,
                    "responses": {"200": {"description": "Matching tasks of running cases", "content": {
                        "application/json": {"schema": {"type": "array", "items": _ref("ExternalTaskDto")}}}},
                        "400": _ERR}},
            "post": {"operationId": "queryExternalTasks", "tags": ["External Task"],
                     "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                     "responses": {"200": {"description": "Matching tasks of running cases", "content": {
                         "application/json": {"schema": {"type": "array", "items": _ref("ExternalTaskDto")}}}},
                         "400": _ERR}}},
        "/external-task/count": {
            "get": {"operationId": "getExternalTasksCount", "tags": ["External Task"], "parameters": _QUERY_PARAMS,
                    "responses": {"200": {"description": "Count", "content": {
                        "application/json": {"schema": _ref("CountResultDto")}}}, "400": _ERR}},
            "post": {"operationId": "queryExternalTasksCount", "tags": ["External Task"],
                     "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                     "responses": {"200": {"description": "Count", "content": {
                         "application/json": {"schema": _ref("CountResultDto")}}}, "400": _ERR}}},
    },
    "components": {"schemas": {
        "ExternalTaskDto": {"type": "object", "properties": {
            **_TASK_PROPS, "createTime": {"type": "string", "format": "date-time"}}},
        "LockedExternalTaskDto": {"type": "object", "properties": {
            **_TASK_PROPS, "errorDetails": {"type": "string", "nullable": True}, "variables": _VARIABLES,
            "extensionProperties": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "FetchExternalTasksDto": {"type": "object", "required": ["workerId", "maxTasks"], "properties": {
            "workerId": {"type": "string"}, "maxTasks": {"type": "integer", "minimum": 0},
            "usePriority": {"type": "boolean"},
            "asyncResponseTimeout": {"type": "integer", "minimum": 0, "maximum": MAX_ASYNC_RESPONSE_TIMEOUT},
            "sorting": {"type": "array", "nullable": True, "items": {"type": "object"}},
            "topics": {"type": "array", "items": _ref("FetchExternalTaskTopicDto")}}},
        "FetchExternalTaskTopicDto": {"type": "object", "required": ["topicName", "lockDuration"], "properties": {
            "topicName": {"type": "string"}, "lockDuration": {"type": "integer", "minimum": 1},
            "variables": {"type": "array", "nullable": True, "items": {"type": "string"}},
            "localVariables": {"type": "boolean"}, "businessKey": {"type": "string"},
            "processDefinitionId": {"type": "string"},
            "processDefinitionIdIn": {"type": "array", "items": {"type": "string"}},
            "processDefinitionKey": {"type": "string"},
            "processDefinitionKeyIn": {"type": "array", "items": {"type": "string"}},
            "processVariables": {"type": "object"}, "withoutTenantId": {"type": "boolean"},
            "tenantIdIn": {"type": "array", "items": {"type": "string"}},
            "deserializeValues": {"type": "boolean"}, "includeExtensionProperties": {"type": "boolean"}}},
        "CompleteExternalTaskDto": {"type": "object", "required": ["workerId"], "properties": {
            "workerId": {"type": "string"}, "variables": _VARIABLES, "localVariables": _VARIABLES}},
        "ExternalTaskFailureDto": {"type": "object", "required": ["workerId"], "properties": {
            "workerId": {"type": "string"}, "errorMessage": {"type": "string"},
            "errorDetails": {"type": "string"}, "retries": {"type": "integer", "minimum": 0},
            "retryTimeout": {"type": "integer", "minimum": 0}, "variables": _VARIABLES,
            "localVariables": _VARIABLES}},
        "ExternalTaskBpmnError": {"type": "object", "required": ["workerId", "errorCode"], "properties": {
            "workerId": {"type": "string"}, "errorCode": {"type": "string"}, "errorMessage": {"type": "string"},
            "variables": _VARIABLES}},
        "ExtendLockOnExternalTaskDto": {"type": "object", "required": ["workerId", "newDuration"], "properties": {
            "workerId": {"type": "string"}, "newDuration": {"type": "integer", "minimum": 1}}},
        "RetriesDto": {"type": "object", "required": ["retries"], "properties": {
            "retries": {"type": "integer", "minimum": 0}}},
        "CountResultDto": {"type": "object", "properties": {"count": {"type": "integer"}}},
        "VariableValueDto": {"type": "object", "properties": {
            "value": {}, "type": {"type": "string", "nullable": True}, "valueInfo": {"type": "object"}}},
        "ExceptionDto": {"type": "object", "properties": {
            "type": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "integer", "nullable": True}}},
    }},
}
