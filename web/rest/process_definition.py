"""``/process-definition``: list and count, by id or key (latest version), BPMN XML, start a case."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.types import DefinitionView

from . import common
from .common import ERR, RestError, engine, flag, integer, json_response, operation, variables_in, variables_out
from .deployment import definition_dto
from .process_instance import instance_dto

bp = Blueprint("rest_process_definition", __name__)

_SORT = {"id": lambda d: d.id, "key": lambda d: d.key, "name": lambda d: d.name or "",
         "version": lambda d: d.version, "deploymentId": lambda d: d.deployment_id,
         "versionTag": lambda d: d.version_tag or "", "category": lambda d: "", "tenantId": lambda d: ""}


def _matches(d: DefinitionView, p: dict[str, Any], latest: dict[str, int]) -> bool:
    def like(value: str | None, pattern: str) -> bool:
        import fnmatch

        return value is not None and fnmatch.fnmatchcase(value, pattern.replace("%", "*").replace("_", "?"))

    checks = [
        ("processDefinitionId", lambda v: d.id == v),
        ("processDefinitionIdIn", lambda v: d.id in common.string_list(v, "processDefinitionIdIn")),
        ("key", lambda v: d.key == v),
        ("keysIn", lambda v: d.key in common.string_list(v, "keysIn")),
        ("keyLike", lambda v: like(d.key, v)),
        ("name", lambda v: d.name == v),
        ("nameLike", lambda v: like(d.name, v)),
        ("deploymentId", lambda v: d.deployment_id == v),
        ("resourceName", lambda v: d.resource == v),
        ("resourceNameLike", lambda v: like(d.resource, v)),
        ("version", lambda v: d.version == integer(v, "version")),
        ("versionTag", lambda v: d.version_tag == v),
        ("versionTagLike", lambda v: like(d.version_tag, v)),
    ]
    for name, check in checks:
        if p.get(name) not in (None, "") and not check(p[name]):
            return False
    if flag(p.get("latestVersion"), "latestVersion") and latest.get(d.key) != d.version:
        return False
    if flag(p.get("active"), "active") and d.suspended:
        return False
    if flag(p.get("suspended"), "suspended") and not d.suspended:
        return False
    return True


def _list(params: dict[str, Any]) -> list[DefinitionView]:
    common.refuse_unsupported(params, ("tenantIdIn", "withoutTenantId", "incidentId", "incidentType",
                                       "incidentMessage", "startableBy", "startablePermissionCheck"))
    every = engine().repository.definitions()
    latest: dict[str, int] = {}
    for d in every:
        latest[d.key] = max(latest.get(d.key, 0), d.version)
    items = [d for d in every if _matches(d, params, latest)]
    order = common.sorting(params, _SORT)
    if order:
        key, direction = order
        items = sorted(items, key=key, reverse=direction == "desc")
    return items


@bp.get("/process-definition")
def list_definitions() -> Any:
    params = common.query_params()
    return jsonify([definition_dto(d) for d in common.page(_list(params), params)])


@bp.get("/process-definition/count")
def count_definitions() -> Any:
    return jsonify({"count": len(_list(common.query_params()))})


def _definition(definition_id: str | None = None, key: str | None = None) -> DefinitionView:
    return engine().repository.definition(definition_id=definition_id, key=key)


@bp.get("/process-definition/<definition_id>")
def get_definition(definition_id: str) -> Any:
    return jsonify(definition_dto(_definition(definition_id=definition_id)))


@bp.get("/process-definition/key/<key>")
def get_definition_by_key(key: str) -> Any:
    return jsonify(definition_dto(_definition(key=key)))


def _xml(d: DefinitionView) -> Any:
    xml = engine().repository.definition_xml(d.id)
    return jsonify({"id": d.id, "bpmn20Xml": xml.decode("utf-8")})


@bp.get("/process-definition/<definition_id>/xml")
def xml(definition_id: str) -> Any:
    return _xml(_definition(definition_id=definition_id))


@bp.get("/process-definition/key/<key>/xml")
def xml_by_key(key: str) -> Any:
    return _xml(_definition(key=key))


def _start(*, definition_id: str | None = None, key: str | None = None) -> Any:
    """Start a case; the engine resolves the definition inside the start (no read of its own first)."""
    data = common.body()
    common.require("start")
    common.refuse_unsupported(data, ("startInstructions", "caseInstanceId"))
    variables = variables_in(data.get("variables"))
    business_key = common.text(data.get("businessKey"), "businessKey")
    view = engine().runtime.start(key, definition_id=definition_id, business_key=business_key,
                                  variables=variables, started_by=common.current_user())
    dto = instance_dto(view)
    if flag(data.get("withVariablesInReturn"), "withVariablesInReturn"):
        dto["variables"] = variables_out(engine().runtime.variables(view.id))
    return jsonify(dto)


@bp.post("/process-definition/<definition_id>/start")
def start(definition_id: str) -> Any:
    return _start(definition_id=definition_id)


@bp.post("/process-definition/key/<key>/start")
def start_by_key(key: str) -> Any:
    return _start(key=key)


@bp.post("/process-definition/<definition_id>/submit-form")
def submit_start_form(definition_id: str) -> Any:
    return _start(definition_id=definition_id)


@bp.post("/process-definition/key/<key>/submit-form")
def submit_start_form_by_key(key: str) -> Any:
    return _start(key=key)


_QUERY = common.query(
    "processDefinitionId", "processDefinitionIdIn", "name", "nameLike", "deploymentId", "key", "keysIn", "keyLike",
    "resourceName", "resourceNameLike", "version:integer", "latestVersion:boolean", "active:boolean",
    "suspended:boolean", "versionTag", "versionTagLike", "sortBy", "sortOrder", "firstResult:integer",
    "maxResults:integer")
_DEF = "ProcessDefinitionDto"
_START_BODY = common.json_body("StartProcessInstanceDto")
_STARTED = {"200": json_response("The new case", "ProcessInstanceWithVariablesDto"), "400": ERR, "404": ERR,
            "500": ERR}
_XML = {"200": json_response("The BPMN XML", "ProcessDefinitionDiagramDto"), "404": ERR}


def _paths(prefix: str, params: list[Any], suffix: str) -> dict[str, Any]:
    return {
        f"/process-definition{prefix}": {"get": operation(
            f"getProcessDefinition{suffix}", "Process Definition", "One process definition (by key: the latest)",
            {"200": json_response("The definition", _DEF), "404": ERR}, parameters=params)},
        f"/process-definition{prefix}/xml": {"get": operation(
            f"getProcessDefinitionBpmn20Xml{suffix}", "Process Definition", "The BPMN 2.0 XML", _XML,
            parameters=params)},
        f"/process-definition{prefix}/start": {"post": operation(
            f"startProcessInstance{suffix}", "Process Definition", "Start a case (variables, businessKey)",
            _STARTED, parameters=params, request_body=_START_BODY)},
        f"/process-definition{prefix}/submit-form": {"post": operation(
            f"submitForm{suffix}", "Process Definition", "Start a case from the start form (as start)",
            _STARTED, parameters=params, request_body=_START_BODY)},
    }


OPENAPI: dict[str, Any] = {
    "paths": {
        "/process-definition": {"get": operation(
            "getProcessDefinitions", "Process Definition", "Process definitions",
            {"200": json_response("Definitions", _DEF, True), "400": ERR}, parameters=_QUERY)},
        "/process-definition/count": {"get": operation(
            "getProcessDefinitionsCount", "Process Definition", "Number of process definitions",
            {"200": json_response("Count", "CountResultDto"), "400": ERR}, parameters=_QUERY)},
        **_paths("/{id}", common.path_params("id"), ""),
        **_paths("/key/{key}", common.path_params("key"), "ByKey"),
    },
    "components": {"schemas": {
        "ProcessDefinitionDto": common.props(
            "id", "key", "category", "description", "name", "version:integer", "resource", "deploymentId",
            "diagram", "suspended:boolean", "tenantId", "versionTag", "historyTimeToLive:integer",
            "startableInTasklist:boolean"),
        "ProcessDefinitionDiagramDto": common.props("id", "bpmn20Xml"),
        "StartProcessInstanceDto": {"type": "object", "properties": {
            "businessKey": {"type": "string", "nullable": True}, "variables": common.VARIABLES_SCHEMA,
            "withVariablesInReturn": {"type": "boolean"}}},
    }},
}
