"""一窗受理: the window intake pages ``/intake`` (window clerks and admins: ``Access.may("start")``).

* ``/intake`` — tabs: 新申请 (choose a service item of the registry), 待补正 (applications after 一次性告知 waiting
  for 补正, with the 补正 action), 最近办理 (the latest decisions).
* ``/intake/new/<item>`` — the form: the materials checklist of the item (each material: 已收 / 缺 / 不符合, 原件 /
  复印件, copies, a remark, files), the applicant (name, 证件号码 / 统一社会信用代码, phone, address, 送达方式
  窗口领取 / EMS邮寄), and the decisions as buttons ``name="action"``: ``accept`` (受理), ``notify`` (一次性告知),
  ``gap`` (容缺受理, with ``commitment_due``) and ``reject`` (不予受理, with ``reason``).
* ``/intake/a/<number>`` — an application; while it waits for 补正 the same form, filled in, with ``supplement``
  (record the materials that came) and the decisions.
* ``/intake/a/<number>/receipt`` 受理回执, ``/notice`` 一次性告知书, ``/refusal`` 不予受理通知书 — printable pages.

Every decision goes through ``engine.intake`` (one call, one transaction, recorded with the clerk as actor).
Uploaded files are stored by their SHA-256 in ``<data folder>/materials/`` (``web.ui.forms.save_material``) and
kept across a refused submission (hidden ``kept_<material>`` fields naming stored files only). A refusal re-renders
the form with what was typed and the messages next to the fields (422, or 409 when the application moved on).
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.errors import Conflict, EngineError, InvalidInput, NotFound
from engine.intake import (
    DELIVERY,
    STATUS_NAMES,
    STATUSES,
    ApplicantInvalid,
    ApplicationDecided,
    GapNotAllowed,
    MaterialsIncomplete,
)
from processes.sample import FORM_NAMES
from web.ui import forms
from web.ui.base import access, data_dir, engine, login_required, page_blueprint, require_capability

bp = page_blueprint("intake", __name__)


def N_(text: str) -> str:
    """Marks ``text`` for ``pybabel extract``; it is translated where it is shown (``_labels``)."""
    return text


# the labels of engine.intake (DELIVERY, STATUS_NAMES) and processes.sample (FORM_NAMES), translated on the pages:
# listed here so that pybabel extracts them (tests/web/test_translations.py checks that none is missing)
ENGINE_LABELS = (N_("窗口领取"), N_("EMS邮寄"), N_("已收"), N_("缺"), N_("不符合"), N_("原件"), N_("复印件"),
                 N_("原件或复印件"))

ACTIONS = ("accept", "notify", "gap", "reject")
STATE_NAMES = {"NOTIFIED": N_("待补正"), "ACCEPTED": N_("已受理"), "REJECTED": N_("不予受理")}
OUTCOME_NAMES = {"accept": N_("受理"), "gap": N_("容缺受理"), "notify": N_("一次性告知"), "reject": N_("不予受理"),
                 "supplement": N_("补正")}
APPLICANT_FIELDS = {"name": "applicant_name", "idNumber": "applicant_id_number", "phone": "applicant_phone",
                    "address": "applicant_address", "delivery": "delivery", "contact": "applicant_contact"}
TABS = ("new", "pending", "corrections", "recent")


def _store() -> Any:
    return data_dir(current_app) / "materials"


def _guard() -> None:
    require_capability("start")


def _labels() -> dict[str, Any]:
    return {"status_names": {k: _(v) for k, v in STATUS_NAMES.items()},
            "form_names": {k: _(v) for k, v in FORM_NAMES.items()},
            "delivery_names": {k: _(v) for k, v in DELIVERY.items()},
            "state_names": {k: _(v) for k, v in STATE_NAMES.items()},
            "outcome_names": {k: _(v) for k, v in OUTCOME_NAMES.items()}, "statuses": STATUSES,
            "date_format": _("%Y年%m月%d日")}


@bp.get("/intake")
@login_required
def index() -> Any:
    _guard()
    eng = engine()
    tab = request.args.get("tab") or "new"
    if tab not in TABS:
        tab = "new"
    search = (request.args.get("q") or "").strip()[:100]
    counts = {"pending": eng.intake.count("NOTIFIED")}
    rows: list[Any] = []
    corrections = eng.tasks.corrections_pending(search=search or None) if tab == "corrections" else []
    if tab == "pending":
        rows = eng.intake.applications(state="NOTIFIED", search=search or None, limit=200)
    elif tab == "recent":
        rows = eng.intake.applications(search=search or None, limit=50)
    done = request.args.get("done")
    return render_template("intake/index.html", tab=tab, items=eng.intake.items(), rows=rows, counts=counts,
                           search=search, done=done, corrections=corrections,
                           item_names={i.key: i.name for i in eng.intake.items()}, **_labels())


@bp.post("/intake/correction-received")
@login_required
def correction_received() -> Any:
    """补正已收到 at the window, for an accepted case whose reviewer asked for 补正: the clock runs again."""
    _guard()
    number = (request.form.get("case") or "").strip()[:100]
    note = (request.form.get("note") or "").strip()[:500] or None
    try:
        engine().tasks.correction_received(case=number, user_id=current_user.id, note=note)
    except EngineError as exc:
        flash(_("未能登记补正：%(why)s", why=str(exc)), "error")
        return redirect(url_for("intake.index", tab="corrections"), code=303)
    flash(_("已登记补正材料，办件 %(n)s 恢复计时。", n=number), "success")
    return redirect(url_for("intake.index", tab="corrections"), code=303)


# --- the form --------------------------------------------------------------------------------------------------
def _blank(item: Any) -> dict[str, Any]:
    """The form's values for a new application: every required material missing, the item's expected form."""
    return {"materials": {k: {"status": "missing", "form": m.form if m.form != "either" else "original",
                              "copies": str(m.copies), "remark": "", "files": []}
                          for k, m in zip(item.material_keys(), item.materials)},
            "applicant": {"delivery": "pickup"}, "commitment_due": "", "commitment_note": "", "reason": ""}


def _from_application(app: Any) -> dict[str, Any]:
    return {"materials": {m["key"]: {"status": m["status"], "form": m["receivedForm"],
                                     "copies": str(m["receivedCopies"]), "remark": m.get("remark", ""),
                                     "files": m.get("files") or []} for m in app.materials},
            "applicant": dict(app.applicant), "commitment_due": "", "commitment_note": "", "reason": ""}


def _kept(key: str) -> list[dict[str, Any]]:
    """Files uploaded with a refused submission, named again by the form: only files that are in the store."""
    try:
        listed = json.loads(request.form.get(f"kept_{key}") or "[]")
    except ValueError:
        return []
    store = _store()
    out = []
    for f in listed if isinstance(listed, list) else []:
        sha = str(f.get("sha256", "")) if isinstance(f, dict) else ""
        if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha) and (store / sha).is_file():
            out.append({"name": str(f.get("name") or sha[:12])[:255], "sha256": sha, "size": int(f.get("size") or 0),
                        "contentType": str(f.get("contentType") or "")[:100]})
    return out


def _read_form(item: Any, previous: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the clerk submitted (uploads stored, their descriptions kept for a re-render)."""
    before = {m["key"]: m for m in previous or []}
    materials: dict[str, dict[str, Any]] = {}
    for key, m in zip(item.material_keys(), item.materials):
        uploads = [f for f in request.files.getlist(f"file_{key}") if f and f.filename]
        files = _kept(key) + [forms.save_material(_store(), f) for f in uploads]
        old_files = {f["sha256"] for f in (before.get(key) or {}).get("files") or []}
        materials[key] = {"status": (request.form.get(f"status_{key}") or "missing").strip(),
                          "form": (request.form.get(f"form_{key}") or m.form).strip(),
                          "copies": (request.form.get(f"copies_{key}") or "").strip(),
                          "remark": (request.form.get(f"remark_{key}") or "").strip()[:500],
                          "files": [f for f in files if f["sha256"] not in old_files],
                          "old_files": (before.get(key) or {}).get("files") or []}
    applicant = {k: (request.form.get(name) or "").strip() for k, name in APPLICANT_FIELDS.items()}
    return {"materials": materials, "applicant": applicant,
            "commitment_due": (request.form.get("commitment_due") or "").strip(),
            "commitment_note": (request.form.get("commitment_note") or "").strip()[:500],
            "reason": (request.form.get("reason") or "").strip()}


def _engine_materials(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"status": v["status"], "form": v["form"], "copies": v["copies"] or None, "remark": v["remark"],
                "files": v["files"]} for k, v in values["materials"].items()}


def _check_form(item: Any, action: str, values: dict[str, Any]) -> dict[str, str]:
    """The page's own checks, with the messages next to the fields (the engine checks everything again)."""
    errors: dict[str, str] = {}
    for key, m in zip(item.material_keys(), item.materials):
        v = values["materials"][key]
        if v["status"] not in STATUSES:
            errors[f"material_{key}"] = _("请选择材料状态：已收、缺或不符合。")
        elif v["status"] == "noncompliant" and not v["remark"]:
            errors[f"material_{key}"] = _("请说明「%(name)s」不符合要求的原因（将写入一次性告知书）。", name=m.name)
        if v["copies"] and not v["copies"].isdigit():
            errors[f"material_{key}"] = _("份数必须是整数。")
    if action == "reject" and not values["reason"]:
        errors["reason"] = _("不予受理必须填写理由。")
    if action == "gap" and not values["commitment_due"]:
        errors["commitment_due"] = _("容缺受理必须填写承诺补齐日期。")
    return errors


def _engine_errors(item: Any, exc: EngineError) -> tuple[str, dict[str, str]]:
    """A refusal of the engine as a sentence and messages next to the fields."""
    errors: dict[str, str] = {}
    by_name = dict(zip((m.name for m in item.materials), item.material_keys()))
    if isinstance(exc, ApplicantInvalid):
        for field, text in (exc.details.get("fields") or {}).items():
            errors[APPLICANT_FIELDS.get(field, field)] = text
        return _("请按提示修改申请人信息。"), errors
    if isinstance(exc, MaterialsIncomplete):
        names = exc.details.get("materials") or []
        for n in names:
            errors[f"material_{by_name.get(n, n)}"] = _("必需材料未收齐或不符合要求。")
        return _("以下必需材料缺失或不符合要求，不能直接受理：%(names)s。可一次性告知申请人补正，"
                 "或对允许容缺的材料容缺受理。", names=_("、").join(names)), errors
    if isinstance(exc, GapNotAllowed):
        names = exc.details.get("materials") or []
        for n in names:
            errors[f"material_{by_name.get(n, n)}"] = _("此材料不允许容缺受理。")
        return _("以下材料不允许容缺受理：%(names)s。请一次性告知申请人补正。", names=_("、").join(names)), errors
    return str(exc), errors


def _render_form(item: Any, values: dict[str, Any], *, app: Any = None, error: str | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("intake/form.html", item=item, app=app, values=values, error=error,
                           errors=errors or {}, materials=list(zip(item.material_keys(), item.materials)),
                           **_labels()), status


def _submit(item: Any, app: Any = None) -> Any:
    eng = engine()
    action = request.form.get("action") or ""
    values = _read_form(item, list(app.materials) if app is not None else None)
    if action not in ACTIONS + (("supplement",) if app is not None else ()):
        return _render_form(item, values, app=app, error=_("请选择一个办理动作。"), status=400)
    errors = _check_form(item, action, values)
    if errors:
        return _render_form(item, values, app=app, error=_("请按提示修改后重新提交。"), errors=errors, status=422)
    actor = access().user_id
    version = request.form.get("version")
    expected = int(version) if version and version.isdigit() else None
    try:
        if action == "supplement":
            result = eng.intake.supplement(app.number, _engine_materials(values), expected_version=expected,
                                           actor=actor)
        else:
            result = eng.intake.decide(
                action, item_key=None if app is not None else item.key,
                application=app.number if app is not None else None, materials=_engine_materials(values),
                applicant=values["applicant"], reason=values["reason"] or None,
                commitment_due=values["commitment_due"] or None, commitment_note=values["commitment_note"] or None,
                expected_version=expected, actor=actor)
    except (ApplicationDecided, Conflict) as exc:
        return _render_form(item, values, app=app, error=_("此申请已被他人处理或已变化：%(msg)s", msg=str(exc)),
                            status=409)
    except InvalidInput as exc:
        message, field_errors = _engine_errors(item, exc)
        return _render_form(item, values, app=app, error=message, errors=field_errors, status=422)
    return redirect(url_for("intake.application", number=result.number, done=action))


@bp.route("/intake/new/<item_key>", methods=["GET", "POST"])
@login_required
def new(item_key: str) -> Any:
    _guard()
    try:
        item = engine().intake.item(item_key)
    except NotFound:
        abort(404, description=_("没有此事项：%(key)s", key=item_key))
    if request.method == "POST":
        return _submit(item)
    return _render_form(item, _blank(item))


def _application(number: str) -> Any:
    try:
        return engine().intake.application(number)
    except NotFound:
        abort(404, description=_("没有编号为 %(n)s 的申请", n=number))


@bp.route("/intake/a/<number>", methods=["GET", "POST"])
@login_required
def application(number: str) -> Any:
    _guard()
    app = _application(number)
    item = engine().intake.item(app.item_key)
    if request.method == "POST":
        if app.state != "NOTIFIED":
            return _render_form(item, _from_application(app), app=app, status=409,
                                error=_("此申请已办理（%(state)s），不能再提交。", state=_(STATE_NAMES[app.state])))
        return _submit(item, app)
    done = request.args.get("done")
    if app.state == "NOTIFIED":
        return render_template("intake/form.html", item=item, app=app, values=_from_application(app), error=None,
                               errors={}, materials=list(zip(item.material_keys(), item.materials)), done=done,
                               **_labels())
    return render_template("intake/application.html", item=item, app=app, done=done, **_labels())


# --- printable pages -------------------------------------------------------------------------------------------
def _printable(number: str, template: str, states: tuple[str, ...]) -> Any:
    _guard()
    app = _application(number)
    if app.state not in states:
        abort(404, description=_("此申请没有这份文书（当前状态：%(state)s）", state=_(STATE_NAMES[app.state])))
    item = engine().intake.item(app.item_key)
    return render_template(template, app=app, item=item, **_labels())


@bp.get("/intake/a/<number>/receipt")
@login_required
def receipt(number: str) -> Any:
    """受理回执: 办件编号, promised completion date, legal limit, materials received (and the 容缺 commitment)."""
    return _printable(number, "intake/receipt.html", ("ACCEPTED",))


@bp.get("/intake/a/<number>/notice")
@login_required
def notice(number: str) -> Any:
    """一次性告知书: every material missing or not compliant."""
    _guard()
    app = _application(number)
    if not app.notice:
        abort(404)
    return _printable(number, "intake/notice.html", ("NOTIFIED", "ACCEPTED", "REJECTED"))


@bp.get("/intake/a/<number>/refusal")
@login_required
def refusal(number: str) -> Any:
    """不予受理通知书: the reason."""
    return _printable(number, "intake/refusal.html", ("REJECTED",))
