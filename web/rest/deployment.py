"""``/deployment``: create (multipart, several files), list, count, get, resources, delete (cascade)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.types import DefinitionView, DeploymentView

from . import common
from .common import ERR, NO_CONTENT, RestError, camunda_date, engine, flag, json_response, operation, parse_date

bp = Blueprint("rest_deployment", __name__)


def deployment_dto(d: DeploymentView) -> dict[str, Any]:
    return {"links": [{"method": "GET", "href": f"{request.host_url.rstrip('/')}/engine-rest/deployment/{d.id}",
                       "rel": "self"}],
            "id": d.id, "name": d.name, "source": d.source, "deploymentTime": camunda_date(d.deployment_time),
            "tenantId": None}


def definition_dto(v: DefinitionView) -> dict[str, Any]:
    return {"id": v.id, "key": v.key, "category": "http://bpmn.io/schema/bpmn", "description": v.description,
            "name": v.name, "version": v.version, "resource": v.resource, "deploymentId": v.deployment_id,
            "diagram": None, "suspended": v.suspended, "tenantId": None, "versionTag": v.version_tag,
            "historyTimeToLive": None, "startableInTasklist": True}


_SORT = {"id": lambda d: d.id, "name": lambda d: d.name or "", "deploymentTime": lambda d: d.deployment_time,
         "tenantId": lambda d: ""}


@bp.post("/deployment/create")
def create() -> Any:
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        common.require("deploy")
        raise RestError(400, "POST /deployment/create expects a multipart/form-data body with the files to deploy")
    common.require("deploy")
    form = request.form
    files = [(f.filename or field, f.read()) for field in request.files for f in request.files.getlist(field)]
    if not files:
        raise RestError(400, "no resources given: add at least one file part (a .bpmn or .dmn document)")
    changed_only = flag(form.get("deploy-changed-only"), "deploy-changed-only")
    filtering = changed_only or flag(form.get("enable-duplicate-filtering"), "enable-duplicate-filtering")
    if form.get("tenant-id"):
        raise RestError(400, "tenants are not supported by OneWindow: leave tenant-id empty")
    result = engine().repository.deploy(files, name=form.get("deployment-name"),
                                        source=form.get("deployment-source"), deployed_by=common.current_user(),
                                        duplicate_filtering=filtering, changed_only=changed_only)
    if result.deployment is None:  # nothing changed: Camunda answers with the existing deployment
        latest = result.unchanged[0] if result.unchanged else None
        if latest is None:
            raise RestError(400, "nothing to deploy")
        dto = deployment_dto(engine().repository.deployment(latest.deployment_id))
        dto.update(deployedProcessDefinitions=None, deployedCaseDefinitions=None, deployedDecisionDefinitions=None,
                   deployedDecisionRequirementsDefinitions=None)
        return jsonify(dto)
    dto = deployment_dto(result.deployment)
    dto.update(deployedProcessDefinitions={v.id: definition_dto(v) for v in result.definitions} or None,
               deployedCaseDefinitions=None, deployedDecisionDefinitions=None,
               deployedDecisionRequirementsDefinitions=None)
    return jsonify(dto)


def _list(params: dict[str, Any]) -> list[DeploymentView]:
    common.refuse_unsupported(params, ("tenantIdIn", "withoutTenantId", "includeDeploymentsWithoutTenantId"))
    items = engine().repository.deployment_list(
        deployment_id=params.get("id"), name=params.get("name"), name_like=params.get("nameLike"),
        source=params.get("source"),
        after=parse_date(params["after"], "after") if params.get("after") else None,
        before=parse_date(params["before"], "before") if params.get("before") else None)
    order = common.sorting(params, _SORT)
    if order:
        key, direction = order
        items = sorted(items, key=key, reverse=direction == "desc")
    return items


@bp.get("/deployment")
def list_deployments() -> Any:
    params = common.query_params()
    return jsonify([deployment_dto(d) for d in common.page(_list(params), params)])


@bp.get("/deployment/count")
def count_deployments() -> Any:
    return jsonify({"count": len(_list(common.query_params()))})


@bp.get("/deployment/<deployment_id>")
def get_deployment(deployment_id: str) -> Any:
    return jsonify(deployment_dto(engine().repository.deployment(deployment_id)))


@bp.get("/deployment/<deployment_id>/resources")
def resources(deployment_id: str) -> Any:
    return jsonify([{"id": rid, "name": name, "deploymentId": deployment_id}
                    for rid, name, _content in engine().repository.deployment_resources(deployment_id)])


def _resource(deployment_id: str, resource_id: str) -> tuple[str, str, bytes]:
    for item in engine().repository.deployment_resources(deployment_id):
        if item[0] == resource_id:
            return item
    raise RestError(404, f"Deployment resource with resource id '{resource_id}' for deployment id "
                         f"'{deployment_id}' does not exist.")


@bp.get("/deployment/<deployment_id>/resources/<resource_id>")
def resource(deployment_id: str, resource_id: str) -> Any:
    rid, name, _content = _resource(deployment_id, resource_id)
    return jsonify({"id": rid, "name": name, "deploymentId": deployment_id})


@bp.get("/deployment/<deployment_id>/resources/<resource_id>/data")
def resource_data(deployment_id: str, resource_id: str) -> Any:
    _rid, name, content = _resource(deployment_id, resource_id)
    kind = "application/xml" if name.endswith((".bpmn", ".xml", ".dmn")) else "application/octet-stream"
    return Response(content, mimetype=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.delete("/deployment/<deployment_id>")
def delete(deployment_id: str) -> Any:
    cascade = flag(request.args.get("cascade"), "cascade")
    common.require("deploy")
    engine().repository.delete_deployment(deployment_id, cascade=cascade, actor=common.current_user())
    return common.no_content()


_ID = common.path_params("id")
_DEP = "DeploymentDto"
OPENAPI: dict[str, Any] = {
    "paths": {
        "/deployment/create": {"post": operation(
            "createDeployment", "Deployment", "Deploy BPMN/DMN files (multipart; duplicate filtering by content)",
            {"200": json_response("The deployment and its new definitions", "DeploymentWithDefinitionsDto"),
             "400": ERR},
            request_body={"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {
                    "deployment-name": {"type": "string"}, "deployment-source": {"type": "string"},
                    "enable-duplicate-filtering": {"type": "boolean"}, "deploy-changed-only": {"type": "boolean"},
                    "data": {"type": "string", "format": "binary"}}}}}})},
        "/deployment": {"get": operation(
            "getDeployments", "Deployment", "Deployments", {"200": json_response("Deployments", _DEP, True),
                                                              "400": ERR},
            parameters=common.query("id", "name", "nameLike", "source", "before", "after", "sortBy", "sortOrder",
                                    "firstResult:integer", "maxResults:integer"))},
        "/deployment/count": {"get": operation(
            "getDeploymentsCount", "Deployment", "Number of deployments",
            {"200": json_response("Count", "CountResultDto"), "400": ERR},
            parameters=common.query("id", "name", "nameLike", "source", "before", "after"))},
        "/deployment/{id}": {
            "get": operation("getDeployment", "Deployment", "One deployment",
                             {"200": json_response("The deployment", _DEP), "404": ERR}, parameters=_ID),
            "delete": operation("deleteDeployment", "Deployment",
                                "Delete a deployment; cascade=true deletes its cases too",
                                {"204": NO_CONTENT, "404": ERR, "500": ERR},
                                parameters=_ID + common.query("cascade:boolean", "skipCustomListeners:boolean",
                                                              "skipIoMappings:boolean"))},
        "/deployment/{id}/resources": {"get": operation(
            "getDeploymentResources", "Deployment", "The deployment's resources",
            {"200": json_response("Resources", "DeploymentResourceDto", True), "404": ERR}, parameters=_ID)},
        "/deployment/{id}/resources/{resourceId}": {"get": operation(
            "getDeploymentResource", "Deployment", "One resource",
            {"200": json_response("Resource", "DeploymentResourceDto"), "404": ERR},
            parameters=common.path_params("id", "resourceId"))},
        "/deployment/{id}/resources/{resourceId}/data": {"get": operation(
            "getDeploymentResourceData", "Deployment", "The resource's content",
            {"200": {"description": "The document", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, "404": ERR},
            parameters=common.path_params("id", "resourceId"))},
    },
    "components": {"schemas": {
        "DeploymentDto": common.props("links:array", "id", "name", "source", "deploymentTime:date", "tenantId"),
        "DeploymentWithDefinitionsDto": common.props(
            "links:array", "id", "name", "source", "deploymentTime:date", "tenantId",
            "deployedProcessDefinitions:object", "deployedCaseDefinitions:object",
            "deployedDecisionDefinitions:object", "deployedDecisionRequirementsDefinitions:object"),
        "DeploymentResourceDto": common.props("id", "name", "deploymentId"),
    }},
}
