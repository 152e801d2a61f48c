"""工程建设项目施工许可阶段 (construction-permit stage, 并联审批): the service item, its materials, departments,
forms, the handlers of its automatic steps and demo data.

Diagram ``bpmn/construction/construction_permit.bpmn``, decisions B1/B2/B3 in ``construction_permit.dmn``
(domain.md §3). docs/service-items-construction.md describes the model, the limits and their sources, and says what
was not verified against the official texts.

Limits:

* legal 45 working days — 行政许可法 §42 (统一办理/联合办理/集中办理: 45 days, +15 with the approval of the head of
  the 本级人民政府; §82: working days);
* promised 10 working days for the stage — a local promise (modelling choice): the longest department limit of
  table B3 (special fire design review, 10 wd) fits in it; each department has its own limit from B3.

The clock starts when the window accepts (``accepted`` in the diagram: clockStart) and stops when the permit is
issued (``issue_permit``: the result is handed to the applicant as an e-licence; clockStop), so delivery by EMS or at
the window does not count against the promise.

Automatic steps are external tasks (``HANDLERS``): data-sharing precondition check, the applicant notice, permit
number + e-licence, EMS hand-over — realistic fakes where a real system would be called — and the two clock steps of
the expert review (``onewindow-clock-suspend`` / ``onewindow-clock-resume``), which call the engine's case clock.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .enterprise import ems_tracking_number
from .sample import Material, ServiceItem

KEY = "construction_permit"
BPMN_FILES = ("construction/construction_permit.bpmn", "construction/construction_permit.dmn")
LEGAL_LIMIT_WD = 45  # 行政许可法 §42 (joint handling)
PROMISED_LIMIT_WD = 10  # local promise for the stage (modelling choice, see the module docstring)
SUPPLEMENT_LIMIT_WD = 20  # 补正 before acceptance: the boundary timer of wait_supplement (local practice, assumed)

# messages the diagram waits for (engine.runtime.correlate(name, business_key=...))
SUPPLEMENT_MESSAGE = "ConstructionSupplementReceived"  # 补正 before acceptance arrived
EXPERT_START_MESSAGE = "ExpertReviewStarted"  # the fire department sends the special fire design to the experts
EXPERT_REPORT_MESSAGE = "ExpertReportReceived"  # the expert panel's report arrived
# 撤回 (the applicant withdraws): engine.runtime.terminate(case, reason="申请人撤回：...") — the supervisor's 终止

# candidate groups (departments) the diagram and table B3 route to
DEPARTMENTS = {
    "window": "综合窗口（工改专窗）",
    "housing": "住建局（施工许可，牵头部门）",
    "housing_fire": "住建局（消防设计审查）",
    "civil_defense": "人防办",
    "meteorology": "气象局（防雷）",
    "supervisor": "中心督办（效能监察）",
}


@dataclass(frozen=True)
class Department:
    """A row of table B3 (sg_parallel_depts): who reviews, in how many working days, what happens on timeout."""

    code: str
    name: str
    group: str
    promise_wd: int
    on_timeout: str
    condition: str
    lead: bool = False


# the same rows as the DMN table (tests check that the table and this list agree)
PARALLEL_DEPARTMENTS = (
    Department("housing_permit", "住建局（施工许可，牵头）", "housing", 2, "ESCALATE", "需办理施工许可", lead=True),
    Department("housing_fire", "住建局（消防设计审查）", "housing_fire", 10, "ESCALATE", "特殊建设工程（B2）"),
    Department("civil_defense", "人防办（防空地下室结建核准）", "civil_defense", 3, "DEEMED_APPROVED",
               "新建民用建筑、能结建、地面十层以上或基础埋深3米以上，且本地规定允许超时默认同意"),
    Department("civil_defense", "人防办（防空地下室结建核准）", "civil_defense", 3, "ESCALATE",
               "同上，本地规定不允许超时默认同意"),
    Department("civil_defense_offsite", "人防办（易地建设审批）", "civil_defense", 3, "ESCALATE",
               "新建民用建筑、不能结建（易地建设并缴费）"),
    Department("meteorology", "气象局（防雷装置设计审核）", "meteorology", 5, "ESCALATE", "易燃易爆建设工程和场所"),
)

# the local rule the service centre configures: may 人防 be deemed to agree when it does not answer in time
# (超时默认同意 is local, not national law: domain.md §1.5, e.g. 宜春 2009, 泰州 2022)
CIVIL_DEFENSE_DEEMED_ALLOWED = True


# --- materials -------------------------------------------------------------------------------------------------
MATERIALS = (
    Material("建筑工程施工许可申请表（施工许可阶段一张表单）", key="application_form", form="original",
             note="建设单位盖章，法定代表人或项目负责人签字；网上申报的打印件"),
    Material("中标通知书或直接发包批准文件", key="award", form="copy",
             note="依法必须招标的提交中标通知书；直接发包的提交批准文件；公共资源交易平台可查的免提交"),
    Material("施工图设计文件审查合格书或审图承诺书", key="drawing_review", gap_allowed=True, form="copy",
             note="可容缺：签署告知承诺书，开工前补交审查合格书；联合审图系统可查的免提交"),
    Material("建设资金已落实承诺书", key="funding_commitment", form="original",
             note="建设单位法定代表人签字并盖章（告知承诺）"),
    Material("危险性较大的分部分项工程清单及安全管理措施", key="safety_measures", gap_allowed=True, form="original",
             note="可容缺，承诺期限内补交"),
    Material("消防设计文件", key="fire_design", required=False, form="either",
             note="特殊建设工程（B2 为是）必交；其他工程随施工图备查"),
    Material("人防工程施工图或易地建设申请", key="civil_defense_docs", required=False, form="either",
             note="新建民用建筑：能结建的交防空地下室施工图，不能结建的交易地建设申请"),
    Material("防雷装置设计文件", key="lightning_design", required=False, form="either",
             note="易燃易爆建设工程和场所必交"),
    Material("授权委托书及受托人身份证件", key="power_of_attorney", required=False, form="original",
             note="委托代理人办理时提交"),
)


@dataclass(frozen=True)
class SharedRecord:
    """A material waived (免提交) because the window reads it by data sharing; ``condition`` says when."""

    key: str
    name: str
    source: str
    condition: str
    variable: str  # the case variable that carries it when the applicant supplies it instead (补正)


SHARED_RECORDS = (
    SharedRecord("land", "用地批准文件或不动产权证书", "不动产登记/自然资源用地审批系统（数据共享）",
                 "项目已在自然资源部门办结用地手续", "landApprovalNo"),
    SharedRecord("planning", "建设工程规划许可证", "工程建设项目审批管理系统（第二阶段结果，数据共享）",
                 "第二阶段已取得规划许可", "planningPermitNo"),
    SharedRecord("drawing", "施工图审查合格书", "联合审图系统（数据共享）",
                 "审图已办结；未办结的可提交审图承诺书（容缺）", "drawingReviewCertNo"),
    SharedRecord("award", "中标或直接发包记录", "公共资源交易平台（数据共享）",
                 "依法招标的项目在平台上有中标公示", "awardNo"),
)


def material_checklist(application: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials this application needs: each with ``status`` ``required`` / ``gap_allowed`` (容缺) /
    ``waived`` (免提交 by data sharing) / ``not_needed`` (its condition does not hold) / ``conditional`` (decided
    by a table after acceptance), and why."""
    shared = shared_records(application.get("projectCode") or "")
    out = []
    for key, m in zip(CONSTRUCTION_ITEM.material_keys(), MATERIALS):
        status, why = ("gap_allowed" if m.gap_allowed else "required"), ""
        if key == "award" and shared.get("award"):
            status, why = "waived", "公共资源交易平台可查（数据共享）"
        elif key == "drawing_review" and shared.get("drawing"):
            status, why = "waived", "联合审图系统可查（数据共享）"
        elif key == "fire_design":
            if "specialFire" not in application:  # decided by table B2 after acceptance
                status, why = "conditional", "特殊建设工程（B2 判定）必交"
            elif application["specialFire"]:
                status, why = "required", "特殊建设工程"
            else:
                status, why = "not_needed", "非特殊建设工程"
        elif key == "civil_defense_docs":
            status, why = ("required", "新建民用建筑") if application.get("newCivilBuilding") else \
                ("not_needed", "非新建民用建筑")
        elif key == "lightning_design":
            status, why = ("required", "易燃易爆场所") if application.get("flammableExplosive") else \
                ("not_needed", "非易燃易爆场所")
        elif key == "power_of_attorney" and not application.get("viaAgent"):
            status, why = "not_needed", "委托代理人办理时才需要"
        out.append({"key": key, "name": m.name, "status": status, "reason": why, "form": m.form_name,
                    "copies": m.copies})
    for r in SHARED_RECORDS:
        if r.key != "award" and r.key != "drawing":
            out.append({"key": r.key, "name": r.name, "status": "waived" if shared.get(r.key) else "required",
                        "reason": r.source, "form": "数据共享", "copies": 0})
    return out


CONSTRUCTION_ITEM = ServiceItem(
    key=KEY,
    name="工程建设项目施工许可阶段（并联审批：施工许可、消防设计审查、人防、防雷）",
    bpmn="construction/construction_permit.bpmn",
    legal_limit_workdays=LEGAL_LIMIT_WD,
    promised_limit_workdays=PROMISED_LIMIT_WD,
    materials=MATERIALS,
    # a case accepted at the window (engine.intake) skips the diagram's own intake step (the window did it): the
    # diagram routes on windowAccepted, so there is no window step to complete for the clerk
    intake_activity=None,
    department="住建局（牵头）",
)


# --- forms (the diagram's camunda:formFields, by task) ---------------------------------------------------------
FORMS = {
    "intake": ("accepted", "supplementNeeded", "intakeNote"),
    "review_deemed": ("opinion", "opinionReason"),
    "review_escalate": ("opinion", "opinionReason"),
    "lead_decision": ("opinionSummary", "decision", "decisionReason"),
    "notify_denial": (),
    "deliver_window": (),
}
OPINIONS = {"agree": "同意", "disagree": "不同意", "supplement": "需补正"}
DECISIONS = {"approve": "准予许可", "deny": "不予许可"}


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    type: str  # string | long | double | boolean | enum | date
    group: str
    required: bool = False
    values: tuple[str, ...] = ()


# 施工许可阶段一张表单 (domain.md §3.4): the process variables of an application
APPLICATION_FORM = (
    FormField("projectCode", "项目代码", "string", "项目", True),
    FormField("projectName", "工程名称", "string", "项目", True),
    FormField("projectAddress", "建设地点", "string", "项目", True),
    FormField("projectType", "项目类型", "enum", "项目", True, ("房屋建筑", "市政基础设施")),
    FormField("investment", "工程投资额（万元）", "double", "项目", True),
    FormField("contractPrice", "合同价（万元）", "double", "项目"),
    FormField("applicant", "建设单位", "string", "建设单位", True),
    FormField("applicantIdNumber", "统一社会信用代码", "string", "建设单位", True),
    FormField("projectManager", "项目负责人", "string", "建设单位", True),
    FormField("applicantPhone", "联系电话", "string", "建设单位", True),
    FormField("floorArea", "总建筑面积（m²）", "double", "规模", True),
    FormField("storeysAboveGround", "地上层数", "long", "规模", True),
    FormField("storeysBelowGround", "地下层数", "long", "规模"),
    FormField("buildingHeight", "建筑高度（m）", "double", "规模", True),
    FormField("foundationDepth", "基础埋深（m）", "double", "规模", True),
    FormField("useType", "使用性质", "string", "规模", True),
    FormField("publicBuilding", "公共建筑", "boolean", "规模"),
    FormField("newCivilBuilding", "新建民用建筑", "boolean", "规模"),
    FormField("flammableExplosive", "易燃易爆场所", "boolean", "规模"),
    FormField("specialFireDesign", "采用特殊消防设计（需专家评审）", "boolean", "消防"),
    FormField("exemptType", "抢险救灾/临时性建筑/农民自建低层住宅", "boolean", "规模"),
    FormField("canCombineBuild", "能结建防空地下室", "boolean", "人防"),
    FormField("contractor", "施工总承包单位", "string", "参建单位", True),
    FormField("supervisorCompany", "监理单位", "string", "参建单位"),
    FormField("plannedStart", "计划开工日期", "date", "计划", True),
    FormField("deliveryMethod", "结果领取方式", "enum", "出件", True, ("pickup", "mail")),
    FormField("applicantAddress", "邮寄地址", "string", "出件"),
)


def check_application(data: dict[str, Any]) -> dict[str, str]:
    """Problems of an application (field -> sentence); empty when it can be submitted."""
    problems = {}
    for f in APPLICATION_FORM:
        v = data.get(f.key)
        if f.required and (v is None or v == ""):
            problems[f.key] = f"请填写{f.label}"
        elif v is not None and f.type in ("double", "long") and (isinstance(v, bool) or not isinstance(v, (int, float))
                                                                    or v < 0):
            problems[f.key] = f"{f.label}应为不小于0的数字"
        elif v is not None and f.values and v not in f.values:
            problems[f.key] = f"{f.label}应为{'、'.join(f.values)}之一"
    if data.get("deliveryMethod") == "mail" and not data.get("applicantAddress"):
        problems["applicantAddress"] = "选择EMS邮寄时必须填写邮寄地址"
    return problems


# --- the data-sharing systems (realistic fakes) ----------------------------------------------------------------
# What the shared databases know about the demo projects (项目代码 → records). A real installation queries the
# 工程建设项目审批管理系统, the 不动产登记 and 联合审图 systems and the 公共资源交易平台 here.
_SHARED: dict[str, dict[str, str]] = {
    "2026-330106-47-01-100001": {"land": "浙（2025）杭州市不动产权第0123456号", "planning": "建字第330106202600012号",
                                 "drawing": "施审（2026）第0088号", "award": "ZB-2026-0317"},
    "2026-330106-47-01-100002": {"land": "浙（2025）杭州市不动产权第0123999号", "planning": "建字第330106202600019号",
                                 "award": "ZB-2026-0402"},  # drawing review not finished: 补正 or commitment
    "2026-330106-47-01-100003": {"land": "浙（2026）杭州市不动产权第0000321号", "planning": "建字第330106202600031号",
                                 "drawing": "施审（2026）第0102号", "award": "ZB-2026-0511"},
}
_PROJECT_OF_APPLICANT = {"91330106MA2B3C4D5E": "2026-330106-47-01-100001"}


def shared_records(project_code: str) -> dict[str, str]:
    """The records the shared databases hold for a project (fake lookup; unknown projects have none)."""
    return dict(_SHARED.get(project_code, {}))


def check_preconditions(variables: dict[str, Any]) -> dict[str, Any]:
    """前置条件校验: every precondition found by data sharing or supplied by the applicant (the variable named in
    ``SHARED_RECORDS``; a signed 审图承诺 replaces the review certificate)."""
    code = variables.get("projectCode") or _PROJECT_OF_APPLICANT.get(variables.get("applicantIdNumber") or "", "")
    found = shared_records(code)
    missing, report = [], []
    for r in SHARED_RECORDS:
        value = found.get(r.key) or variables.get(r.variable)
        if not value and r.key == "drawing" and variables.get("drawingReviewCommitment"):
            value = "审图承诺书（告知承诺，开工前补交合格书）"
        if value:
            report.append(f"{r.name}：{value}")
        else:
            missing.append(r.name)
            report.append(f"{r.name}：未查到（{r.source}）")
    return {"projectCode": code, "preconditionsOk": not missing, "missingPreconditions": missing,
            "preconditionReport": "；".join(report)}


# --- handlers of the automatic steps (external tasks) ----------------------------------------------------------
Handler = Any  # handler(engine, task) -> dict of process variables (processes/worker.py convention)


def _precheck(engine: Any, task: Any) -> dict[str, Any]:
    v = task.variables
    result = check_preconditions(v)
    if not v.get("projectName") and result["projectCode"] in _DEMO_PROJECTS:  # data shared from the 工改 system
        result.update({k: val for k, val in _DEMO_PROJECTS[result["projectCode"]].items() if k not in v})
    result["windowAccepted"] = bool(v.get("intakeApplicationId"))
    # 收件 (or 补正 resubmission): 行政许可法 §32 counts the deemed acceptance from this day
    result["receivedAt"] = engine.clock.now().isoformat()
    if "rfDeemedAllowed" not in v:
        result["rfDeemedAllowed"] = CIVIL_DEFENSE_DEEMED_ALLOWED
    result["checkedAt"] = engine.clock.now().isoformat()
    return result


def _notify_applicant(engine: Any, task: Any) -> dict[str, Any]:
    """告知书 to the applicant (fake SMS/letter gateway): a notice number."""
    kind = (task.extension_properties or {}).get("noticeKind") or "notice"
    return {"noticeNo": f"GZ-{task.business_key or task.instance_id[:8]}-{kind}",
            "applicantNotifiedAt": engine.clock.now().isoformat()}


def permit_number(region_code: str, issued: datetime, business_key: str) -> str:
    """施工许可证编号 (fake of the permit system's numbering): 6-digit region, issue date, a 4-digit sequence from
    the case's number, '01' for the first permit of a project, '01' for 房屋建筑 (the local format varies)."""
    seq = int(hashlib.sha256(business_key.encode("utf-8")).hexdigest(), 16) % 10_000
    return f"{region_code}{issued:%Y%m%d}{seq:04d}0101"


def _issue_permit(engine: Any, task: Any) -> dict[str, Any]:
    now = engine.clock.now()
    key = task.business_key or task.instance_id
    region = (getattr(engine.services.settings, "region_code", None) or "330106")[:6]
    number = permit_number(region if region.isdigit() and len(region) == 6 else "330106", now, key)
    return {"permitNo": number, "eLicenceId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"onewindow:permit:{number}")),
            "permitIssuedAt": now.isoformat()}


def ems_number(seed: str) -> str:
    """An EMS item number in the UPU S10 format (E + letter, 8 digits, check digit, CN), derived from ``seed``."""
    return ems_tracking_number(seed)


def _ems_handover(engine: Any, task: Any) -> dict[str, Any]:
    return {"emsNo": ems_number(task.business_key or task.instance_id),
            "emsHandedOverAt": engine.clock.now().isoformat()}


def _clock_suspend(engine: Any, task: Any) -> dict[str, Any]:
    """挂起: stop the case clock (kind from the activity's ``clockSuspendKind`` property, reason and expected days
    from the variables the properties name). Idempotent: a clock already suspended is left alone."""
    props = task.extension_properties or {}
    kind = props.get("clockSuspendKind") or "other"
    clock = engine.cases.clock(task.instance_id)
    if clock is not None and clock.state == "SUSPENDED":
        return {}
    reason = str(task.variables.get(props.get("clockSuspendReasonVariable") or "") or "").strip()
    days = task.variables.get(props.get("clockSuspendDaysVariable") or "")
    from engine.caseclock.clock import KIND_NAMES

    engine.cases.suspend(task.instance_id, reason=reason or KIND_NAMES.get(kind, kind), kind=kind,
                         expected_days=int(days) if isinstance(days, (int, float)) and days > 0 else None,
                         actor="system")
    return {}


def _clock_resume(engine: Any, task: Any) -> dict[str, Any]:
    clock = engine.cases.clock(task.instance_id)
    if clock is not None and clock.state == "SUSPENDED":
        engine.cases.resume(task.instance_id, actor="system")
    return {}


HANDLERS: dict[str, Handler] = {
    "construction-precheck": _precheck,
    "construction-notify-applicant": _notify_applicant,
    "construction-issue-permit": _issue_permit,
    "construction-ems-handover": _ems_handover,
    "onewindow-clock-suspend": _clock_suspend,
    "onewindow-clock-resume": _clock_resume,
}


def run_handlers(engine: Any, *, worker_id: str = "construction-worker", rounds: int = 20) -> list[str]:
    """Run the automatic steps that are due (fetch, lock, handle, complete) until none is left; the topics done in
    order. A failing handler reports a failure (the engine counts the retries down and raises an incident at 0)."""
    done: list[str] = []
    for _ in range(rounds):
        topics = [engine.external_tasks.TopicRequest(t, 60_000, include_extension_properties=True) for t in HANDLERS]
        tasks = engine.external_tasks.fetch_and_lock(worker_id, topics, max_tasks=20)
        if not tasks:
            break
        for task in tasks:
            try:
                result = HANDLERS[task.topic](engine, task) or {}
            except Exception as exc:  # noqa: BLE001 - reported to the engine as the task's failure
                left = (task.retries if task.retries is not None else 3) - 1
                engine.external_tasks.failure(task.id, worker_id, error_message=f"{type(exc).__name__}: {exc}"[:500],
                                              retries=max(0, left), retry_timeout=0)
                continue
            engine.external_tasks.complete(task.id, worker_id, variables=result)
            done.append(task.topic)
    return done


# --- demo data -------------------------------------------------------------------------------------------------
_DEMO_PROJECTS: dict[str, dict[str, Any]] = {
    "2026-330106-47-01-100001": {
        "projectName": "西溪科创园3号综合楼", "projectAddress": "杭州市西湖区文一西路XXX号", "projectType": "房屋建筑",
        "investment": 18500.0, "contractPrice": 16200.0, "floorArea": 36800.0, "storeysAboveGround": 18,
        "storeysBelowGround": 2, "buildingHeight": 78.5, "foundationDepth": 9.6, "useType": "商场",
        "publicBuilding": True, "newCivilBuilding": True, "flammableExplosive": False, "exemptType": False,
        "specialFireDesign": False,
        "canCombineBuild": True, "contractor": "浙江某建设集团有限公司", "supervisorCompany": "杭州某工程监理有限公司",
        "plannedStart": "2026-11-01", "projectManager": "周建国"},
}


def sample_application(variant: str = "special", **overrides: Any) -> dict[str, Any]:
    """The variables of a realistic application (施工许可阶段一张表单). Variants:

    * ``special``  — an 18-storey commercial complex (商场 36 800 m²): permit + fire design review + 人防 结建;
    * ``ordinary`` — a 6-storey office building (4 800 m², not special, no basement obligation): permit only;
    * ``offsite``  — a new residential block that cannot build its basement: permit + 人防 易地建设;
    * ``lightning``— a fuel depot (易燃易爆): permit + fire review + 防雷;
    * ``small``    — a 260 m² warehouse, investment 28 万元: no permit needed (B1 EXEMPT).
    """
    base = dict(_DEMO_PROJECTS["2026-330106-47-01-100001"], projectCode="2026-330106-47-01-100001",
                applicant="杭州西溪科创投资有限公司", applicantIdNumber="91330106MA2B3C4D5E",
                applicantPhone="13905710001", deliveryMethod="pickup", applicantAddress="杭州市西湖区文一西路XXX号")
    variants: dict[str, dict[str, Any]] = {
        "special": {},
        "ordinary": {"projectCode": "2026-330106-47-01-100003", "projectName": "滨江研发中心办公楼",
                     "useType": "办公楼", "floorArea": 4800.0, "storeysAboveGround": 6, "storeysBelowGround": 0,
                     "buildingHeight": 23.9, "foundationDepth": 2.5, "investment": 2600.0, "publicBuilding": True,
                     "newCivilBuilding": True, "canCombineBuild": True},
        "offsite": {"projectCode": "2026-330106-47-01-100003", "projectName": "三墩镇安置房7号楼", "useType": "住宅",
                    "floorArea": 9200.0, "storeysAboveGround": 11, "buildingHeight": 33.0, "publicBuilding": False,
                    "canCombineBuild": False},
        "lightning": {"projectCode": "2026-330106-47-01-100003", "projectName": "城西成品油中转库",
                      "useType": "仓库", "floorArea": 3200.0, "storeysAboveGround": 1, "storeysBelowGround": 0,
                      "buildingHeight": 9.0, "foundationDepth": 2.0, "publicBuilding": False,
                      "newCivilBuilding": False, "flammableExplosive": True},
        "small": {"projectCode": "2026-330106-47-01-100003", "projectName": "农机具临时仓库", "useType": "仓库",
                  "floorArea": 260.0, "investment": 28.0, "storeysAboveGround": 1, "storeysBelowGround": 0,
                  "buildingHeight": 6.0, "foundationDepth": 1.0, "publicBuilding": False, "newCivilBuilding": False},
    }
    if variant not in variants:
        raise ValueError(f"unknown variant '{variant}': {', '.join(variants)}")
    return {**base, **variants[variant], **overrides}


@dataclass(frozen=True)
class DemoApplicant:
    name: str
    id_number: str
    phone: str
    variant: str
    extra: dict[str, Any] = field(default_factory=dict)


DEMO_APPLICANTS = (
    DemoApplicant("杭州西溪科创投资有限公司", "91330106MA2B3C4D5E", "13905710001", "special"),
    DemoApplicant("杭州滨江智谷置业有限公司", "91330108MA2C7K8L9M", "13905710002", "ordinary"),
    DemoApplicant("杭州城西安居建设有限公司", "91330106MA2D1E2F3G", "13905710003", "offsite"),
    DemoApplicant("浙江某能源储运有限公司", "91330100MA2H4J5K6L", "13905710004", "lightning"),
)


def demo_application(index: int) -> dict[str, Any]:
    """The application of demo applicant ``index`` (cycled), as variables for ``runtime.start``."""
    a = DEMO_APPLICANTS[index % len(DEMO_APPLICANTS)]
    return sample_application(a.variant, applicant=a.name, applicantIdNumber=a.id_number, applicantPhone=a.phone,
                              **a.extra)
