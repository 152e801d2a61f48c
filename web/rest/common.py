"""What every ``/engine-rest`` resource shares: the engine, the caller, Camunda's error body and status codes, its
date format and its variable format."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, request

from engine import errors

# --- errors: one table from engine error class to (HTTP status, Camunda exception type) -----------------------
# (first match wins, so subclasses come before their bases)
STATUS: list[tuple[type[errors.EngineError], int, str]] = [
    (errors.DeploymentError, 400, "ParseException"),
    (errors.ExpressionSyntaxError, 400, "InvalidRequestException"),
    (errors.TaskAlreadyClaimed, 500, "TaskAlreadyClaimedException"),
    (errors.TaskNotActive, 404, "NotFoundException"),
    (errors.OptimisticLockConflict, 409, "OptimisticLockingException"),
    (errors.ExternalTaskLockLost, 400, "InvalidRequestException"),  # Camunda wraps its BadUserRequestException
    (errors.SuspendedEntity, 500, "SuspendedEntityInteractionException"),
    (errors.Conflict, 500, "ProcessEngineException"),
    (errors.NotFound, 404, "InvalidRequestException"),
    (errors.InvalidInput, 400, "InvalidRequestException"),
    (errors.Forbidden, 403, "AuthorizationException"),
    (errors.ScriptError, 500, "ScriptEvaluationException"),
    (errors.EngineError, 500, "ProcessEngineException"),
]


class RestError(Exception):
    """An error raised by the REST layer itself (bad JSON, a missing parameter): Camunda's body, given status."""

    def __init__(self, status: int, message: str, type_: str = "InvalidRequestException") -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_


def error_response(status: int, type_: str, message: str, **extra: Any) -> Response:
    body = {"type": type_, "message": message, "code": None}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def install(bp: Blueprint) -> None:
    @bp.errorhandler(errors.EngineError)
    def _engine_error(exc: errors.EngineError) -> Response:
        for cls, status, type_ in STATUS:
            if isinstance(exc, cls):
                extra: dict[str, Any] = {}
                if isinstance(exc, errors.DeploymentError):
                    extra["details"] = {"problems": exc.details.get("problems", [])}
                return error_response(status, type_, exc.message, **extra)
        return error_response(500, "ProcessEngineException", str(exc))

    @bp.errorhandler(RestError)
    def _rest_error(exc: RestError) -> Response:
        return error_response(exc.status, exc.type, exc.message)



def install_app(app: Any, prefix: str) -> None:
    """Routing errors under the prefix (they happen before any blueprint is chosen) get Camunda's body too."""
    from werkzeug.exceptions import HTTPException


    @app.errorhandler(404)
    def _not_found(exc: HTTPException) -> Any:
        if request.path.startswith(prefix):
            return error_response(404, "NotFoundException", f"no resource {request.method} {request.path}")
        return exc

    @app.errorhandler(405)
    def _not_allowed(exc: HTTPException) -> Any:
        if request.path.startswith(prefix):
            return error_response(405, "InvalidRequestException",
                                  f"{request.method} is not allowed on {request.path}")
        return exc


def engine() -> Any:
    return current_app.extensions["onewindow"]


def current_user() -> str | None:
    """The authenticated user of this request (None when authentication is off)."""
    return getattr(g, "rest_user", None)


def body() -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); anything else is a 400 with Camunda's body."""
    if not request.data:
        return {}
    try:
        value = json.loads(request.data)
    except ValueError as exc:
        raise RestError(400, f"the request body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RestError(400, "the request body must be a JSON object")
    return value


# --- dates: Camunda's yyyy-MM-dd'T'HH:mm:ss.SSSZ -------------------------------------------------------------
def tz() -> ZoneInfo:
    return engine().services.tz


def camunda_date(value: datetime | date | None) -> str | None:
    """``2026-11-22T20:30:00.000+0800`` in the service centre's time zone; None stays None."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=tz())
    local = value.astimezone(tz())
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_date(text: Any, what: str) -> datetime:
    """A date parameter: Camunda's format (``...SSSZ``) or ISO 8601; a value without offset is in the service
    centre's zone."""
    if not isinstance(text, str) or not text.strip():
        raise RestError(400, f"{what}: a date is expected, e.g. 2026-11-22T20:30:00.000+0800")
    raw = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RestError(400, f"{what}: '{text}' is not a date (expected e.g. 2026-11-22T20:30:00.000+0800)") from None
    return value if value.tzinfo else value.replace(tzinfo=tz())


# --- variables: {"name": {"value": ..., "type": "String", "valueInfo": {}}} ------------------------------------
TYPES = ("String", "Integer", "Long", "Short", "Double", "Boolean", "Date", "Json", "Null", "Object")


def variable_out(value: Any) -> dict[str, Any]:
    from engine.runtime.values import camunda_type

    kind = camunda_type(value)
    if kind == "Date":
        return {"type": "Date", "value": camunda_date(value), "valueInfo": {}}
    if kind == "Json":
        return {"type": "Json", "value": json.dumps(value, ensure_ascii=False, default=str), "valueInfo": {}}
    return {"type": kind, "value": value, "valueInfo": {}}


def variables_out(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: variable_out(v) for name, v in values.items()}


def variable_in(name: str, entry: Any) -> Any:
    """One Camunda variable value; untyped (or null-typed) values are typed from their JSON value."""
    if not isinstance(entry, dict) or "value" not in entry and entry.get("type") not in ("Null", None):
        raise RestError(400, f"variable '{name}': expected an object {{\"value\": ..., \"type\": ...}}")
    value, kind = entry.get("value"), entry.get("type")
    if kind is None:
        return value
    if kind not in TYPES:
        raise RestError(400, f"variable '{name}': unknown type '{kind}' (known: {', '.join(TYPES)})")
    try:
        if kind == "Null":
            return None
        if value is None:
            return None
        if kind == "String":
            return str(value) if not isinstance(value, (dict, list)) else json.dumps(value, ensure_ascii=False)
        if kind in ("Integer", "Long", "Short"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            number = int(value)
            limits = {"Integer": 2**31, "Short": 2**15, "Long": 2**63}[kind]
            if not -limits <= number < limits:
                raise ValueError(value)
            return number
        if kind == "Double":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError(value)
        if kind == "Date":
            return parse_date(value, f"variable '{name}'")
        if kind in ("Json", "Object"):
            return json.loads(value) if isinstance(value, str) else value
    except RestError:
        raise
    except (TypeError, ValueError):
        raise RestError(400, f"variable '{name}': {json.dumps(value, ensure_ascii=False)} is not a valid {kind}") \
            from None
    return value


def variables_in(payload: Any, what: str = "variables") -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise RestError(400, f"{what} must be an object of name -> {{value, type}}")
    return {name: variable_in(name, entry) for name, entry in payload.items()}


# --- request parameters ----------------------------------------------------------------------------------------
def no_content() -> Response:
    return Response(status=204)


def flag(value: Any, what: str) -> bool:
    """A boolean parameter: JSON true/false or the strings true/false (any case); anything else is a 400."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RestError(400, f"{what}: expected true or false, got {value!r}")


def integer(value: Any, what: str, *, minimum: int | None = 0) -> int | None:
    """A whole-number parameter (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RestError(400, f"{what}: expected a whole number, got {value!r}")
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
    except (TypeError, ValueError):
        raise RestError(400, f"{what}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise RestError(400, f"{what}: must be >= {minimum}, got {number}")
    return number


def text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise RestError(400, f"{what}: expected a string, got {value!r}")
    return str(value)


def string_list(value: Any, what: str) -> list[str]:
    """A list parameter: a JSON array, or a comma-separated string (query strings)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RestError(400, f"{what}: expected a list of strings, got {value!r}")


def query_params() -> dict[str, Any]:
    """The query string as a dict (the first value of each parameter)."""
    return request.args.to_dict()


def query_or_body() -> dict[str, Any]:
    """GET: the query string; POST: the JSON body (with ``firstResult``/``maxResults`` from the query string, as
    Camunda takes them)."""
    if request.method == "GET":
        return query_params()
    params = body()
    for name in ("firstResult", "maxResults"):
        if name in request.args:
            params[name] = request.args[name]
    return params


def sorting(params: dict[str, Any], allowed: dict[str, Any]) -> tuple[Any, str] | None:
    """Camunda's ``sortBy`` + ``sortOrder`` (or a POST body's ``sorting: [{sortBy, sortOrder}]``, first entry):
    both or neither; an unknown field or order is a 400. Returns (allowed[sortBy], "asc"|"desc") or None."""
    by, order = params.get("sortBy"), params.get("sortOrder")
    if by is None and order is None and isinstance(params.get("sorting"), list) and params["sorting"]:
        first = params["sorting"][0]
        if isinstance(first, dict):
            by, order = first.get("sortBy"), first.get("sortOrder")
    if by is None and order is None:
        return None
    if by is None or order is None:
        raise RestError(400, "Only a single sorting parameter specified. sortBy and sortOrder required")
    if by not in allowed:
        raise RestError(400, f"Cannot set query parameter 'sortBy' to value '{by}' (known: {', '.join(allowed)})")
    if order not in ("asc", "desc"):
        raise RestError(400, f"Cannot set query parameter 'sortOrder' to value '{order}' (asc or desc)")
    return allowed[by], order


def page(items: list[Any], params: dict[str, Any]) -> list[Any]:
    """``firstResult`` / ``maxResults`` over an already ordered list."""
    first = integer(params.get("firstResult"), "firstResult") or 0
    limit = integer(params.get("maxResults"), "maxResults")
    return items[first:] if limit is None else items[first:first + limit]


def refuse_unsupported(params: dict[str, Any], names: tuple[str, ...]) -> None:
    """Camunda parameters OneWindow does not implement are refused (400) rather than silently ignored."""
    for name in names:
        if params.get(name) not in (None, "", [], False, "false"):
            raise RestError(400, f"query parameter '{name}' is not supported by OneWindow (docs/rest.md)")


def typed(value: Any) -> dict[str, Any]:
    """One variable in Camunda's format."""
    return variable_out(value)


# --- OpenAPI helpers shared by the resource modules (the schemas below are merged into /openapi.json) -----------
def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


ERR = {"description": "Camunda error body", "content": {"application/json": {"schema": ref("ExceptionDto")}}}
NO_CONTENT = {"description": "Request successful."}


def path_params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def query(*names: str) -> list[dict[str, Any]]:
    """Query parameters; a name ending in ``:boolean``/``:integer`` says its type (string otherwise)."""
    out = []
    for spec in names:
        name, _, kind = spec.partition(":")
        out.append({"name": name, "in": "query", "required": False, "schema": {"type": kind or "string"}})
    return out


def json_body(schema: dict[str, Any] | str, required: bool = False) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {
        "schema": ref(schema) if isinstance(schema, str) else schema}}}


def json_response(description: str, schema: dict[str, Any] | str, array: bool = False) -> dict[str, Any]:
    s = ref(schema) if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {
        "schema": {"type": "array", "items": s} if array else s}}}


def operation(op_id: str, tag: str, summary: str, responses: dict[str, Any], *, parameters: list[Any] | None = None,
              request_body: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses}
    if parameters:
        out["parameters"] = parameters
    if request_body:
        out["requestBody"] = request_body
    return out


def props(*names: str) -> dict[str, Any]:
    """An object schema of nullable properties; ``name:type`` (string by default)."""
    properties = {}
    for spec in names:
        name, _, kind = spec.partition(":")
        if kind == "object":
            properties[name] = {"type": "object", "nullable": True}
        elif kind == "array":
            properties[name] = {"type": "array", "nullable": True, "items": {}}
        elif kind == "date":
            properties[name] = {"type": "string", "format": "date-time", "nullable": True}
        else:
            properties[name] = {"type": kind or "string", "nullable": True}
    return {"type": "object", "properties": properties}


VARIABLES_SCHEMA = {"type": "object", "additionalProperties": ref("VariableValueDto")}

OPENAPI: dict[str, Any] = {"components": {"schemas": {
    "CountResultDto": {"type": "object", "properties": {"count": {"type": "integer"}}},
    "VariableValueDto": {"type": "object", "properties": {
        "value": {}, "type": {"type": "string", "nullable": True}, "valueInfo": {"type": "object"}}},
    "ExceptionDto": {"type": "object", "properties": {
        "type": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "integer", "nullable": True}}},
    "LinkDto": {"type": "object", "properties": {"method": {"type": "string"}, "href": {"type": "string"},
                                                 "rel": {"type": "string"}}},
}}}


def access() -> Any:
    """The caller's ``engine.identity.Access`` (None when authentication is off: everything allowed)."""
    return getattr(g, "rest_access", None)


def require_task(task: Any, action: str) -> None:
    """Forbidden (403) unless the caller may ``action`` the task (a TaskView)."""
    who = access()
    if who is not None:
        from engine.identity import require_task_access

        require_task_access(who, task, action)


def require_read_all() -> None:
    """Forbidden unless the caller sees every case (supervisor, admin)."""
    who = access()
    if who is not None and not who.sees_all:
        who.require("read_all")


def require_case(instance_id: str, action: str = "read") -> None:
    """Forbidden unless the caller may ``action`` the case: reading needs one of its tasks in their scope (or a
    supervisor/admin), anything else the supervise capability (engine.identity.require_case_access)."""
    who = access()
    if who is None:
        return
    from engine.identity import require_case_access
    from engine.tasks.queries import TaskQuery

    visible = engine().tasks.count(TaskQuery(instance_id=instance_id, state=None, visible_to=who.task_scope)) \
        if action == "read" and not who.sees_all else 0
    require_case_access(who, instance_id, visible, action)


def require(capability: str) -> None:
    """Forbidden (403) unless the caller has ``capability`` (engine.identity.CAPABILITIES)."""
    who = access()
    if who is not None:
        who.require(capability)
