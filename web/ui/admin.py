"""系统管理 /admin (role admin only; everybody else gets 403): users, departments (groups), roles and the working-day
calendar's overrides.

Every change is one call of the engine façade — ``engine.identity`` (the same functions as ``onewindow users`` and
``onewindow groups``) and ``engine.calendar`` (as ``onewindow calendar``) — so it is one transaction, recorded in the
engine-wide history with the signed-in admin as actor (``UserCreated``, ``UserUpdated``, ``UserRolesChanged``,
``UserPasswordChanged``, ``UserDeactivated``/``UserActivated``, ``GroupCreated``, ``GroupRenamed``,
``CalendarDayAdded``/``CalendarDayRemoved``); /admin/audit lists them. A refused change (duplicate login name, weak
password, unknown department, invalid date, unknown calendar year, the last admin) changes nothing and comes back
as a sentence next to the field, with the input kept. Passwords are never shown, logged or kept in the form.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.calendar import CalendarYearUnknown, known_years
from engine.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.identity import ROLES
from web.ui.base import access, engine, login_required, page_blueprint

bp = page_blueprint("admin", __name__)

AUDIT_EVENTS = {
    "UserCreated": _l("新建用户"), "UserUpdated": _l("修改用户"), "UserRolesChanged": _l("修改角色"),
    "UserPasswordChanged": _l("重置密码"), "UserDeactivated": _l("停用用户"), "UserActivated": _l("启用用户"),
    "MembershipCreated": _l("加入部门"), "MembershipDeleted": _l("移出部门"), "GroupCreated": _l("新建部门"),
    "GroupRenamed": _l("部门改名"), "CalendarDayAdded": _l("新增日历调整"), "CalendarDayRemoved": _l("删除日历调整"),
    "CalendarYearAdded": _l("新增年度日历"),
}
KIND_LABELS = {"holiday": _l("休息日"), "workday": _l("工作日")}
AUDIT_LIMIT = 100


@bp.before_request
def _admins_only() -> Any:
    """Sign-in first (anonymous → /login), then the role admin (``manage_identity``), else 403."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not (access().may("manage_identity") and access().may("manage_calendar")):
        abort(403, description=_("系统管理仅限系统管理员（admin 角色）。"))
    return None


def _me() -> str:
    return access().user_id


# --- errors of the engine → a sentence next to the field ---------------------------------------------------------
def _field_error(exc: EngineError) -> tuple[str | None, str]:
    """The form field an engine refusal belongs to, and a Chinese sentence (the engine's own sentence follows)."""
    d = exc.details
    text = str(exc)
    field = d.get("field")
    if isinstance(exc, Conflict) and "already exists" in text and "user_id" in d:
        return "user_id", _("登录名 %(id)s 已存在，请换一个。", id=d["user_id"])
    if isinstance(exc, Conflict) and "already exists" in text and "group_id" in d:
        return "group_id", _("部门编号 %(id)s 已存在。", id=d["group_id"])
    if isinstance(exc, Conflict) and "last active admin" in text:
        return "roles", _("%(id)s 是最后一位启用的系统管理员：请先让另一位用户成为管理员。", id=d.get("user_id", ""))
    if isinstance(exc, CalendarYearUnknown):
        return "day", _("工作日历没有 %(year)s 年的官方数据，不能调整该年的日期（%(detail)s）", year=exc.year, detail=text)
    if field == "password":
        if "required" in text:
            return "password", _("请填写密码。")
        if "too short" in text:
            return "password", _("密码太短：至少 8 个字符。")
        return "password", _("密码不符合要求：%(detail)s", detail=text)
    if field == "group":
        return "groups", _("部门不存在：%(groups)s。请先在“部门”中新建。", groups=_("、").join(d.get("unknown") or ()))
    if field == "user id":
        return "user_id", _("登录名无效：只能使用字母（含中文）、数字和 _ . @ -，以字母或数字开头，最长 64 个字符。")
    if field == "group id":
        return "group_id", _("部门编号无效：只能使用字母（含中文）、数字和 _ . @ -，以字母或数字开头，最长 64 个字符。")
    if field == "email":
        return "email", _("电子邮箱格式不正确。")
    if field == "phone":
        return "phone", _("电话号码格式不正确。")
    if field == "name":
        return "name", _("请填写名称（最多 255 个字符）。") if "required" in text else _("名称最多 255 个字符。")
    if field == "role":
        return "roles", _("未知角色：%(detail)s", detail=text)
    if "day" in d and ("calendar date" in text or "date-time" in text):
        return "day", _("日期无效：请使用 YYYY-MM-DD 格式，例如 2026-10-08。")
    if "day" in d and "already has an override" in text:
        return "day", _("%(day)s 已有调整记录，请先删除。", day=d["day"])
    if "day" in d and " is already " in text:
        return "day", _("%(day)s 本来就是该类型的日子，无需调整。", day=d["day"])
    if "region" in d and "not a region" in text:
        return "region", _("地区代码无效（1-48 个字母、数字、_ . -，例如 330100）。")
    return None, text


def _errors(exc: EngineError) -> dict[str, str]:
    field, message = _field_error(exc)
    return {field or "form": message}


def _form(*names: str) -> dict[str, str]:
    return {n: (request.form.get(n) or "").strip() for n in names}


# --- /admin ------------------------------------------------------------------------------------------------------
@bp.get("/admin")
@login_required
def index() -> Any:
    ident = engine().identity
    users = ident.users()
    return render_template("admin/index.html", section="index", users=len(users),
                           active=sum(1 for u in users if u.active), groups=len(ident.groups()),
                           admins=[u.id for u in users if "admin" in u.roles and u.active],
                           audit=_audit(limit=10), audit_events=AUDIT_EVENTS)


# --- users ------------------------------------------------------------------------------------------------------
def _users_page(*, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                status: int = 200) -> Any:
    ident = engine().identity
    q = (request.args.get("q") or "").strip()
    state = request.args.get("state") or ""
    active = {"active": True, "inactive": False}.get(state)
    users = ident.search(q, active=active, role=request.args.get("role") or None
                         if request.args.get("role") in ROLES else None)
    return render_template("admin/users.html", section="users", users=users, q=q, state=state,
                           role=request.args.get("role") or "", groups=ident.groups(), roles=ROLES,
                           errors=errors or {}, form=form or {"groups": [], "roles": []},
                           done=request.args.get("done")), status


@bp.get("/admin/users")
@login_required
def users() -> Any:
    return _users_page()


@bp.post("/admin/users")
@login_required
def create_user() -> Any:
    form: dict[str, Any] = _form("user_id", "name", "email", "phone")
    form["groups"] = request.form.getlist("groups")
    form["roles"] = request.form.getlist("roles")
    password, again = request.form.get("password") or "", request.form.get("password2") or ""
    if not form["user_id"]:
        return _users_page(errors={"user_id": _("请填写登录名。")}, form=form, status=400)
    if password != again:
        return _users_page(errors={"password2": _("两次输入的密码不一致。")}, form=form, status=400)
    try:
        engine().identity.add_user(form["user_id"], password, name=form["name"] or None, email=form["email"] or None,
                                   phone=form["phone"] or None, groups=form["groups"], roles=form["roles"],
                                   actor=_me())
    except EngineError as exc:
        return _users_page(errors=_errors(exc), form=form, status=409 if isinstance(exc, Conflict) else 400)
    return redirect(url_for("admin.user", user_id=form["user_id"], done="created"), code=303)


def _user_page(user_id: str, *, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
               status: int = 200) -> Any:
    ident = engine().identity
    view = ident.user(user_id)  # NotFound → 404
    return render_template("admin/user.html", section="users", u=view, groups=ident.groups(), roles=ROLES,
                           errors=errors or {}, form=form or {}, done=request.args.get("done")), status


@bp.get("/admin/users/<user_id>")
@login_required
def user(user_id: str) -> Any:
    return _user_page(user_id)


@bp.post("/admin/users/<user_id>")
@login_required
def update_user(user_id: str) -> Any:
    form: dict[str, Any] = _form("name", "email", "phone")
    form["groups"] = request.form.getlist("groups")
    try:
        engine().identity.update_user(user_id, name=form["name"] or None, email=form["email"] or None,
                                      phone=form["phone"] or None, groups=form["groups"], actor=_me())
    except NotFound:
        raise
    except EngineError as exc:
        return _user_page(user_id, errors=_errors(exc), form=form, status=400)
    return redirect(url_for("admin.user", user_id=user_id, done="updated"), code=303)


@bp.post("/admin/users/<user_id>/roles")
@login_required
def user_roles(user_id: str) -> Any:
    roles = request.form.getlist("roles")
    try:
        engine().identity.set_roles(user_id, roles, actor=_me())
    except NotFound:
        raise
    except EngineError as exc:
        return _user_page(user_id, errors=_errors(exc), form={"roles": roles}, status=409 if isinstance(
            exc, Conflict) else 400)
    return redirect(url_for("admin.user", user_id=user_id, done="roles"), code=303)


@bp.post("/admin/users/<user_id>/password")
@login_required
def user_password(user_id: str) -> Any:
    password, again = request.form.get("password") or "", request.form.get("password2") or ""
    if password != again:
        return _user_page(user_id, errors={"password2": _("两次输入的密码不一致。")}, status=400)
    try:
        engine().identity.set_password(user_id, password, actor=_me())
    except NotFound:
        raise
    except EngineError as exc:
        return _user_page(user_id, errors=_errors(exc), status=400)
    return redirect(url_for("admin.user", user_id=user_id, done="password"), code=303)


@bp.post("/admin/users/<user_id>/active")
@login_required
def user_active(user_id: str) -> Any:
    want = request.form.get("active")
    if want not in ("0", "1"):
        return _user_page(user_id, errors={"active": _("请选择启用或停用。")}, status=400)
    ident = engine().identity
    try:
        if want == "1":
            ident.activate(user_id, actor=_me())
        else:
            ident.deactivate(user_id, actor=_me())
    except NotFound:
        raise
    except EngineError as exc:
        field, message = _field_error(exc)
        return _user_page(user_id, errors={"active": message}, status=409)
    return redirect(url_for("admin.user", user_id=user_id, done="activated" if want == "1" else "deactivated"),
                    code=303)


# --- departments (groups) ---------------------------------------------------------------------------------------
def _groups_page(*, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                 status: int = 200) -> Any:
    return render_template("admin/groups.html", section="groups", groups=engine().identity.groups(),
                           errors=errors or {}, form=form or {}, done=request.args.get("done")), status


@bp.get("/admin/groups")
@login_required
def groups() -> Any:
    return _groups_page()


@bp.post("/admin/groups")
@login_required
def create_group() -> Any:
    form = _form("group_id", "name")
    if not form["group_id"]:
        return _groups_page(errors={"group_id": _("请填写部门编号。")}, form=form, status=400)
    try:
        engine().identity.add_group(form["group_id"], form["name"], actor=_me())
    except EngineError as exc:
        return _groups_page(errors=_errors(exc), form=form, status=409 if isinstance(exc, Conflict) else 400)
    return redirect(url_for("admin.group", group_id=form["group_id"], done="created"), code=303)


def _group_page(group_id: str, *, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                status: int = 200) -> Any:
    ident = engine().identity
    view = ident.group(group_id)  # NotFound → 404
    return render_template("admin/group.html", section="groups", gr=view, members=ident.users(group=group_id),
                           errors=errors or {}, form=form or {}, done=request.args.get("done")), status


@bp.get("/admin/groups/<group_id>")
@login_required
def group(group_id: str) -> Any:
    return _group_page(group_id)


@bp.post("/admin/groups/<group_id>")
@login_required
def rename_group(group_id: str) -> Any:
    form = _form("name")
    try:
        engine().identity.rename_group(group_id, form["name"], actor=_me())
    except NotFound:
        raise
    except EngineError as exc:
        return _group_page(group_id, errors=_errors(exc), form=form, status=400)
    return redirect(url_for("admin.group", group_id=group_id, done="renamed"), code=303)


# --- the calendar's overrides -----------------------------------------------------------------------------------
def _year() -> int:
    raw = (request.values.get("year") or "").strip()
    if raw.isdigit() and len(raw) == 4:
        return int(raw)
    return engine().clock.now().astimezone(engine().services.tz).year


def _calendar_page(*, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                   status: int = 200, year: int | None = None) -> Any:
    year = year or _year()
    region = (request.values.get("region") or "").strip() or None
    days, overrides, year_error = [], [], None
    try:
        days = engine().calendar.show(year, region=region)
        overrides = [d for d in days if d.source != "official"]
    except CalendarYearUnknown as exc:
        year_error = _("工作日历没有 %(year)s 年的官方数据（已知：%(years)s）。", year=year,
                       years=f"{min(known_years())}–{max(known_years())}") + " " + str(exc)
        status = status if status != 200 else 404
    except InvalidInput as exc:
        year_error = _field_error(exc)[1]
        status = 400
    return render_template("admin/calendar.html", section="calendar", year=year, region=region or "",
                           official=[d for d in days if d.source == "official"], overrides=overrides,
                           year_error=year_error, years=known_years(), kind_labels=KIND_LABELS,
                           errors=errors or {}, form=form or {}, done=request.args.get("done")), status


@bp.get("/admin/calendar")
@login_required
def calendar() -> Any:
    return _calendar_page()


@bp.post("/admin/calendar")
@login_required
def calendar_add() -> Any:
    form = _form("day", "kind", "note", "region", "year")
    if form["kind"] not in KIND_LABELS:
        return _calendar_page(errors={"kind": _("请选择“休息日”或“工作日”。")}, form=form, status=400)
    if not form["day"]:
        return _calendar_page(errors={"day": _("请填写日期。")}, form=form, status=400)
    cal = engine().calendar
    add = cal.add_holiday if form["kind"] == "holiday" else cal.add_workday
    try:
        view = add(form["day"], region=form["region"] or None, note=form["note"] or None, actor=_me())
    except EngineError as exc:
        return _calendar_page(errors=_errors(exc), form=form, status=400)
    return redirect(url_for("admin.calendar", year=view.day.year, region=form["region"] or None, done="added"),
                    code=303)


@bp.post("/admin/calendar/remove")
@login_required
def calendar_remove() -> Any:
    form = _form("day", "region", "year")
    try:
        day = date.fromisoformat(form["day"])
    except ValueError:
        return _calendar_page(errors={"remove": _("日期无效：请使用 YYYY-MM-DD 格式，例如 2026-10-08。")}, status=400)
    try:
        engine().calendar.remove_override(day, region=form["region"] or None, actor=_me())
    except EngineError as exc:
        message = _("%(day)s 没有调整记录。", day=day.isoformat()) if isinstance(exc, NotFound) \
            else _field_error(exc)[1]
        return _calendar_page(errors={"remove": message}, status=404 if isinstance(exc, NotFound) else 400,
                              year=day.year)
    return redirect(url_for("admin.calendar", year=day.year, region=form["region"] or None, done="removed"),
                    code=303)


# --- the record of admin changes --------------------------------------------------------------------------------
def _audit(limit: int = AUDIT_LIMIT) -> list[Any]:
    return list(reversed(engine().history.events(types=tuple(AUDIT_EVENTS), last=limit)))


@bp.get("/admin/audit")
@login_required
def audit() -> Any:
    return render_template("admin/audit.html", section="audit", events=_audit(), audit_events=AUDIT_EVENTS)
