"""食品经营许可 (food business licence; 仅销售预包装食品 → 备案): the service item, its materials, forms, the
handlers of its automatic steps and demo data.

Diagram ``bpmn/food/food_business_licence.bpmn``, decision table C1 in ``bpmn/food/food_decisions.dmn``.
docs/service-items.md describes the model, the limits and their sources, and says what is not verified.

One department (市场监管局, candidate group ``market``) after the centre's window (``window``) and before its delivery
window (``delivery``). Limits:

* legal 10 working days, +5 with the approval of the department head (``engine.cases.extend(case, days=5, ...)``) —
  《食品经营许可和备案管理办法》 (2023) as quoted in domain.md §4 (not verified against the official text);
* promised 5 working days — a local promise (our modelling choice: half the legal limit, the seed target of −50 %);
  steps: 材料审查 2 wd (ESCALATE), 现场核查 2 wd (WARN_ONLY), 许可决定 1 wd (ESCALATE), 出件 1 wd (WARN_ONLY);
  事后核查 of a 告知承诺 licence within 20 wd of the issue (ESCALATE; a local rule, not verified).

Automatic steps are external tasks (``HANDLERS``, run by ``processes.worker``): the receipt, the filing number
(当场备案), the licence (JY + 14 digits), the clock suspension while the applicant rectifies after the on-site
inspection (整改, kind ``site-inspection``) and its resumption, the EMS hand-over.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .enterprise import credit_code, ems_tracking_number
from .sample import Material, MaterialRule, ServiceItem
from .worker import COMMON_HANDLERS, Handler

KEY = "food_business_licence"
BPMN_FILES = ("food/food_business_licence.bpmn", "food/food_decisions.dmn")
DECISION = "food_licence_route"
VALID_YEARS = 5  # 食品经营许可证有效期 5 年 (domain.md §4)
POST_INSPECTION_WORKDAYS = 20  # 告知承诺: 事后核查 within 20 wd of the issue (local rule, not verified)
EXTENSION_WORKDAYS = 5  # 法定 10 wd, +5 with the head's approval

DEPARTMENTS = {
    "window": "综合受理窗口",
    "market": "市场监管局（食品经营许可）",
    "delivery": "出件窗口",
    "supervisor": "中心督办（效能监察）",
}

# 主体业态 and the first digit of the licence number (2015 rules: 1 食品销售经营者, 2 餐饮服务经营者, 3 单位食堂)
BUSINESS_TYPES = {"SALES": ("食品销售经营者", "1"), "CATERING": ("餐饮服务经营者", "2"), "CANTEEN": ("单位食堂", "3")}
ROUTES = {"FILING": "仅销售预包装食品备案", "LICENCE": "食品经营许可"}
INSPECTIONS = {"NONE": "无需核查（备案）", "ONSITE": "现场核查", "COMMITMENT": "告知承诺（发证后核查）",
               "DOCUMENT": "书面审查"}


MATERIALS = (
    Material("食品经营许可申请书（仅销售预包装食品的：备案信息采集表）", key="application_form", form="original",
             note="申请人签字或盖章；在线填报生成"),
    Material("营业执照或者其他主体资格证明文件", key="business_licence", form="copy",
             note="复印件加盖公章；通过市场主体登记信息共享获取的免提交"),
    Material("与食品经营相适应的主要设备设施、经营布局、操作流程等文件", key="premises_layout", form="original",
             note="经营场所平面图、设备布局图、操作流程；仅销售预包装食品（备案）的不需要"),
    Material("食品安全自查、从业人员健康管理、进货查验记录、食品安全事故处置等保证食品安全的规章制度目录",
             key="safety_rules", gap_allowed=True, form="original",
             note="可容缺受理，承诺期限内（不超过承诺时限）补交；仅销售预包装食品（备案）的不需要"),
    Material("食品经营许可告知承诺书", key="commitment_letter", required=False, form="original",
             note="选择告知承诺方式办理时提交，申请人签字"),
    Material("授权委托书及代理人身份证明", key="power_of_attorney", required=False, form="original",
             note="委托代理人办理时提交"),
)
MATERIAL_RULES = {
    "business_licence": MaterialRule(waived_by="市场主体登记信息共享：申请人的统一社会信用代码在登记库中可查（电子营业执照）"),
    "premises_layout": MaterialRule(condition="申请许可（非仅销售预包装食品）"),
    "safety_rules": MaterialRule(condition="申请许可（非仅销售预包装食品）"),
    "commitment_letter": MaterialRule(condition="按告知承诺方式办理"),
    "power_of_attorney": MaterialRule(condition="委托代理人办理"),
}

FOOD_ITEM = ServiceItem(
    key=KEY,
    name="食品经营许可（含仅销售预包装食品备案）",
    bpmn="food/food_business_licence.bpmn",
    legal_limit_workdays=10,
    promised_limit_workdays=5,
    materials=MATERIALS,
    intake_activity="intake_review",
    department="市场监管局",
)


def route_of(application: dict[str, Any]) -> dict[str, str]:
    """Table C1 (``food_licence_route``) in Python, for the window's checklist before the case starts; the diagram
    evaluates the DMN itself (a test checks both agree)."""
    a = application
    if a.get("onlyPrepackaged"):
        return {"route": "FILING", "inspection": "NONE"}
    if a.get("sensitiveCanteen"):
        return {"route": "LICENCE", "inspection": "ONSITE"}
    prepares = a.get("businessType") in ("CATERING", "CANTEEN") or bool(a.get("onSitePreparation"))
    if prepares:
        committed = a.get("commitment") is True and a.get("badCredit") is False
        return {"route": "LICENCE", "inspection": "COMMITMENT" if committed else "ONSITE"}
    return {"route": "LICENCE", "inspection": "DOCUMENT"}


def material_checklist(application: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials this application needs: each with ``status`` ``required`` / ``gap_allowed`` (容缺) /
    ``waived`` (免提交, by data sharing) / ``not_needed`` (its condition does not hold), and why."""
    route = route_of(application)
    out = []
    for key, m in zip(FOOD_ITEM.material_keys(), MATERIALS):
        rule = MATERIAL_RULES.get(key, MaterialRule())
        status, why = ("gap_allowed" if m.gap_allowed else "required"), ""
        if key == "business_licence" and application.get("licenceShared"):
            status, why = "waived", rule.waived_by
        elif key in ("premises_layout", "safety_rules") and route["route"] == "FILING":
            status, why = "not_needed", rule.condition + "时才需要"
        elif key == "commitment_letter":
            status, why = (("required", "") if route["inspection"] == "COMMITMENT"
                           else ("not_needed", rule.condition + "时才需要"))
        elif key == "power_of_attorney":
            status, why = ("required", "") if application.get("viaAgent") else ("not_needed", rule.condition + "时才需要")
        out.append({"key": key, "name": m.name, "status": status, "reason": why, "form": m.form_name,
                    "copies": m.copies})
    return out


# --- forms: the diagram's camunda:formFields, by task -----------------------------------------------------------
FORMS = {
    "intake_review": ("intakeDecision", "missingMaterials", "intakeOpinion"),
    "supplement": ("suppliedMaterials",),
    "licence_review": ("reviewOpinion",),
    "site_inspection": ("inspectionResult", "inspectors", "inspectionFindings", "rectifyDays"),
    "rectification": ("rectificationNote",),
    "licence_decision": ("licenceDecision", "decisionOpinion"),
    "post_inspection": ("postInspectionResult", "postInspectionNote"),
    "revoke_licence": ("revocationReason",),
    "delivery": ("deliveryMethod",),
}
# the application (食品经营许可申请书 / 备案信息采集表), as process variables at the start of a case; the six
# inputs of table C1 must be present (booleans / a business type)
APPLICATION_FIELDS = (
    "applicantName", "creditCode", "legalRepresentative", "phone", "regionCode", "premisesAddress", "businessType",
    "mainBusiness", "onlyPrepackaged", "onSitePreparation", "sensitiveCanteen", "commitment", "badCredit",
    "licenceShared", "viaAgent", "deliveryMethod", "deliveryAddress",
)


# --- numbers ---------------------------------------------------------------------------------------------------
def luhn_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit of ``digits``. Illustrative: the rules define a check digit in the licence
    number but we found no published algorithm."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _sequence(seed: str) -> str:
    return f"{int(hashlib.sha256(seed.encode('utf-8')).hexdigest(), 16) % 10**6:06d}"


def licence_number(business_type: str, region_code: str, seed: str) -> str:
    """食品经营许可证编号: ``JY`` + 14 digits = 1 主体业态 (1 销售 / 2 餐饮 / 3 食堂) + 2 province + 2 city + 2 county
    (the 行政区划代码) + 6 sequence + 1 check digit (the layout of the 2015 rules, kept in 2023 as far as we know;
    the sequence stands in for the licensing system's numbering; the check digit is illustrative, Luhn)."""
    if business_type not in BUSINESS_TYPES:
        raise ValueError(f"business type '{business_type}' is not one of {', '.join(BUSINESS_TYPES)}")
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region code '{region_code}' must be 6 digits (行政区划代码)")
    body = BUSINESS_TYPES[business_type][1] + region_code + _sequence(seed)
    return f"JY{body}{luhn_digit(body)}"


def filing_number(region_code: str, seed: str) -> str:
    """仅销售预包装食品备案编号 — illustrative: ``YB`` + 1 (食品销售) + 行政区划代码 + 6 sequence + check digit,
    the licence layout; local systems differ."""
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region code '{region_code}' must be 6 digits (行政区划代码)")
    body = "1" + region_code + _sequence("filing/" + seed)
    return f"YB{body}{luhn_digit(body)}"


def is_valid_licence_number(number: str) -> bool:
    body = number[2:]
    return (len(number) == 16 and number.startswith("JY") and body.isdigit() and body[0] in "123"
            and luhn_digit(body[:-1]) == body[-1])


def valid_until(issued: date, years: int = VALID_YEARS) -> date:
    """The last day of a licence issued on ``issued`` and valid ``years`` years (29 Feb → 28 Feb)."""
    try:
        end = issued.replace(year=issued.year + years)
    except ValueError:
        end = issued.replace(year=issued.year + years, day=28)
    return end - timedelta(days=1)


# --- external-task handlers ----------------------------------------------------------------------------------
def _case_key(task: Any) -> str:
    return task.business_key or task.instance_id


def _local_now(engine: Any) -> datetime:
    return engine.clock.now().astimezone(engine.services.tz)


def handle_case_receipt(engine: Any, task: Any) -> dict[str, Any]:
    """受理通知书（回执）: the case number and the promised and legal dates from the case clock."""
    clock = engine.cases.clock(task.instance_id)
    out: dict[str, Any] = {"receiptNo": f"SL-{_case_key(task)}", "acceptedAt": None, "promisedDate": None,
                           "legalDate": None}
    if clock is not None:
        out["acceptedAt"] = clock.accepted_at.isoformat() if clock.accepted_at else None
        out["promisedDate"] = clock.promised_due.isoformat() if clock.promised_due else None
        out["legalDate"] = clock.legal_due.isoformat() if clock.legal_due else None
    return out


def handle_register_filing(engine: Any, task: Any) -> dict[str, Any]:
    """当场备案: the filing number and the date; no licence, no review (食品安全法 §35)."""
    region = str(task.variables.get("regionCode") or "330106")
    return {"filingNo": filing_number(region, _case_key(task)), "filedAt": _local_now(engine).isoformat()}


def handle_issue_licence(engine: Any, task: Any) -> dict[str, Any]:
    """食品经营许可证＋电子证照: the number, the dates (issued on the decision day, valid 5 years)."""
    v = task.variables
    issued = _local_now(engine).date()
    number = licence_number(str(v.get("businessType") or "CATERING"), str(v.get("regionCode") or "330106"),
                            f"{_case_key(task)}/{v.get('applicantName', '')}")
    return {"licenceNo": number, "licenceIssuedOn": issued.isoformat(),
            "licenceValidUntil": valid_until(issued).isoformat(), "eLicenceId": f"EL-{number}"}


def handle_clock_suspend(engine: Any, task: Any) -> dict[str, Any]:
    """整改: the applicant rectifies what the on-site inspection found; the case clock is suspended (kind
    ``site-inspection``, reason = the findings, expected = the rectification period). Idempotent."""
    clock = engine.cases.clock(task.instance_id)
    if clock is not None and clock.state == "SUSPENDED":
        return {}
    v = task.variables
    findings = str(v.get("inspectionFindings") or "").strip() or "现场核查发现问题"
    days = v.get("rectifyDays")
    expected = int(days) if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0 else None
    engine.cases.suspend(task.instance_id, reason=f"现场核查限期整改：{findings}", kind="site-inspection",
                         expected_days=expected, actor="system")
    return {"rectificationSince": _local_now(engine).isoformat()}


def handle_clock_resume(engine: Any, task: Any) -> dict[str, Any]:
    """整改完毕: the clock runs again (every deadline moves by the suspended working days); the site is
    inspected again. Idempotent."""
    clock = engine.cases.clock(task.instance_id)
    if clock is not None and clock.state == "SUSPENDED":
        engine.cases.resume(task.instance_id, actor="system")
    return {"rectificationRounds": int(task.variables.get("rectificationRounds") or 0) + 1}


def handle_ems_handover(engine: Any, task: Any) -> dict[str, Any]:
    """EMS 交寄: the item number (UPU S10 with its check digit)."""
    return {"emsTrackingNo": ems_tracking_number(f"food/{_case_key(task)}"),
            "emsHandedOverAt": _local_now(engine).isoformat()}


HANDLERS: dict[str, Handler] = {
    **COMMON_HANDLERS,
    "food.case-receipt": handle_case_receipt,
    "food.register-filing": handle_register_filing,
    "food.issue-licence": handle_issue_licence,
    "food.clock-suspend": handle_clock_suspend,
    "food.clock-resume": handle_clock_resume,
    "food.ems-handover": handle_ems_handover,
}


# --- demo data -------------------------------------------------------------------------------------------------
_SHOPS = ("味道小馆", "清河面馆", "晨光便利店", "禾丰食堂", "知味烘焙", "老街茶饮", "鲜果生活", "一品粥铺")
_PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强")
# (businessType, mainBusiness, onlyPrepackaged, onSitePreparation, sensitiveCanteen, commitment) by seed
_PROFILES = (
    ("CATERING", "热食类食品制售", False, False, False, False),  # on-site inspection
    ("CATERING", "热食类食品制售、自制饮品制售", False, False, False, True),  # 告知承诺
    ("SALES", "预包装食品（含冷藏冷冻食品）销售", True, False, False, False),  # filing
    ("SALES", "散装食品（不含现场制售）销售", False, False, False, False),  # document review
    ("SALES", "散装食品销售、糕点类食品现场制售", False, True, False, False),  # on-site inspection
    ("CANTEEN", "单位食堂（学校食堂）热食类食品制售", False, False, True, True),  # on-site despite commitment
)


def application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """The variables of a plausible application; ``overrides`` replace fields. Seed 0 is a restaurant that needs
    an on-site inspection; seed 1 signs a commitment; seed 2 only sells prepackaged food (filing); seed 3 sells
    bulk food (document review); seed 4 bakes on site; seed 5 is a school canteen."""
    btype, business, prepackaged, preparation, sensitive, commitment = _PROFILES[seed % len(_PROFILES)]
    shop = _SHOPS[seed % len(_SHOPS)]
    name = f"杭州{shop}有限公司" if btype != "CANTEEN" else f"杭州市第{seed % 20 + 1}中学"
    data: dict[str, Any] = {
        "applicantName": name, "companyName": name,
        "creditCode": credit_code("330106", f"food/{seed}"),
        "legalRepresentative": _PEOPLE[seed % len(_PEOPLE)], "phone": f"1390571{seed % 10000:04d}",
        "regionCode": "330106", "premisesAddress": f"杭州市西湖区文三路{100 + seed % 400}号",
        "businessType": btype, "mainBusiness": business, "onlyPrepackaged": prepackaged,
        "onSitePreparation": preparation, "sensitiveCanteen": sensitive, "commitment": commitment,
        "badCredit": False, "licenceShared": True, "viaAgent": False, "deliveryMethod": "WINDOW",
        "deliveryAddress": "",
    }
    data.update(overrides)
    return data


def deploy(engine: Any, bpmn_root: Any) -> Any:
    """Deploy the item's diagram and decisions from ``bpmn_root`` (the repository's bpmn/ folder)."""
    root = Path(bpmn_root)
    return engine.repository.deploy_files([root / f for f in BPMN_FILES], name=KEY, source="processes.food")
