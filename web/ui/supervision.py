"""效能监察: the supervisors' dashboard ``/supervision``, the list behind every number ``/supervision/list`` and its
CSV export ``/supervision/export.csv``.

Everything comes from the engine's read model ``engine.supervision`` (definitions in engine/supervision.py, shown
on the page): per department and per service item, the open / warning / overdue cases and tasks, 收件量, 补正率,
办结量, 按时办结率 and the net working days 受理→办结 (mean, median, P90). Filters: a period (``from``/``to``,
local dates, both included), a department (``dept``) and a service item (``item``). The charts are SVG drawn here,
on the server (no script, no CDN). Every number links to its list; every list exports as CSV (UTF-8 with a BOM,
so Excel shows the Chinese text).

Who: supervisors and admins see every department, department leaders their own departments; anyone else 403.
Stable hooks for browser tests: ``a#total-<metric>`` (the totals), ``a[data-metric][data-dept]`` (the department
table), ``a[data-metric][data-item]`` (the item table), ``table#supervision-list`` with ``tr[data-key]`` (the list),
``a#export-csv`` (its CSV) and ``a#back-to-dashboard``.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from typing import Any, Iterator
from urllib.parse import quote_plus, urlencode

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from markupsafe import Markup

from engine.errors import InvalidInput
from engine.supervision import METRICS, SupervisionFilter, metric_name
from web.ui.base import access, engine, login_required, page_blueprint

bp = page_blueprint("supervision", __name__)

PAGE_SIZE = 50
SIGNAL_LABELS = {"ON_TIME": _l("正常"), "WARNING": _l("预警"), "OVERDUE": _l("超期")}
METRIC_LABELS = {
    "open_cases": _l("在办件"), "warning_cases": _l("预警件"), "overdue_cases": _l("超期在办件"),
    "received": _l("收件量"), "supplement": _l("补正件"), "closed": _l("办结量"),
    "closed_on_time": _l("按时办结件"), "closed_late": _l("超期办结件"),
    "overdue_all": _l("超期件（超期办结 + 超期在办）"),
    "open_tasks": _l("在办任务"), "warning_tasks": _l("预警任务"), "overdue_tasks": _l("超期任务"),
}
assert set(METRIC_LABELS) == set(METRICS)
DEFINITIONS = (  # domain.md §1.8, as computed by engine/supervision.py
    (_l("在办件"), _l("未办结、未终止的办件（当前时点）；按部门统计时，指该部门有未办任务的办件。")),
    (_l("预警件"), _l("在办件中，办理时限已进入预警期（当前时间 ≥ 预警时间，默认承诺期限前 "
                    "max(1, ⌈20%×承诺时限⌉) 个工作日）且未超期。")),
    (_l("超期在办件"), _l("在办件中，当前时间已超过办结期限（承诺时限 + 批准的延期 + 挂起的工作日）；"
                      "挂起中的办件按挂起开始的时间判断。")),
    (_l("在办/预警/超期任务"), _l("未完成的任务；超期：当前时间晚于任务期限（due）；预警：当前时间不早于提醒时间"
                           "（followUp）且未超期。任务的部门为其候选组。")),
    (_l("收件量"), _l("期间内收件（流程启动）的办件数。")),
    (_l("补正率"), _l("需要补正的办件 ÷ 收件量；需要补正：受理后有“补正”挂起，或受理前一次性告知"
                    "（办件变量 supplementRequested 为真）。")),
    (_l("办结量"), _l("期间内办结的办件数：受理后计时停止（出件/办结环节完成或流程结束）；终止的办件、无办理时限"
                    "（不计时）的事项不计。")),
    (_l("按时办结率"), _l("办结时间 ≤ 办结期限（承诺时限 + 批准的延期 + 挂起的工作日）的办结件 ÷ 有办结期限的办结件。")),
    (_l("超期件"), _l("超期办结件 + 超期在办件。")),
    (_l("平均/中位/P90 办理时长"), _l("受理日（不计）至办结日的工作日数，扣除挂起的工作日；P90 为最近秩法的第 90 百分位。")),
    (_l("部门口径"), _l("在办、预警、超期按办件当前所在的部门（有未办任务的部门）统计；收件、补正、办结、时长按办理过"
                    "该办件的所有部门统计：一个办件可计入多个部门，各部门之和可大于合计。")),
    (_l("日期范围"), _l("收件量、补正率按收件时间，办结量、按时办结率、办理时长按办结时间落在范围内统计（默认本月）；"
                    "在办、预警、超期（办件和任务）为统计时点的实时数，不受日期范围限制。")),
)
CASE_STATES = {"在办": _l("在办"), "挂起": _l("挂起"), "办结": _l("办结"), "终止": _l("终止"),
               "待受理": _l("待受理")}
SEGMENT_LABELS = {"overdue": _l("超期"), "warning": _l("预警"), "normal": _l("正常")}
CHART_COLORS = {"overdue": "#c0392b", "warning": "#e0a526", "normal": "#2f6db5"}


def _filter(args: Any) -> SupervisionFilter:
    """The filter of the query string; InvalidInput with a sentence for a malformed date. Without ``from`` and
    ``to`` the period is the current month up to today (an empty ``from=`` / ``to=`` is an open end)."""
    if "from" not in args and "to" not in args:
        today = engine().clock.now().astimezone(engine().services.tz).date()
        args = {**args, "from": today.replace(day=1).isoformat(), "to": today.isoformat()}

    def day(name: str, label: str) -> date | None:
        text = (args.get(name) or "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(_("%(label)s “%(text)s” 不是日期（YYYY-MM-DD）", label=label, text=text)) from None
    return SupervisionFilter(start=day("from", _("开始日期")), end=day("to", _("结束日期")),
                             department=args.get("dept") or None, item=args.get("item") or None).checked()


def _args(flt: SupervisionFilter, **extra: Any) -> dict[str, Any]:
    """The query string of a filter (an open end is kept as an empty value: it is not the default month)."""
    out = {"from": flt.start.isoformat() if flt.start else "", "to": flt.end.isoformat() if flt.end else "",
           "dept": flt.department, "item": flt.item, **extra}
    return {k: v for k, v in out.items() if v is not None and (v != "" or k in ("from", "to"))}


def _linker(flt: SupervisionFilter) -> Any:
    """link(metric, **extra) -> /supervision/list?... of a number (a dashboard has ~1,500: url_for once, then
    plain encoding)."""
    base, args = url_for("supervision.list_page"), _args(flt)
    prefixes: dict[tuple[str, ...], str] = {}

    def link(metric: str, **extra: Any) -> str:
        keys = tuple(extra)
        prefix = prefixes.get(keys)
        if prefix is None:
            prefix = prefixes[keys] = f"{base}?" + urlencode({k: v for k, v in args.items() if k not in extra})
        tail = "".join(f"&{k}={quote_plus(str(v))}" for k, v in extra.items())
        return f"{prefix}{tail}&metric={metric}"
    return link


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def chart(rows: list[Any], kind: str, link: Any, width: int = 760) -> dict[str, Any]:
    """A horizontal stacked bar per department: overdue, warning and the rest of the open cases (``kind`` case) or
    tasks (``task``); each segment links to its list."""
    metrics = {"case": ("open_cases", "warning_cases", "overdue_cases"),
               "task": ("open_tasks", "warning_tasks", "overdue_tasks")}[kind]
    label_w, bar_h, gap, top = 150, 16, 6, 24
    plot_w = width - label_w - 60
    biggest = max([r.figures.value(metrics[0]) for r in rows] + [1])
    bars = []
    for i, r in enumerate(rows):
        total, warning, overdue = (r.figures.value(m) for m in metrics)
        normal = max(0, total - warning - overdue)
        y = top + i * (bar_h + gap)
        x, segments = label_w, []
        for name, value, metric in (("overdue", overdue, metrics[2]), ("warning", warning, metrics[1]),
                                    ("normal", normal, metrics[0])):
            w = plot_w * value / biggest
            if value:
                segments.append({"x": round(x, 1), "w": round(max(w, 1.0), 1), "color": CHART_COLORS[name],
                                 "value": value, "name": name,
                                 "href": link(metric, dept=r.key), "label": SEGMENT_LABELS[name]})
            x += w
        bars.append({"y": y, "label": r.name, "key": r.key, "total": total, "segments": segments,
                     "end": round(x, 1)})
    return {"width": width, "height": top + len(rows) * (bar_h + gap) + 4, "bars": bars, "bar_h": bar_h,
            "label_w": label_w, "kind": kind}


def init_app(app: Any) -> None:
    """``SUPERVISION_CACHE_SECONDS`` (``ONEWINDOW_SUPERVISION_CACHE_SECONDS``, default 30): how long the dashboard's
    numbers may be reused (``engine.supervision.cache_seconds``; fresh at once after any change while computing
    them is cheap, docs/web.md); 0 turns the reuse off."""
    app.config.setdefault("SUPERVISION_CACHE_SECONDS",
                          float(os.environ.get("ONEWINDOW_SUPERVISION_CACHE_SECONDS", "30")))
    app.extensions["onewindow"].supervision.cache_seconds = float(app.config["SUPERVISION_CACHE_SECONDS"])


@bp.route("/supervision")
@login_required
def dashboard() -> Any:
    eng, acc = engine(), access()
    error, status = None, 200
    try:
        flt = _filter(request.args)
    except InvalidInput as exc:
        error, status, flt = str(exc), 400, _filter({})
    report = eng.supervision.report(acc, flt)
    departments = report.department_names
    dept_options = sorted(((k, departments.get(k, k)) for k in (report.scope if report.scope is not None
                                                                 else departments)), key=lambda kv: kv[0])
    body = _report_html(report, flt)
    return render_template(
        "supervision/dashboard.html", report=report, flt=flt, error=error, args=request.args,
        dept_options=dept_options, item_options=sorted(report.item_names.items()), definitions=DEFINITIONS,
        body=body,
    ), status


_FRAGMENTS: dict[Any, Any] = {}


def _report_html(report: Any, flt: SupervisionFilter) -> Any:
    """The totals, charts and tables of ``report`` (~1,500 links with 50 departments): rendered once per computed
    report and language, then reused with the report (``engine.supervision.cache_seconds``)."""
    from flask_babel import get_locale

    key = (id(report), report.now, flt, str(get_locale()))
    found = _FRAGMENTS.get(key)
    if found is not None and found[0] is report:
        return found[1]
    link = _linker(flt)
    charted = [r for r in report.departments if r.figures.open_cases or r.figures.open_tasks] or report.departments
    html = Markup(render_template(
        "supervision/_report.html", report=report, labels=METRIC_LABELS, pct=_pct, days=_days, link=link,
        case_chart=chart(charted, "case", link), task_chart=chart(charted, "task", link), colors=CHART_COLORS))
    if len(_FRAGMENTS) >= 64:
        _FRAGMENTS.clear()
    _FRAGMENTS[key] = (report, html)
    return html


def _list_request() -> tuple[str, SupervisionFilter]:
    return metric_name(request.args.get("metric", "")), _filter(request.args)


@bp.route("/supervision/list")
@login_required
def list_page() -> Any:
    eng, acc = engine(), access()
    try:
        metric, flt = _list_request()
    except InvalidInput as exc:
        return render_template("supervision/list.html", error=str(exc), page=None, labels=METRIC_LABELS), 400
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    page = eng.supervision.list_page(acc, metric, flt, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-page.total // PAGE_SIZE))
    if number > pages:
        number = pages
        page = eng.supervision.list_page(acc, metric, flt, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    report_names = eng.supervision.names()
    return render_template(
        "supervision/list.html", error=None, page=page, metric=metric, flt=flt, number=number, pages=pages,
        labels=METRIC_LABELS, signals=SIGNAL_LABELS, names=report_names, now=eng.clock.now(), states=CASE_STATES,
        export=url_for("supervision.export_csv", **_args(flt, metric=metric)),
        back=url_for("supervision.dashboard", **_args(flt)),
        link=lambda n: url_for("supervision.list_page", **_args(flt, metric=metric, page=n)))


CASE_HEADER = (_l("办件编号"), _l("事项编码"), _l("事项名称"), _l("所在/经办部门"), _l("当前环节"), _l("状态"),
               _l("期限信号"), _l("收件时间"), _l("受理时间"), _l("办结期限"), _l("办结时间"),
               _l("办理时长（净工作日）"), _l("补正"))
TASK_HEADER = (_l("办件编号"), _l("任务"), _l("事项编码"), _l("事项名称"), _l("部门"), _l("办理人"), _l("创建时间"),
               _l("到期时间"), _l("提醒时间"), _l("期限信号"))
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, tz: Any, words: dict[str, str]) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text  # no formula injection when Excel opens it


def csv_words() -> dict[str, Any]:
    """The CSV's words in the reader's language, taken while the request is there (the rows stream after it)."""
    return {"case": [str(h) for h in CASE_HEADER], "task": [str(h) for h in TASK_HEADER], "yes": str(_("是")),
            "no": str(_("否")), "sep": str(_("、")), "signals": {k: str(v) for k, v in SIGNAL_LABELS.items()},
            "states": {k: str(v) for k, v in CASE_STATES.items()}}


def csv_lines(rows: Iterator[Any], kind: str, tz: Any, words: dict[str, Any] | None = None) -> Iterator[str]:
    """The CSV text of a list: a UTF-8 BOM, a header row, one line per case or task."""
    words = words or {"case": list(CASE_HEADER), "task": list(TASK_HEADER), "yes": "是", "no": "否", "sep": "、",
                      "signals": {"ON_TIME": "正常", "WARNING": "预警", "OVERDUE": "超期"}, "states": {}}
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow([str(h) for h in (words["case"] if kind == "case" else words["task"])])
    yield "\ufeff" + buf.getvalue()
    buf.seek(0)
    buf.truncate()
    signals, sep, states = words["signals"], words["sep"], words["states"]
    for n, r in enumerate(rows, 1):
        if kind == "case":
            values = (r.business_key or r.instance_id, r.item, r.item_name, sep.join(r.departments),
                      sep.join(r.steps), states.get(r.state, r.state), signals[r.signal], r.received_at,
                      r.accepted_at, r.due, r.closed_at, r.net_days, r.supplement)
        else:
            values = (r.business_key or r.instance_id, r.name, r.item, r.item_name, sep.join(r.departments),
                      r.assignee, r.created, r.due, r.follow_up, signals[r.signal])
        out.writerow([_cell(v, tz, words) for v in values])
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


@bp.route("/supervision/export.csv")
@login_required
def export_csv() -> Any:
    eng, acc = engine(), access()
    try:
        metric, flt = _list_request()
    except InvalidInput as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    kind = METRICS[metric][0]
    eng.supervision.list_page(acc, metric, flt, limit=1)  # the scope check (403) before the response starts
    rows = eng.supervision.iter_rows(acc, metric, flt)
    stamp = eng.clock.now().astimezone(eng.services.tz).strftime("%Y%m%d-%H%M")
    name = f"supervision-{metric}-{stamp}.csv"
    return Response(csv_lines(rows, kind, eng.services.tz, csv_words()),  # needs no request context: eng, acc bound above
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
