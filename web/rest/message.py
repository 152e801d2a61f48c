"""``POST /message``: correlate a message to the waiting case(s) or start a case at a message start event."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from . import common
from .common import ERR, NO_CONTENT, RestError, engine, flag, json_response, operation, variables_in, variables_out
from .process_instance import instance_dto

bp = Blueprint("rest_message", __name__)


@bp.post("/message")
def correlate() -> Any:
    data = common.body()
    common.require("start")
    name = common.text(data.get("messageName"), "messageName")
    if not name:
        raise RestError(400, "No message name supplied")
    common.refuse_unsupported(data, ("localCorrelationKeys", "processVariablesLocal", "processVariablesToTriggeredScope",
                                     "tenantId", "processInstanceId"))
    correlation_keys = variables_in(data.get("correlationKeys"), "correlationKeys")
    variables = variables_in(data.get("processVariables"), "processVariables")
    result_enabled = flag(data.get("resultEnabled"), "resultEnabled")
    business_key = common.text(data.get("businessKey"), "businessKey")
    # a case the correlation started has a new id: what ran before is an execution that received the message
    before = {v.id for v in engine().runtime.instances(business_key=business_key, state="ACTIVE")} \
        if result_enabled else set()
    results = engine().runtime.correlate(name, business_key=business_key,
                                         correlation_keys=correlation_keys or None, variables=variables,
                                         all_matches=flag(data.get("all"), "all"), actor=common.current_user())
    if not result_enabled:
        return common.no_content()
    with_variables = flag(data.get("variablesInResultEnabled"), "variablesInResultEnabled")
    out = []
    for view in results:
        dto: dict[str, Any]
        if view.id not in before:
            dto = {"resultType": "ProcessDefinition", "processInstance": instance_dto(view), "execution": None}
        else:
            dto = {"resultType": "Execution", "processInstance": None,
                   "execution": {"id": view.id, "processInstanceId": view.id, "ended": view.ended, "tenantId": None}}
        if with_variables:
            dto["variables"] = variables_out(engine().runtime.variables(view.id))
        out.append(dto)
    return jsonify(out)


OPENAPI: dict[str, Any] = {
    "paths": {"/message": {"post": operation(
        "deliverMessage", "Message", "Correlate a message (businessKey, correlationKeys, processVariables, all)",
        {"200": json_response("Results (resultEnabled)", "MessageCorrelationResultWithVariableDto", True),
         "204": NO_CONTENT, "400": ERR},
        request_body=common.json_body("CorrelationMessageDto", True))}},
    "components": {"schemas": {
        "CorrelationMessageDto": {"type": "object", "required": ["messageName"], "properties": {
            "messageName": {"type": "string"}, "businessKey": {"type": "string", "nullable": True},
            "correlationKeys": common.VARIABLES_SCHEMA, "processVariables": common.VARIABLES_SCHEMA,
            "all": {"type": "boolean"}, "resultEnabled": {"type": "boolean"},
            "variablesInResultEnabled": {"type": "boolean"}}},
        "MessageCorrelationResultWithVariableDto": common.props(
            "resultType", "processInstance:object", "execution:object", "variables:object"),
    }},
}
