"""``GET /incident``: open incidents (failed jobs, external tasks out of retries, script errors)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from engine.types import IncidentRecordView

from . import common
from .common import ERR, camunda_date, engine, json_response, operation

bp = Blueprint("rest_incident", __name__)


def incident_dto(i: IncidentRecordView) -> dict[str, Any]:
    return {"id": i.id, "processDefinitionId": i.definition_id, "processInstanceId": i.instance_id,
            "executionId": i.instance_id, "incidentTimestamp": camunda_date(i.created),
            "incidentType": i.incident_type, "activityId": i.activity_id, "failedActivityId": i.activity_id,
            "causeIncidentId": i.id, "rootCauseIncidentId": i.id, "configuration": None, "tenantId": None,
            "incidentMessage": i.message, "jobDefinitionId": None, "annotation": None}


_SORT = {"incidentId": lambda i: i.id, "incidentTimestamp": lambda i: i.created,
         "incidentType": lambda i: i.incident_type, "activityId": lambda i: i.activity_id or "",
         "processInstanceId": lambda i: i.instance_id, "processDefinitionId": lambda i: i.definition_id or ""}


def _list(params: dict[str, Any]) -> list[IncidentRecordView]:
    common.require("operate")
    common.refuse_unsupported(params, ("incidentMessageLike", "executionId", "incidentTimestampBefore",
                                       "incidentTimestampAfter", "causeIncidentId", "rootCauseIncidentId",
                                       "configuration", "tenantIdIn", "jobDefinitionIdIn", "failedActivityId",
                                       "processDefinitionKeyIn", "name"))
    items = engine().runtime.incidents(
        incident_id=params.get("incidentId"), instance_id=params.get("processInstanceId"),
        incident_type=params.get("incidentType"), activity_id=params.get("activityId"),
        definition_id=params.get("processDefinitionId"))
    if params.get("incidentMessage"):
        items = [i for i in items if i.message == params["incidentMessage"]]
    order = common.sorting(params, _SORT)
    if order:
        key, direction = order
        items = sorted(items, key=key, reverse=direction == "desc")
    return items


@bp.get("/incident")
def incidents() -> Any:
    params = common.query_params()
    return jsonify([incident_dto(i) for i in common.page(_list(params), params)])


@bp.get("/incident/count")
def incidents_count() -> Any:
    return jsonify({"count": len(_list(common.query_params()))})


@bp.get("/incident/<incident_id>")
def incident(incident_id: str) -> Any:
    common.require("operate")
    found = engine().runtime.incidents(incident_id=incident_id)
    if not found:
        from .common import RestError

        raise RestError(404, f"No incident found with id '{incident_id}'")
    return jsonify(incident_dto(found[0]))


_QUERY = common.query("incidentId", "incidentType", "incidentMessage", "processDefinitionId", "processInstanceId",
                      "activityId", "sortBy", "sortOrder", "firstResult:integer", "maxResults:integer")
OPENAPI: dict[str, Any] = {
    "paths": {
        "/incident": {"get": operation("getIncidents", "Incident", "Open incidents",
                                       {"200": json_response("Incidents", "IncidentDto", True), "400": ERR},
                                       parameters=_QUERY)},
        "/incident/count": {"get": operation("getIncidentsCount", "Incident", "Number of open incidents",
                                             {"200": json_response("Count", "CountResultDto"), "400": ERR},
                                             parameters=_QUERY)},
        "/incident/{id}": {"get": operation("getIncident", "Incident", "One open incident",
                                            {"200": json_response("The incident", "IncidentDto"), "404": ERR},
                                            parameters=common.path_params("id"))},
    },
    "components": {"schemas": {"IncidentDto": common.props(
        "id", "processDefinitionId", "processInstanceId", "executionId", "incidentTimestamp:date", "incidentType",
        "activityId", "failedActivityId", "causeIncidentId", "rootCauseIncidentId", "configuration", "tenantId",
        "incidentMessage", "jobDefinitionId", "annotation")}},
}
