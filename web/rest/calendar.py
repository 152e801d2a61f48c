"""OneWindow's own ``/calendar`` (no Camunda counterpart): a year's non-standard days (official holidays and 调休
working days, and the overrides), and the deadline N working days after an instant."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from . import common
from .common import ERR, RestError, camunda_date, engine, integer, json_response, operation, parse_date

bp = Blueprint("rest_calendar", __name__)


@bp.get("/calendar/<int:year>")
def year(year: int) -> Any:
    region = common.query_params().get("region") or None
    return jsonify({"year": year, "region": region,
                    "days": [d.as_json() for d in engine().calendar.show(year, region)]})


@bp.get("/calendar/deadline")
def deadline() -> Any:
    params = common.query_params()
    if not params.get("start") or params.get("workingDays") in (None, ""):
        raise RestError(400, "the deadline needs start (a date) and workingDays")
    start = parse_date(params["start"], "start")
    days = integer(params["workingDays"], "workingDays")
    region = params.get("region") or None
    due, provisional = engine().calendar.deadline_provisional(start, days, region)
    return jsonify({"start": camunda_date(start), "workingDays": days, "region": region,
                    "deadline": camunda_date(due), "provisional": provisional})


OPENAPI: dict[str, Any] = {
    "paths": {
        "/calendar/{year}": {"get": operation(
            "getCalendarYear", "Calendar (OneWindow)", "The year's holidays, 调休 working days and overrides",
            {"200": json_response("The year", common.props("year:integer", "region", "days:array")), "400": ERR},
            parameters=[{"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}}]
            + common.query("region"))},
        "/calendar/deadline": {"get": operation(
            "getCalendarDeadline", "Calendar (OneWindow)",
            "The close of office hours of the workingDays-th working day after start (provisional when a year "
            "on the way has no calendar data)",
            {"200": json_response("The deadline", common.props("start:date", "workingDays:integer", "region",
                                                               "deadline:date", "provisional:boolean")),
             "400": ERR},
            parameters=common.query("start", "workingDays:integer", "region"))},
    },
}
