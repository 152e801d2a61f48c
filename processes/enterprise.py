"""企业开办 (enterprise establishment, a 一件事 bundle): the service item, its materials, branches, forms, the
handlers of its automatic steps and demo data.

Diagram ``bpmn/enterprise/enterprise_establishment.bpmn`` (decisions in ``enterprise_decisions.dmn``; a 差评 starts
``bpmn/common/bad_rating_rectification.bpmn``). docs/service-items.md describes the model, limits and sources.

Limits (see docs/service-items.md for the sources and what is not verified):

* legal 3 working days — 《市场主体登记管理条例》 §19 (registration on the spot when the materials are complete,
  otherwise within 3 working days, extendable by 3 with the registrar head's approval);
* promised 1 working day for the whole bundle (licence, seal, tax, social insurance, housing fund, bank) — a
  local promise below the national ≤4 wd target; registration review 0.5 wd, each parallel branch 0.5 wd.

The automatic steps are external tasks (``HANDLERS``, run by ``processes.worker``). Where a real system would be
called (the registration system's numbering, the e-licence platform, the bank, EMS) the handlers are realistic
fakes: a 统一社会信用代码 with the real GB 32100-2015 check character, an EMS number with the UPU S10 check digit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .sample import Material, MaterialRule, ServiceItem
from .worker import COMMON_HANDLERS, Handler

KEY = "enterprise_establishment"
RECTIFICATION_KEY = "bad_rating_rectification"
BPMN_FILES = ("enterprise/enterprise_establishment.bpmn", "enterprise/enterprise_decisions.dmn",
              "common/bad_rating_rectification.bpmn")
RATING_MESSAGE = "ServiceRated"
EMS_SIGNED_MESSAGE = "EmsSigned"
BAD_RATING_MESSAGE = "BadRatingReceived"
BAD_RATINGS = ("不满意", "非常不满意")
RATINGS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # 好差评 five levels (国办发〔2019〕51号)

# candidate groups (departments) the diagram routes to, with the names the service centre shows
DEPARTMENTS = {
    "window": "综合受理窗口",
    "market": "市场监管局（登记机关）",
    "police": "公安局（印章治安管理）",
    "tax": "税务局",
    "social": "人社局／医保局",
    "housing_fund": "住房公积金管理中心",
    "delivery": "出件窗口",
    "supervisor": "中心督办（效能监察）",
}


@dataclass(frozen=True)
class Branch:
    """One parallel branch chosen by DMN A1 (kb_parallel_branches)."""

    code: str
    name: str
    activity: str  # element id in the diagram
    group: str | None  # candidate group of the user task; None: an automatic step
    step_limit: str  # 环节时限 as the diagram writes it
    on_timeout: str | None  # the task's policy (None: no user task)


BRANCHES = (
    Branch("SEAL", "印章刻制备案", "seal", "police", "0.5wd", "ESCALATE"),
    Branch("TAX", "新办纳税人套餐（发票＋税控UKey）", "tax", "tax", "0.5wd", "ESCALATE"),
    Branch("SOCIAL", "单位参保登记（社保＋医保）", "social", "social", "0.5wd", "DEEMED_APPROVED"),
    Branch("FUND", "住房公积金缴存登记", "fund", "housing_fund", "0.5wd", "WARN_ONLY"),
    Branch("BANK", "预约开立基本存款账户", "bank_account", None, "1wd", None),
    Branch("NOTIFY", "双告知（不阻塞出件）", "dual_notify", None, "0", None),
)



MATERIALS = (
    Material("公司登记（备案）申请书", key="application_form", form="original",
             note="“企业开办一表通”在线填报生成，法定代表人签字（电子签名）"),
    Material("公司章程", key="articles", form="original",
             note="全体股东签署；使用标准化章程的可在线生成"),
    Material("股东主体资格证明或自然人身份证件", key="shareholder_id", form="copy",
             note="自然人股东已通过实名认证的免提交（身份信息共享核验）"),
    Material("法定代表人、董事、监事、经理的任职文件", key="officer_appointment", form="original",
             note="股东会决议或任命文件"),
    Material("住所（经营场所）使用证明", key="domicile_proof", gap_allowed=True, form="copy",
             note="产权证明或租赁合同；可签署住所承诺书（告知承诺）；地址在标准地址库的免提交"),
    Material("授权委托书及被委托人身份证件", key="power_of_attorney", form="original",
             note="委托代理人办理时提交"),
)
MATERIAL_RULES = {
    "shareholder_id": MaterialRule(waived_by="公安人口信息库（实名认证）：全部股东为自然人且已实名认证"),
    "domicile_proof": MaterialRule(waived_by="标准地址库／不动产登记信息共享：住所在标准地址库"),
    "power_of_attorney": MaterialRule(condition="委托代理人办理"),
}

ENTERPRISE_ITEM = ServiceItem(
    key=KEY,
    name="企业开办（一件事：设立登记、印章、发票税控、社保医保、公积金、银行开户）",
    bpmn="enterprise/enterprise_establishment.bpmn",
    legal_limit_workdays=3,
    promised_limit_workdays=1,
    materials=MATERIALS,
    intake_activity="intake_review",
    department="市场监管局（牵头）",
)


def material_checklist(application: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials this application needs: each with ``status`` ``required`` / ``gap_allowed`` (容缺) /
    ``waived`` (免提交, by data sharing) / ``not_needed`` (its condition does not hold), and why."""
    out = []
    for key, m in zip(ENTERPRISE_ITEM.material_keys(), MATERIALS):
        rule = MATERIAL_RULES.get(key, MaterialRule())
        status, why = ("gap_allowed" if m.gap_allowed else "required"), ""
        if key == "power_of_attorney" and not application.get("viaAgent"):
            status, why = "not_needed", rule.condition + "时才需要"
        elif key == "shareholder_id" and application.get("naturalShareholdersVerified"):
            status, why = "waived", rule.waived_by
        elif key == "domicile_proof" and application.get("addressStandard"):
            status, why = "waived", rule.waived_by
        out.append({"key": key, "name": m.name, "status": status, "reason": why, "form": m.form_name,
                    "copies": m.copies})
    return out


# --- forms: the diagram's camunda:formFields, by task -----------------------------------------------------------
FORMS = {
    "intake_review": ("intakeDecision", "missingMaterials", "intakeOpinion"),
    "supplement": ("suppliedMaterials",),
    "review_supplement": ("suppliedMaterials",),
    "registration_review": ("registrationDecision", "registrationOpinion"),
    "seal": ("sealFiled",), "tax": ("taxRegistered",), "social": ("socialRegistered",), "fund": ("fundRegistered",),
    "delivery": ("deliveryMethod",),
    "pickup": ("signedBy",),
}
# the application form (企业开办一表通, domain.md §2.4), as process variables at the start of a case
APPLICATION_FIELDS = (
    "companyName", "legalRepresentative", "legalRepresentativePhone", "registeredCapital", "regionCode",
    "address", "businessScope", "nameCheck", "addressStandard", "naturalShareholdersVerified", "standardArticles",
    "needSeal", "applyInvoice", "employees", "housingFund", "bankAccount", "licensedScope", "viaAgent",
    "deliveryMethod", "deliveryAddress",
)


# --- 统一社会信用代码 (GB 32100-2015) ---------------------------------------------------------------------------
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code: 31 - (Σ value × 3^(i) mod 31) mod 31."""
    if len(first17) != 17 or any(c not in USCC_CHARS for c in first17):
        raise ValueError(f"'{first17}' is not 17 characters of {USCC_CHARS}")
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The 9th character of a GB 11714 organisation code (11 - Σ mod 11; 10 → X, 11 → 0)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS))
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def is_valid_uscc(code: str) -> bool:
    code = code.strip().upper()
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17] and org_code_check_char(code[8:16]) == code[16]


def credit_code(region_code: str, seed: str) -> str:
    """A unified social credit code for a company registered by 市场监管 (9) as an enterprise (1) in
    ``region_code`` (6 digits); the organisation-code part is derived from ``seed`` (stand-in for the registration
    system's numbering), both check characters are the real ones."""
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region code '{region_code}' must be 6 digits (行政区划代码)")
    digest = int(hashlib.sha256(seed.encode("utf-8")).hexdigest(), 16)
    body = f"{digest % 10**8:08d}"
    org = body + org_code_check_char(body)
    first17 = "91" + region_code + org
    return first17 + uscc_check_char(first17)


# --- EMS (UPU S10) ---------------------------------------------------------------------------------------------
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial8: str) -> str:
    r = 11 - sum(int(c) * w for c, w in zip(serial8, _S10_WEIGHTS)) % 11
    return "0" if r == 10 else "5" if r == 11 else str(r)


def ems_tracking_number(seed: str) -> str:
    """An EMS item number in the UPU S10 format (``EA`` + 8 digits + check digit + ``CN``)."""
    serial = f"{int(hashlib.sha256(seed.encode('utf-8')).hexdigest(), 16) % 10**8:08d}"
    return f"EA{serial}{s10_check_digit(serial)}CN"


def is_valid_s10(number: str) -> bool:
    return (len(number) == 13 and number[:2].isalpha() and number[2:11].isdigit() and number[11:].isalpha()
            and s10_check_digit(number[2:10]) == number[10])


# --- external-task handlers ----------------------------------------------------------------------------------
def _case_key(task: Any) -> str:
    return task.business_key or task.instance_id


def handle_case_receipt(engine: Any, task: Any) -> dict[str, Any]:
    """受理通知书（回执）: the case number and the promised date from the case clock."""
    clock = engine.cases.clock(task.instance_id)
    promised = clock.promised_due if clock is not None else None
    return {"receiptNo": f"SL-{_case_key(task)}",
            "acceptedAt": clock.accepted_at.isoformat() if clock is not None and clock.accepted_at else None,
            "promisedDate": promised.isoformat() if promised is not None else None}


def handle_auto_approval(engine: Any, task: Any) -> dict[str, Any]:
    """智能审批（秒批）: DMN A2 chose it only when every condition holds; the registration is approved."""
    return {"registrationDecision": "APPROVE", "autoApproved": True, "registrationOpinion": "智能审批：准予登记"}


def handle_issue_licence(engine: Any, task: Any) -> dict[str, Any]:
    """营业执照＋电子营业执照: the unified social credit code every later step needs."""
    region = str(task.variables.get("regionCode") or "330100")
    code = credit_code(region, f"{_case_key(task)}/{task.variables.get('companyName', '')}")
    return {"creditCode": code, "licenceIssuedAt": engine.clock.now().isoformat(),
            "eLicenceId": f"EL-{code}"}


def handle_bank_account(engine: Any, task: Any) -> dict[str, Any]:
    """预约开户 (a filing since 2019): the bank's answer, an account number (fake, 19 digits)."""
    n = int(hashlib.sha256(f"bank/{_case_key(task)}".encode()).hexdigest(), 16) % 10**15
    return {"bankAccountNo": f"6210{n:015d}", "bankName": str(task.variables.get("bankName") or "示例银行营业部")}


def handle_dual_notify(engine: Any, task: Any) -> dict[str, Any]:
    """双告知: push the licence information to the competent departments of the licensed activities."""
    depts = task.variables.get("licensedDepartments") or ["行业主管部门"]
    return {"dualNotifiedAt": engine.clock.now().isoformat(), "dualNotified": list(depts)}


def handle_ems_handover(engine: Any, task: Any) -> dict[str, Any]:
    """EMS 交寄: the item number (S10 format with its check digit)."""
    return {"emsTrackingNo": ems_tracking_number(_case_key(task)), "emsHandedOverAt": engine.clock.now().isoformat()}


def handle_bad_rating(engine: Any, task: Any) -> dict[str, Any]:
    """差评转整改: start the rectification case (message start) with the rating and the responsible department.
    Idempotent: a retry finds the rectification case by its business key and does not start a second one."""
    key = f"{_case_key(task)}-ZG"
    if not engine.runtime.instances(business_key=key):
        v = task.variables
        engine.runtime.correlate(BAD_RATING_MESSAGE, business_key=key, actor="system", variables={
            "sourceCase": _case_key(task), "item": KEY, "department": str(v.get("ratedDepartment") or "window"),
            "rating": v.get("rating"), "ratingComment": v.get("ratingComment") or ""})
    return {"rectificationCase": key}


HANDLERS: dict[str, Handler] = {
    **COMMON_HANDLERS,
    "enterprise.case-receipt": handle_case_receipt,
    "enterprise.auto-approval": handle_auto_approval,
    "enterprise.issue-licence": handle_issue_licence,
    "enterprise.bank-account": handle_bank_account,
    "enterprise.dual-notify": handle_dual_notify,
    "enterprise.ems-handover": handle_ems_handover,
    "rating.bad-report": handle_bad_rating,
}


# --- demo data -------------------------------------------------------------------------------------------------
_NAMES = ("云帆", "青禾", "星澜", "知行", "百川", "启明", "嘉木", "远景", "拾光", "和信")
_TRADES = ("科技", "贸易", "餐饮管理", "文化传媒", "信息技术", "咨询")
_PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强")


def application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """The variables of a plausible application (企业开办一表通); ``overrides`` replace fields. Seed 0 is a
    company that qualifies for 秒批 and needs every branch."""
    name = f"杭州{_NAMES[seed % len(_NAMES)]}{_TRADES[seed % len(_TRADES)]}有限公司"
    data: dict[str, Any] = {
        "companyName": name, "legalRepresentative": _PEOPLE[seed % len(_PEOPLE)],
        "legalRepresentativePhone": f"1380571{seed % 10000:04d}", "registeredCapital": 100 + 50 * (seed % 7),
        "regionCode": "330106", "address": f"杭州市西湖区文三路{100 + seed % 400}号",
        "businessScope": "技术开发、技术服务；软件销售", "nameCheck": "PASS", "addressStandard": True,
        "naturalShareholdersVerified": True, "standardArticles": True, "needSeal": True, "applyInvoice": True,
        "employees": 3 + seed % 20, "housingFund": True, "bankAccount": True, "licensedScope": False,
        "viaAgent": False, "deliveryMethod": "pickup", "deliveryAddress": "",
        "rating": None, "ratingComment": "",
    }
    data.update(overrides)
    return data


def deploy(engine: Any, bpmn_root: Any) -> Any:
    """Deploy the item's diagrams and decisions from ``bpmn_root`` (the repository's bpmn/ folder)."""
    from pathlib import Path

    root = Path(bpmn_root)
    return engine.repository.deploy_files([root / f for f in BPMN_FILES], name=KEY, source="processes.enterprise")
