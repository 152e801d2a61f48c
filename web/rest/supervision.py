"""OneWindow's own ``/supervision`` (效能监察; no Camunda counterpart): the dashboard's numbers per department and
per service item, and the cases or tasks behind each number — the same read model as the /supervision page
(``engine.supervision``, definitions in domain.md §1.8 and docs/web.md), the same data scope (supervisors and admins
everything, a leader their own departments, anyone else 403)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify

from engine.supervision import SupervisionFilter

from . import common
from .common import ERR, RestError, camunda_date, engine, integer, json_response, operation

bp = Blueprint("rest_supervision", __name__)
MAX_RESULTS = 500


def _who() -> Any:
    from engine.identity import Access

    return common.access() or Access.unrestricted()


def _filter(params: dict[str, Any]) -> SupervisionFilter:
    def day(name: str) -> date | None:
        text = (params.get(name) or "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise RestError(400, f"{name} '{text}' is not a date (YYYY-MM-DD)") from None
    return SupervisionFilter(start=day("from"), end=day("to"), department=params.get("department") or None,
                             item=params.get("item") or None)


def _figures_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"key": r.key, "name": r.name, **r.figures.as_json()} for r in rows]


@bp.get("/supervision/report")
def report() -> Any:
    params = common.query_params()
    rep = engine().supervision.report(_who(), _filter(params))
    return jsonify({"asOf": camunda_date(rep.now), "from": params.get("from") or None, "to": params.get("to") or None,
                    "department": rep.filter.department, "item": rep.filter.item,
                    "scope": list(rep.scope) if rep.scope is not None else None,
                    "total": rep.total.as_json(), "departments": _figures_rows(rep.departments),
                    "items": _figures_rows(rep.items)})


def _row(r: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(r).items():
        key = "".join(p if i == 0 else p.capitalize() for i, p in enumerate(name.split("_")))
        out[key] = camunda_date(value) if hasattr(value, "astimezone") else (
            list(value) if isinstance(value, tuple) else value)
    return out


@bp.get("/supervision/list")
def list_rows() -> Any:
    params = common.query_params()
    metric = params.get("metric")
    if not metric:
        raise RestError(400, "the list needs a metric, e.g. overdue_cases (see /supervision/report)")
    first = integer(params.get("firstResult"), "firstResult") or 0
    size = integer(params.get("maxResults"), "maxResults")
    size = MAX_RESULTS if size is None else size
    if first < 0 or size < 0 or size > MAX_RESULTS:
        raise RestError(400, f"firstResult must be >= 0 and maxResults between 0 and {MAX_RESULTS}")
    page = engine().supervision.list_page(_who(), metric, _filter(params), offset=first, limit=size)
    return jsonify({"metric": page.metric, "kind": page.kind, "count": page.total,
                    "rows": [_row(r) for r in page.rows]})


_FILTERS = common.query("from", "to", "department", "item")
OPENAPI: dict[str, Any] = {
    "paths": {
        "/supervision/report": {"get": operation(
            "getSupervisionReport", "Supervision (OneWindow)",
            "效能监察: open / warning / overdue cases and tasks, 收件, 补正率, 办结, 按时办结率 and net working days "
            "受理→办结 (mean, median, P90) in total, per department and per service item (supervisor, admin; a "
            "leader: own departments)",
            {"200": json_response("The report", common.props("asOf:date", "from", "to", "department", "item",
                                                              "scope:array", "total:object", "departments:array",
                                                              "items:array")),
             "400": ERR, "403": ERR},
            parameters=_FILTERS)},
        "/supervision/list": {"get": operation(
            "getSupervisionList", "Supervision (OneWindow)",
            "The cases or tasks behind one number of the report, soonest deadline first",
            {"200": json_response("A page of the list", common.props("metric", "kind", "count:integer",
                                                                     "rows:array")),
             "400": ERR, "403": ERR},
            parameters=common.query("metric") + _FILTERS + common.query("firstResult:integer",
                                                                        "maxResults:integer"))},
    },
}
