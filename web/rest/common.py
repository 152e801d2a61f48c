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
