"""/inbox (待办): the tabs "my tasks", "my departments' unclaimed", "delegated by me" and "已办" (completed by me),
with counts, filters (service item, due soon / warning / overdue, business key or applicant), sorting by due date,
paging, and claim/unclaim from the list (the actions are the task page's POST endpoints).

Queries per page: one list, one count per tab, one read of the page's applicants, the service items and the
calendar: never one per row. Every query carries the user's data scope (``Access.restrict``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from typing import Any

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l

from engine.caseclock.config import working_days_left
from engine.tasks.queries import SEARCH_VARIABLES, TaskQuery
from web.ui.base import access, engine, login_required, page_blueprint

bp = page_blueprint("inbox", __name__)

TABS = (("mine", _l("我的待办")), ("group", _l("部门待认领")), ("delegated", _l("我委派的")),
        ("done", _l("已办")))
SIGNALS = (("", _l("全部期限")), ("soon", _l("即将到期")), ("warning", _l("预警")), ("overdue", _l("超期")))
PAGE_SIZE = 20
DUE_SOON_WORKING_DAYS = 3


def tab_query(tab: str, me: str, groups: tuple[str, ...]) -> TaskQuery | None:
    """The TaskQuery of a tab before filters and scope; None: the tab is empty by definition (no department)."""
    if tab == "mine":
        return TaskQuery(assignee=me)
    if tab == "group":
        return TaskQuery(candidate_groups=groups, unassigned=True) if groups else None
    if tab == "delegated":
        return TaskQuery(owner=me)
    if tab == "done":
        return TaskQuery(state=None, completed_by=me)
    raise ValueError(tab)


def _due_soon_limit(cal: Any, now: datetime) -> datetime:
    """The end of the DUE_SOON_WORKING_DAYS-th working day after today."""
    day, found = now.astimezone(cal.tz).date(), 0
    while found < DUE_SOON_WORKING_DAYS:
        day += timedelta(days=1)
        found += cal.is_working_day(day)
    return datetime.combine(day, time(23, 59, 59), cal.tz)


def filters(args: Any, now: datetime, cal: Any) -> dict[str, Any]:
    """TaskQuery fields of the filter form: service item, deadline signal, search text."""
    out: dict[str, Any] = {}
    if args.get("item"):
        out["definition_key"] = args["item"].strip()
    if args.get("q"):
        out["search"] = args["q"].strip()
    signal = args.get("signal", "")
    if signal == "overdue":
        out["due_before"] = now
    elif signal == "warning":  # warning time reached, not yet overdue
        out["follow_up_before"] = now + timedelta(microseconds=1)
        out["due_after"] = now - timedelta(microseconds=1)
    elif signal == "soon":  # due within the next working days, not yet overdue
        out["due_after"] = now - timedelta(microseconds=1)
        out["due_before"] = _due_soon_limit(cal, now)
    return out


@bp.route("/inbox")
@login_required
def inbox() -> Any:
    eng, acc = engine(), access()
    tab = request.args.get("tab", "mine")
    if tab not in dict(TABS):
        tab = "mine"
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    sort = "created" if request.args.get("sort") == "created" else "dueDate"
    order = "desc" if request.args.get("order") == "desc" else "asc"
    if tab == "done" and not request.args.get("order"):
        order = "desc"
    now = eng.clock.now()
    cal = eng.calendar.calendar()
    extra = filters(request.args, now, cal)

    counts: dict[str, int] = {}
    for name, _label in TABS:
        base = tab_query(name, acc.user_id, acc.groups)
        counts[name] = 0 if base is None else eng.tasks.count(acc.restrict(dataclasses.replace(base, **extra)))
    base = tab_query(tab, acc.user_id, acc.groups)
    tasks = []
    if base is not None and counts[tab]:
        pages = max(1, -(-counts[tab] // PAGE_SIZE))
        page = min(page, pages)
        q = dataclasses.replace(base, **extra, sort_by="dueDate" if sort == "dueDate" else "created",
                                sort_order=order, first_result=(page - 1) * PAGE_SIZE, max_results=PAGE_SIZE)
        tasks = eng.tasks.list(acc.restrict(q))
    pages = max(1, -(-counts[tab] // PAGE_SIZE))
    applicants = eng.tasks.case_variables([t.instance_id for t in tasks], SEARCH_VARIABLES) if tasks else {}
    definitions = eng.repository.definitions()
    item_names = {d.id: d.name or d.key for d in definitions}
    items = sorted({d.key: d.name or d.key for d in definitions}.items())

    rows = []
    for t in tasks:
        signal = t.signal(now)
        days = working_days_left(cal, now, t.due) if t.due is not None and t.state == "ACTIVE" else None
        found = applicants.get(t.instance_id, {})
        rows.append({"task": t, "signal": signal, "days_left": days,
                     "applicant": next((found[n] for n in SEARCH_VARIABLES if n in found), ""),
                     "item": item_names.get(t.definition_id, ""),
                     "mine": t.assignee == acc.user_id,
                     "may_claim": t.state == "ACTIVE" and t.assignee is None and acc.may_task(t, "claim"),
                     "may_unclaim": t.state == "ACTIVE" and t.assignee == acc.user_id and not t.owner})

    def link(**change: Any) -> str:
        args = {k: v for k, v in request.args.items() if v}
        args.update({k: v for k, v in change.items()})
        return url_for("inbox.inbox", **{k: v for k, v in args.items() if v not in (None, "")})

    return render_template("inbox.html", tab=tab, tabs=TABS, counts=counts, rows=rows, page=page, pages=pages,
                           signals=SIGNALS, items=items, args=request.args, link=link, sort=sort, order=order,
                           total=counts[tab], page_size=PAGE_SIZE)
