"""The window intake commands (一窗受理), each one transaction (``engine.intake`` runs them).

An application is a row of ``intake_application`` from the moment the window records a decision on it:

* **accept** (受理): every required material received; the case of the service item starts with the 办件编号 as
  business key and the applicant's data as variables, and its clock is accepted (承诺/法定时限 counted in working
  days on the engine calendar from now) in the same transaction. State ACCEPTED.
* **gap** (容缺受理): accepted although required materials are missing, each of them ``gap_allowed``, on the
  applicant's commitment to hand them in by a date (承诺补齐日期); the clock starts as for accept, and a follow-up task
  ``intake_gap_check`` (容缺材料核验, an engine-made task like 出具正式意见, due at the close of the commitment day)
  goes to the window to check that they came. State ACCEPTED.
* **notify** (一次性告知): a notice lists every required material missing and every material not compliant; there is
  no case and no clock. State NOTIFIED, waiting for 补正 (``supplement`` records materials that came, and any
  decision may then be taken on the application: the clock starts only when it is accepted).
* **reject** (不予受理): with a reason. State REJECTED.

Every decision is recorded in the engine history (``IntakeAccepted`` in the new case's chain; ``IntakeNotified``,
``IntakeSupplemented``, ``IntakeRejected`` in the engine-wide chain) with its actor, and in the application's own
log. Bad input changes nothing (no number is taken: the refusal rolls the command back).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import or_, select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence.models import CaseClock, IntakeApplication

from . import numbers

STATUSES = ("received", "missing", "noncompliant")  # 已收 / 缺 / 不符合
STATUS_NAMES = {"received": "已收", "missing": "缺", "noncompliant": "不符合"}
DECISIONS = ("accept", "gap", "notify", "reject")
DELIVERY = {"pickup": "窗口领取", "mail": "EMS邮寄"}
STATES = ("NOTIFIED", "ACCEPTED", "REJECTED")
GAP_TASK_KEY = "intake_gap_check"
GAP_ORIGIN = "intake-gap"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_ID_NUMBER = re.compile(r"^(?:[0-9A-Z]{18}|\d{15})$")  # 身份证号 (18 or 15) or 统一社会信用代码 (18)
_PHONE = re.compile(r"^(?:1\d{10}|0\d{2,3}-?\d{7,8})$")


# --- errors ----------------------------------------------------------------------------------------------------
class UnknownServiceItem(NotFound):
    code = "UnknownServiceItem"


class MaterialsIncomplete(InvalidInput):
    """受理 refused: required materials are missing or not compliant (``details["materials"]``: their names)."""

    code = "MaterialsIncomplete"


class GapNotAllowed(InvalidInput):
    """容缺受理 refused: a missing material is not one that may be handed in later."""

    code = "GapNotAllowed"


class ApplicantInvalid(InvalidInput):
    """The applicant's data is incomplete or malformed (``details["fields"]``: field -> message)."""

    code = "ApplicantInvalid"


class ApplicationDecided(Conflict):
    """The application was decided already (accepted, rejected) or changed by someone else meanwhile."""

    code = "ApplicationDecided"


# --- views -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApplicationView:
    id: str
    number: str
    item_key: str
    item_name: str
    state: str
    outcome: str
    applicant: dict[str, Any]
    materials: tuple[dict[str, Any], ...]
    notice: tuple[dict[str, Any], ...]
    reason: str | None
    commitment: dict[str, Any] | None
    log: tuple[dict[str, Any], ...]
    instance_id: str | None
    follow_up_task_id: str | None
    accepted_at: datetime | None
    promised_due: datetime | None
    legal_due: datetime | None
    created: datetime
    created_by: str | None
    updated: datetime
    updated_by: str | None
    version: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[dict[str, Any]]:
        """The materials not received (missing or not compliant)."""
        return [m for m in self.materials if m["status"] != "received"]


def view_of(row: IntakeApplication, tz: Any) -> ApplicationView:
    def local(v: datetime | None) -> datetime | None:
        return v.astimezone(tz) if v is not None else None

    return ApplicationView(
        id=row.id, number=row.number, item_key=row.item_key, item_name=row.item_name, state=row.state,
        outcome=row.outcome, applicant=json.loads(row.applicant_json), materials=tuple(json.loads(row.materials_json)),
        notice=tuple(json.loads(row.notice_json)) if row.notice_json else (), reason=row.reason,
        commitment=json.loads(row.commitment_json) if row.commitment_json else None,
        log=tuple(json.loads(row.log_json)), instance_id=row.instance_id, follow_up_task_id=row.follow_up_task_id,
        accepted_at=local(row.accepted_at), promised_due=local(row.promised_due), legal_due=local(row.legal_due),
        created=local(row.created), created_by=row.created_by, updated=local(row.updated),  # type: ignore[arg-type]
        updated_by=row.updated_by, version=row.version)


# --- service items ---------------------------------------------------------------------------------------------
def service_items() -> tuple[Any, ...]:
    from processes import registry

    return registry()


def service_item(key: str) -> Any:
    for item in service_items():
        if item.key == key:
            return item
    known = ", ".join(f"{i.key} ({i.name})" for i in service_items())
    raise UnknownServiceItem(f"no service item '{key}' in the registry (processes/): the items are {known}",
                             item=key)


# --- checking the input ----------------------------------------------------------------------------------------
def _clean(value: Any, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    return text[:limit] if len(text) > limit else text


def check_applicant(applicant: dict[str, Any] | None, decision: str) -> dict[str, str]:
    """The applicant's data, cleaned; ApplicantInvalid lists every problem. Accept and 容缺 need every field
    (name, 证件号码/统一社会信用代码, phone, delivery; the address when mailed); a notice or a refusal needs a name and
    a phone (the applicant is told)."""
    a = applicant or {}
    out = {"name": _clean(a.get("name"), 200), "idNumber": _clean(a.get("idNumber"), 18 + 2).upper(),
           "phone": _clean(a.get("phone"), 20), "address": _clean(a.get("address"), 300),
           "delivery": _clean(a.get("delivery"), 16) or "pickup", "contact": _clean(a.get("contact"), 100)}
    problems: dict[str, str] = {}
    full = decision in ("accept", "gap")
    if not out["name"]:
        problems["name"] = "请填写申请人名称"
    if out["idNumber"] and not _ID_NUMBER.match(out["idNumber"]):
        problems["idNumber"] = f"证件号码「{out['idNumber']}」不是18位身份证号或统一社会信用代码"
    elif full and not out["idNumber"]:
        problems["idNumber"] = "请填写证件号码（身份证号或统一社会信用代码）"
    phone = out["phone"].replace(" ", "")
    if phone and not _PHONE.match(phone):
        problems["phone"] = f"联系电话「{out['phone']}」不是手机号（11位）或固定电话（区号-号码）"
    elif not phone:
        problems["phone"] = "请填写联系电话"
    out["phone"] = phone
    if out["delivery"] not in DELIVERY:
        problems["delivery"] = f"送达方式「{out['delivery']}」不是 窗口领取 (pickup) 或 EMS邮寄 (mail)"
    elif full and out["delivery"] == "mail" and not out["address"]:
        problems["address"] = "选择EMS邮寄时必须填写送达地址"
    if problems:
        raise ApplicantInvalid("the applicant's data is incomplete: " + "; ".join(problems.values()),
                               fields=problems)
    return out


def _files(value: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for f in value or []:
        if not isinstance(f, dict) or not _SHA.match(str(f.get("sha256", ""))):
            raise InvalidInput(f"{where}: a file is described by its name, size and sha256 (64 hex digits), got {f!r}")
        out.append({"name": _clean(f.get("name"), 255) or f["sha256"][:12], "sha256": f["sha256"],
                    "size": int(f.get("size") or 0), "contentType": _clean(f.get("contentType"), 100)})
    return out


def checklist(item: Any, given: dict[str, dict[str, Any]] | None,
              before: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The materials checklist of ``item``: one entry per material (in the item's order) with what the window
    noted: status received/missing/noncompliant, the form taken (original/copy), copies, a remark, files. ``given``
    maps material keys to what changed (a 补正 merges into ``before``; files are added)."""
    given = dict(given or {})
    keys = item.material_keys()
    unknown = [k for k in given if k not in keys]
    if unknown:
        raise InvalidInput(f"service item '{item.key}' has no material {', '.join(map(repr, unknown))}; its "
                           f"materials are {', '.join(keys)}")
    previous = {m["key"]: m for m in before or []}
    out = []
    for key, m in zip(keys, item.materials):
        old = previous.get(key, {})
        new = given.get(key) or {}
        where = f"material '{m.name}'"
        status = new.get("status") or old.get("status") or "missing"
        if status not in STATUSES:
            raise InvalidInput(f"{where}: status '{status}' is not one of {', '.join(STATUSES)}")
        form = new.get("form") or old.get("receivedForm") or m.form
        if form not in ("original", "copy", "either"):
            raise InvalidInput(f"{where}: form '{form}' is not original or copy")
        copies_raw = new.get("copies", old.get("receivedCopies", m.copies))
        try:
            copies = int(copies_raw if copies_raw not in (None, "") else m.copies)
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}: copies must be a whole number, got {copies_raw!r}") from None
        if not 0 <= copies <= 99:
            raise InvalidInput(f"{where}: copies must be 0 to 99, got {copies}")
        files = list(old.get("files") or [])
        for f in _files(new.get("files"), where):
            if f["sha256"] not in {x["sha256"] for x in files}:
                files.append(f)
        remark = _clean(new["remark"], 500) if "remark" in new else old.get("remark", "")
        if status == "noncompliant" and not remark:
            raise InvalidInput(f"{where}: say what is not compliant (a remark), the notice tells the applicant")
        out.append({"key": key, "name": m.name, "required": m.required, "gapAllowed": m.gap_allowed,
                    "form": m.form, "copies": m.copies, "note": m.note, "status": status, "receivedForm": form,
                    "receivedCopies": copies, "remark": remark, "files": files})
    return out


def _not_received(materials: list[dict[str, Any]], required_only: bool = True) -> list[dict[str, Any]]:
    return [m for m in materials if m["status"] != "received" and (m["required"] or not required_only)]


def notice_items(materials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """一次性告知: every required material not received and every material found not compliant."""
    out = []
    for m in materials:
        if m["status"] == "noncompliant" or (m["required"] and m["status"] == "missing"):
            out.append({"key": m["key"], "name": m["name"], "status": m["status"], "form": m["form"],
                        "copies": m["copies"], "note": m["note"], "remark": m.get("remark", "")})
    return out


def _names(materials: list[dict[str, Any]]) -> str:
    return "、".join(m["name"] for m in materials)


# --- commands --------------------------------------------------------------------------------------------------
def _load(uow: Any, application: str) -> IntakeApplication:
    row = uow.session.scalars(select(IntakeApplication).where(
        or_(IntakeApplication.id == application, IntakeApplication.number == application))
        .with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"no intake application with number or id '{application}'", application=application)
    return row


def _log(row: IntakeApplication, uow: Any, actor: str | None, action: str, note: str = "") -> None:
    log = json.loads(row.log_json or "[]")
    log.append({"at": uow.now.isoformat(), "actor": actor, "action": action, "note": note})
    row.log_json = json.dumps(log, ensure_ascii=False)


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def decide(uow: Any, *, decision: str, item_key: str | None = None, application: str | None = None,
           materials: dict[str, dict[str, Any]] | None = None, applicant: dict[str, Any] | None = None,
           reason: str | None = None, commitment_due: date | str | None = None, commitment_note: str | None = None,
           expected_version: int | None = None, actor: str | None = None,
           variables: dict[str, Any] | None = None) -> ApplicationView:
    """Record the window's decision on a new application (``item_key``) or on one waiting for 补正
    (``application``: its number or id). ``variables``: the application form's data (e.g. an item's 一表通 filled
    online or typed at the window), given to the case started on acceptance next to the applicant's data."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision '{decision}' is not one of {', '.join(DECISIONS)}")
    row: IntakeApplication | None = None
    if application:
        row = _load(uow, application)
        if row.state != "NOTIFIED":
            raise ApplicationDecided(
                f"application {row.number} was decided already: it is {row.state.lower()} "
                f"({'case ' + (row.instance_id or '') if row.state == 'ACCEPTED' else row.reason or ''})",
                application=row.number, state=row.state)
        if expected_version is not None and expected_version != row.version:
            raise ApplicationDecided(f"application {row.number} was changed by {row.updated_by or 'someone'} "
                                     f"meanwhile (version {row.version}, the form had {expected_version}): "
                                     f"reload it", application=row.number, state=row.state)
        item = service_item(row.item_key)
    else:
        if not item_key:
            raise InvalidInput("choose a service item (事项)")
        item = service_item(item_key)
    checked = checklist(item, materials, json.loads(row.materials_json) if row is not None else None)
    person = check_applicant(applicant if applicant is not None or row is None else json.loads(row.applicant_json),
                             decision)
    missing = _not_received(checked)
    commitment = None
    text = ""
    if decision == "accept" and missing:
        raise MaterialsIncomplete(f"受理 refused: required materials are missing or not compliant: "
                                  f"{_names(missing)} (一次性告知 lists them; 容缺受理 only for the ones allowed)",
                                  materials=[m["name"] for m in missing])
    if decision == "gap":
        if not missing:
            raise InvalidInput("容缺受理 needs a missing material: every required material is here, accept it")
        refused = [m for m in missing if not m["gapAllowed"] or m["status"] == "noncompliant"]
        if refused:
            raise GapNotAllowed(f"容缺受理 refused: {_names(refused)} may not be handed in later "
                                f"(not 容缺-allowed, or handed in but not compliant): 一次性告知 instead",
                                materials=[m["name"] for m in refused])
        due = _commitment_date(uow, commitment_due)
        commitment = {"materials": [m["name"] for m in missing], "keys": [m["key"] for m in missing],
                      "due": due.isoformat(), "note": _clean(commitment_note, 500)}
    if decision == "notify":
        text_items = notice_items(checked)
        if not text_items:
            raise InvalidInput("一次性告知 needs a material missing or not compliant: every material is here, "
                               "accept it")
    if decision == "reject":
        text = _clean(reason, 2000)
        if not text:
            raise InvalidInput("不予受理 needs a reason (the applicant is told why, in writing)")
    new = row is None
    if row is None:
        row = IntakeApplication(id=str(uuid.uuid4()), number=numbers.next_number(uow), item_key=item.key,
                                item_name=item.name, created=uow.now, created_by=actor, log_json="[]")
        uow.session.add(row)
    elif materials:
        _log(row, uow, actor, "supplement", _names([m for m in checked if m["status"] == "received"]))
    row.applicant_json = json.dumps(person, ensure_ascii=False)
    row.applicant_name, row.applicant_phone = person["name"], person["phone"]
    row.materials_json = json.dumps(checked, ensure_ascii=False)
    row.outcome, row.updated, row.updated_by = decision, uow.now, actor
    payload = {"applicationId": row.id, "number": row.number, "item": item.key, "decision": decision,
               "missing": [m["name"] for m in missing], "newApplication": new}
    if decision == "notify":
        row.state = "NOTIFIED"
        row.notice_json = json.dumps(notice_items(checked), ensure_ascii=False)
        _log(row, uow, actor, "notify", _names(notice_items(checked)))
        uow.record("IntakeNotified", actor=actor, **payload, notice=[m["name"] for m in notice_items(checked)])
    elif decision == "reject":
        row.state, row.reason = "REJECTED", text
        _log(row, uow, actor, "reject", text)
        uow.record("IntakeRejected", actor=actor, **payload, reason=text)
    else:
        _accept(uow, row, item, person, checked, commitment, actor, payload, variables)
    uow.session.flush()
    return view_of(row, uow.services.tz)


def _commitment_date(uow: Any, value: date | str | None) -> date:
    if value in (None, ""):
        raise InvalidInput("容缺受理 needs the date by which the applicant commits to hand the materials in (承诺补齐日期)")
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(f"承诺补齐日期 '{value}' is not a date (YYYY-MM-DD)") from None
    today = uow.now.astimezone(uow.services.tz).date()
    if value <= today:
        raise InvalidInput(f"承诺补齐日期 {value.isoformat()} must be after today ({today.isoformat()})")
    if (value - today).days > 366:
        raise InvalidInput(f"承诺补齐日期 {value.isoformat()} is more than a year away")
    return value


def _accept(uow: Any, row: IntakeApplication, item: Any, person: dict[str, str], materials: list[dict[str, Any]],
            commitment: dict[str, Any] | None, actor: str | None, payload: dict[str, Any],
            form_data: dict[str, Any] | None = None) -> None:
    from engine.runtime import instances
    from engine.runtime import values

    variables = {**values.check_variables(form_data or {}), "applicant": person["name"], "applicantIdNumber": person["idNumber"],
                 "applicantPhone": person["phone"], "applicantAddress": person["address"],
                 "deliveryMethod": person["delivery"], "serviceItem": item.key, "intakeApplicationId": row.id,
                 "materialsGap": commitment is not None,
                 # 补正 before acceptance (一次性告知 then the materials came): counted in the 补正率 (engine.supervision)
                 "supplementRequested": bool(row.notice_json)}
    try:
        case = instances.start_instance(uow, key=item.key, business_key=row.number, variables=variables,
                                        started_by=actor)
    except NotFound as exc:
        raise NotFound(f"service item '{item.key}' ({item.name}) cannot start a case: its diagram {item.bpmn} is not "
                       f"deployed ({exc.message})", item=item.key) from None
    clock = _accept_clock(uow, case.id, item, actor)
    row.state, row.instance_id, row.accepted_at = "ACCEPTED", case.id, uow.now
    row.promised_due, row.legal_due = clock.promised_due, clock.legal_due
    if commitment is not None:
        commitment["taskId"] = _gap_task(uow, case, item, commitment, actor)
        row.follow_up_task_id = commitment["taskId"]
        row.commitment_json = json.dumps(commitment, ensure_ascii=False)
    _log(row, uow, actor, "gap" if commitment else "accept",
         f"办件 {row.number}" + (f"；容缺：{'、'.join(commitment['materials'])}，承诺 {commitment['due']} 前补齐"
                                if commitment else ""))
    uow.record("IntakeAccepted", instance_id=case.id, actor=actor, **payload,
               promisedDue=_iso(clock.promised_due), legalDue=_iso(clock.legal_due), commitment=commitment,
               materials=[{"name": m["name"], "status": m["status"], "form": m["receivedForm"],
                           "copies": m["receivedCopies"], "files": [f["sha256"] for f in m["files"]]}
                          for m in materials])


def _accept_clock(uow: Any, instance_id: str, item: Any, actor: str | None) -> CaseClock:
    """The clock of the new case, accepted now: the diagram's clock (queued by the case's start) when it has one,
    else one with the service item's limits."""
    from engine.caseclock.clock import accept_clock

    table = CaseClock.__table__
    queue = uow.inserts.get(table, [])
    queued = next((r for r in queue if r["instance_id"] == instance_id), None)
    if queued is not None:
        queue.remove(queued)
        clock = CaseClock(**queued)
    else:
        limits = item.limits
        clock = CaseClock(instance_id=instance_id, state="WAITING", region=uow.services.settings.calendar_region,
                          promised_limit=limits["promised"], legal_limit=limits["legal"], warn_before=None,
                          suspended_days=0, extended_days=0, provisional=False, version=1)
    if clock.state == "WAITING":
        accept_clock(uow, clock, uow.now, reason="受理 at the window (一窗受理)", actor=actor)
    uow.insert(table, **{c.key: getattr(clock, c.key) for c in table.columns})
    return clock


def _gap_task(uow: Any, case: Any, item: Any, commitment: dict[str, Any], actor: str | None) -> str:
    """容缺材料核验: an engine-made task for the window, due at the close of the commitment day."""
    from engine.caseclock.clock import calendar_for
    from engine.caseclock.policies import create_standalone_task

    cal = calendar_for(uow)
    due = datetime.combine(date.fromisoformat(commitment["due"]), cal.office_hours[-1][1], tzinfo=cal.tz)
    parent = SimpleNamespace(id=None, priority=60, lane=None)  # not from a task of the diagram
    return create_standalone_task(
        uow, instance_id=case.id, definition_id=case.definition_id, parent=parent, origin=GAP_ORIGIN,
        key=GAP_TASK_KEY, name=f"容缺材料核验：{'、'.join(commitment['materials'])}",
        groups=[item.window_group] if item.window_group else [], users=[actor] if actor else [], assignee=None,
        due=due, description=f"办件 {case.business_key} 已容缺受理，申请人承诺于 {commitment['due']} 前补齐："
                             f"{'、'.join(commitment['materials'])}。请核验材料是否按时补齐。")


def supplement(uow: Any, *, application: str, materials: dict[str, dict[str, Any]],
               expected_version: int | None = None, actor: str | None = None) -> ApplicationView:
    """补正: record materials that came for an application waiting after 一次性告知 (no decision yet)."""
    if not materials:
        raise InvalidInput("补正 needs the materials that came (at least one)")
    row = _load(uow, application)
    if row.state != "NOTIFIED":
        raise ApplicationDecided(f"application {row.number} is {row.state.lower()}: 补正 is for an application "
                                 f"waiting after 一次性告知", application=row.number, state=row.state)
    if expected_version is not None and expected_version != row.version:
        raise ApplicationDecided(f"application {row.number} was changed by {row.updated_by or 'someone'} "
                                 f"meanwhile: reload it", application=row.number, state=row.state)
    item = service_item(row.item_key)
    checked = checklist(item, materials, json.loads(row.materials_json))
    row.materials_json = json.dumps(checked, ensure_ascii=False)
    row.notice_json = json.dumps(notice_items(checked), ensure_ascii=False)
    row.updated, row.updated_by = uow.now, actor
    received = [m["name"] for m in checked if m["status"] == "received"]
    _log(row, uow, actor, "supplement", "、".join(received))
    uow.record("IntakeSupplemented", actor=actor, applicationId=row.id, number=row.number, item=row.item_key,
               received=received, stillMissing=[m["name"] for m in notice_items(checked)])
    uow.session.flush()
    return view_of(row, uow.services.tz)


# --- reads -----------------------------------------------------------------------------------------------------
def get_application(session: Any, tz: Any, application: str) -> ApplicationView:
    row = session.scalars(select(IntakeApplication).where(
        or_(IntakeApplication.id == application, IntakeApplication.number == application))).first()
    if row is None:
        raise NotFound(f"no intake application with number or id '{application}'", application=application)
    return view_of(row, tz)


def list_applications(session: Any, tz: Any, *, state: str | None = None, item_key: str | None = None,
                      search: str | None = None, limit: int = 100, offset: int = 0) -> list[ApplicationView]:
    stmt = select(IntakeApplication).order_by(IntakeApplication.created.desc(), IntakeApplication.number.desc())
    if state:
        if state not in STATES:
            raise InvalidInput(f"state '{state}' is not one of {', '.join(STATES)}")
        stmt = stmt.where(IntakeApplication.state == state)
    if item_key:
        stmt = stmt.where(IntakeApplication.item_key == item_key)
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(or_(IntakeApplication.number.like(like), IntakeApplication.applicant_name.like(like)))
    return [view_of(r, tz) for r in session.scalars(stmt.limit(max(1, min(limit, 500))).offset(max(0, offset)))]


def count_applications(session: Any, *, state: str | None = None) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(IntakeApplication)
    if state:
        stmt = stmt.where(IntakeApplication.state == state)
    return int(session.scalar(stmt) or 0)
