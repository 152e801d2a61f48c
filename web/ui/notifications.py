"""通知 (the bell): the signed-in user's notifications — deadline warnings, overdue notices, urges (催办) and
assignments (分派/转办/委派) — from the outbox, fanned out per person by the engine (engine/notifications.py).

The header shows the number of unread ones on every page: ``notify_unread`` in the templates' context, one indexed
COUNT query per page (``engine.notifications.unread_count``), made only when a template asks for it. /notifications
lists them newest first (all or unread only, paged); "标为已读" marks one, "全部标为已读" all of them, "查看" marks one
read and opens its task (or case). Every change is a POST with the CSRF token; a user only ever sees and changes
their own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from web.ui.base import engine, login_required, page_blueprint, safe_next

bp = page_blueprint("notifications", __name__)

PAGE_SIZE = 30
KIND_LABELS = {"urge": _l("催办"), "assignment": _l("分派"), "notice": _l("时限提醒")}


def unread_count() -> int:
    """The signed-in user's unread notifications (once per request)."""
    if "notify_unread" not in g:
        g.notify_unread = engine().notifications.unread_count(current_user.id) \
            if current_user.is_authenticated else 0
    return int(g.notify_unread)


def init_app(app: Flask) -> None:
    # a callable, so a page that never shows the header (errors before login, …) makes no query
    app.context_processor(lambda: {"notify_unread": unread_count})


def target(note: Any) -> str:
    """Where a notification leads: its task, else its case."""
    if note.task_id:
        return url_for("tasks.task_page", task_id=note.task_id)
    if note.instance_id:
        return url_for("cases.case_view", key=note.instance_id)
    return url_for("notifications.index")


@bp.get("/notifications")
@login_required
def index() -> Any:
    unread_only = request.args.get("show") == "unread"
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    notes = engine().notifications.for_user(current_user.id, unread_only=unread_only, limit=PAGE_SIZE + 1,
                                            offset=(page - 1) * PAGE_SIZE)
    return render_template("notifications.html", notes=notes[:PAGE_SIZE], more=len(notes) > PAGE_SIZE, page=page,
                           unread_only=unread_only, kind_labels=KIND_LABELS, target=target)


MENU_SIZE = 8


@bp.get("/notifications/menu")
@login_required
def menu() -> Any:
    """The bell's menu (fetched when it is opened, so pages pay nothing for it): the latest unread ones."""
    notes = engine().notifications.for_user(current_user.id, unread_only=True, limit=MENU_SIZE + 1)
    return render_template("notifications_menu.html", notes=notes[:MENU_SIZE], more=len(notes) > MENU_SIZE,
                           kind_labels=KIND_LABELS, target=target)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Any:
    ids = [i for i in request.form.getlist("id") if i]
    engine().notifications.mark_read(current_user.id, ids)
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")), code=303)


@bp.post("/notifications/read-all")
@login_required
def mark_all_read() -> Any:
    engine().notifications.mark_all_read(current_user.id)
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")), code=303)
