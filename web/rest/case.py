"""OneWindow's own ``/case/{id}/clock`` (承诺/法定时限, no Camunda counterpart): read a case's deadline clock,
suspend it (挂起, e.g. 补正 or expert review), resume it (every running deadline moves by the paused working days),
extend it (延期, refused once the deadline has passed). ``{id}`` is the case id or its business key (办件编号)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify

from . import common
from .common import ERR, RestError, camunda_date, engine, integer, json_response, operation

bp = Blueprint("rest_case", __name__)


def _date_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return camunda_date(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def clock_dto(view: Any) -> dict[str, Any]:
    return {"instanceId": view.instance_id, "businessKey": view.business_key, "state": view.state,
            "signal": view.signal, "promisedLimit": view.promised_limit, "legalLimit": view.legal_limit,
            "acceptedAt": camunda_date(view.accepted_at), "promisedDue": camunda_date(view.promised_due),
            "legalDue": camunda_date(view.legal_due), "warnAt": camunda_date(view.warn_at),
            "provisional": view.provisional, "suspendedWorkingDays": view.suspended_days,
            "extendedWorkingDays": view.extended_days, "workingDaysLeft": view.working_days_left,
            "stoppedAt": camunda_date(view.stopped_at), "region": view.region,
            "suspensions": [{k: _date_text(v) if k in ("start", "end") else v for k, v in s.items()}
                            for s in view.suspensions],
            "extensions": [{k: _date_text(v) if k == "approvedAt" else v for k, v in e.items()}
                           for e in view.extensions]}


def _clock(case: str) -> Any:
    view = engine().cases.clock(case)
    if view is None:
        raise RestError(404, f"case '{case}' has no deadline clock (its diagram sets no time limit)")
    return view


@bp.get("/case/<case>/clock")
def get_clock(case: str) -> Any:
    common.require_read_all()
    return jsonify(clock_dto(_clock(case)))


@bp.post("/case/<case>/clock/suspend")
def suspend(case: str) -> Any:
    data = common.body()
    common.require("supervise")
    reason = common.text(data.get("reason"), "reason")
    if not reason:
        raise RestError(400, "a suspension needs a reason")
    view = engine().cases.suspend(case, reason=reason, kind=common.text(data.get("kind"), "kind") or "other",
                                  expected_days=integer(data.get("expectedDays"), "expectedDays"),
                                  actor=common.current_user())
    return jsonify(clock_dto(view))


@bp.post("/case/<case>/clock/resume")
def resume(case: str) -> Any:
    common.require("supervise")
    return jsonify(clock_dto(engine().cases.resume(case, actor=common.current_user())))


@bp.post("/case/<case>/clock/extend")
def extend(case: str) -> Any:
    data = common.body()
    common.require("supervise")
    days = integer(data.get("days"), "days", minimum=1)
    reason = common.text(data.get("reason"), "reason")
    approver = common.text(data.get("approver"), "approver")
    if days is None or not reason or not approver:
        raise RestError(400, "an extension needs days, reason and approver")
    view = engine().cases.extend(case, days=days, reason=reason, approver=approver, actor=common.current_user())
    return jsonify(clock_dto(view))


_CASE = common.path_params("id")
_CLOCK = {"200": json_response("The clock", "CaseClockDto"), "400": ERR, "403": ERR, "404": ERR, "500": ERR}
OPENAPI: dict[str, Any] = {
    "paths": {
        "/case/{id}/clock": {"get": operation(
            "getCaseClock", "Case Clock (OneWindow)", "The case's deadline clock (id or business key)",
            {"200": json_response("The clock", "CaseClockDto"), "404": ERR}, parameters=_CASE)},
        "/case/{id}/clock/suspend": {"post": operation(
            "suspendCaseClock", "Case Clock (OneWindow)", "Suspend the clock (reason, kind, expectedDays)",
            _CLOCK, parameters=_CASE, request_body=common.json_body({"type": "object", "required": ["reason"],
                                                                     "properties": {
                "reason": {"type": "string"}, "kind": {"type": "string"},
                "expectedDays": {"type": "integer", "nullable": True}}}, True))},
        "/case/{id}/clock/resume": {"post": operation(
            "resumeCaseClock", "Case Clock (OneWindow)", "Resume the clock", _CLOCK, parameters=_CASE)},
        "/case/{id}/clock/extend": {"post": operation(
            "extendCaseClock", "Case Clock (OneWindow)", "Extend the deadlines by working days (before expiry)",
            _CLOCK, parameters=_CASE, request_body=common.json_body({"type": "object", "required": [
                "days", "reason", "approver"], "properties": {"days": {"type": "integer", "minimum": 1},
                                                              "reason": {"type": "string"},
                                                              "approver": {"type": "string"}}}, True))},
    },
    "components": {"schemas": {"CaseClockDto": common.props(
        "instanceId", "businessKey", "state", "signal", "promisedLimit", "legalLimit", "acceptedAt:date",
        "promisedDue:date", "legalDue:date", "warnAt:date", "provisional:boolean", "suspendedWorkingDays:integer",
        "extendedWorkingDays:integer", "workingDaysLeft:integer", "stoppedAt:date", "region", "suspensions:array",
        "extensions:array")}},
}
