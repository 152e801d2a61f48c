"""不动产登记 (real-estate registration): three departments in one window — 不动产登记中心 (自然资源), 税务 (契税／
个人所得税／增值税) and 住建 (存量房交易网签备案) — "一窗受理、并行办理". The service item, its materials, forms, the
handlers of its automatic steps and demo data.

Diagram ``bpmn/realestate/realestate_registration.bpmn``, decisions ``bpmn/realestate/realestate_decisions.dmn``
(R1 ``re_parts``: which departments take part and whether a 公告 is needed, COLLECT; R2 ``re_promise``: the promised
limit and the kind of result). docs/service-items.md describes the model, limits and sources.

Limits (docs/service-items.md has the sources; the legal texts are cited from domain.md, not verified against the
official texts):

* legal 30 working days — 《不动产登记暂行条例》 §20;
* promised 5 working days for ordinary registrations, 1 working day for mortgages (国办发〔2019〕8号 and local
  promises) — DMN R2 sets it per case through the diagram's ``promisedLimitVariable``;
* a first registration that needs a 公告 (public notice, at least 15 working days) suspends the case clock (kind
  ``public-notice``) for the notice period; a timer at the end of the period resumes it.

The automatic steps are external tasks (``HANDLERS``, run by ``processes.worker``). The public notice is two of them:
``realestate.publish-notice`` suspends the clock through ``engine.cases.suspend`` and computes the notice's end
(15 working days on the official calendar) into ``noticeEndsAt``, the diagram's timer waits for that instant, and
``realestate.close-notice`` resumes the clock (``engine.cases.resume``), which moves every running deadline by the
working days the notice covered. Where a real system would be called (the registry's numbering and e-certificate
platform, EMS) the handlers are illustrative fakes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .enterprise import ems_tracking_number
from .sample import Material, MaterialRule, ServiceItem
from .worker import COMMON_HANDLERS, Handler

KEY = "realestate_registration"
BPMN_FILES = ("realestate/realestate_registration.bpmn", "realestate/realestate_decisions.dmn")
NOTICE_WORKING_DAYS = 15  # 《不动产登记暂行条例实施细则》 §17: 公告期不少于15个工作日 (not verified)
REGISTRATION_TYPES = ("首次", "转移", "变更", "抵押", "注销")
CENTRE_TZ = ZoneInfo("Asia/Shanghai")  # the year on a certificate number is the service centre's

# candidate groups (departments) the diagram routes to, with the names the service centre shows
DEPARTMENTS = {
    "window": "综合受理窗口",
    "registry": "不动产登记中心（自然资源和规划局）",
    "tax": "税务局",
    "housing": "住房和城乡建设局（房产交易管理）",
    "delivery": "出件窗口",
    "supervisor": "中心督办（效能监察）",
}


@dataclass(frozen=True)
class Part:
    """One part of the parallel handling chosen by DMN R1 (re_parts)."""

    code: str
    name: str
    activity: str  # element id in the diagram
    group: str
    step_limit: str  # 环节时限 as the diagram writes it
    on_timeout: str | None  # the task's policy; None: not a user task


PARTS = (
    Part("REGISTRY", "登记审核（牵头）", "registry_review", "registry", "3wd (抵押 0.5wd)", "ESCALATE"),
    Part("TAX", "税费核定与征收（契税／个税／增值税）", "tax_assessment", "tax", "1wd", "ESCALATE"),
    Part("HOUSING", "存量房交易合同网签备案核验", "housing_filing", "housing", "1wd", "DEEMED_APPROVED"),
    Part("NOTICE", "首次登记公告（挂起计时）", "publish_notice", "registry", f"{NOTICE_WORKING_DAYS}wd", None),
)



# Conditional materials are ``required=False`` for the window's checklist (engine/intake asks every required one);
# ``material_checklist`` says which of them this application needs.
MATERIALS = (
    Material("不动产登记申请书", key="application_form", form="original",
             note="申请人签字（单位加盖公章）；窗口可代为打印"),
    Material("申请人身份证明", key="identity", form="copy",
             note="居民身份证或统一社会信用代码证明；经公安人口信息库实名核验的免提交"),
    Material("不动产权属证书", key="title_certificate", required=False, form="original",
             note="转移、变更、抵押、注销登记提交原件（收回或加注）；首次登记不需要"),
    Material("存量房买卖合同（网签备案合同）", key="sale_contract", required=False, form="original",
             note="存量房交易；已在住建网签备案系统备案的免提交（数据共享）"),
    Material("完税（或减免税）凭证", key="tax_voucher", required=False, form="copy",
             note="涉税的，由税务部门在窗口并行核税征收，完税信息共享，免提交"),
    Material("婚姻状况证明", key="marital_status", required=False, gap_allowed=True, form="copy",
             note="转移登记；可容缺受理（签署承诺书后补交）；民政婚姻登记信息核验通过的免提交"),
    Material("抵押合同及主债权合同", key="mortgage_contract", required=False, form="original",
             note="抵押登记提交"),
    Material("土地权属来源及建设工程规划、竣工验收材料", key="first_registration_docs", required=False, form="copy",
             note="首次登记提交"),
    Material("不动产权籍调查成果", key="cadastral_survey", required=False, gap_allowed=True, form="original",
             note="首次登记；可容缺受理，权籍调查机构出具后补交"),
    Material("授权委托书及代理人身份证明", key="power_of_attorney", required=False, form="original",
             note="委托代理人办理时提交"),
)
MATERIAL_RULES = {
    "identity": MaterialRule(waived_by="公安人口信息库（实名核验）：申请人身份已在线核验"),
    "title_certificate": MaterialRule(condition="转移、变更、抵押、注销登记"),
    "sale_contract": MaterialRule(condition="存量房交易",
                                  waived_by="住建网签备案系统（数据共享）：合同已网签备案"),
    "tax_voucher": MaterialRule(condition="涉税", waived_by="税务部门并行办理（一窗受理），完税信息共享"),
    "marital_status": MaterialRule(condition="转移登记", waived_by="民政婚姻登记信息（数据共享）：已核验"),
    "mortgage_contract": MaterialRule(condition="抵押登记"),
    "first_registration_docs": MaterialRule(condition="首次登记"),
    "cadastral_survey": MaterialRule(condition="首次登记"),
    "power_of_attorney": MaterialRule(condition="委托代理人办理"),
}

REALESTATE_ITEM = ServiceItem(
    key=KEY,
    name="不动产登记（首次、转移、变更、抵押、注销；登记、税务、住建一窗受理、并行办理）",
    bpmn="realestate/realestate_registration.bpmn",
    legal_limit_workdays=30,
    promised_limit_workdays=5,  # 抵押登记 1 wd: DMN R2 sets the case's own promise
    materials=MATERIALS,
    intake_activity="intake_review",
    department="不动产登记中心（牵头）；税务局；住建局",
)


def material_checklist(application: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials this application needs: each with ``status`` ``required`` / ``gap_allowed`` (容缺) /
    ``waived`` (免提交, by data sharing) / ``not_needed`` (its condition does not hold), and why."""
    kind = application.get("registrationType")
    needed = {
        "title_certificate": kind in ("转移", "变更", "抵押", "注销"),
        "sale_contract": bool(application.get("existingHousingTrade")),
        "tax_voucher": bool(application.get("involvesTax")),
        "marital_status": kind == "转移",
        "mortgage_contract": kind == "抵押",
        "first_registration_docs": kind == "首次",
        "cadastral_survey": kind == "首次",
        "power_of_attorney": bool(application.get("viaAgent")),
    }
    waived = {
        "identity": bool(application.get("identityVerified")),
        "sale_contract": bool(application.get("contractFiledOnline")),
        "tax_voucher": True,  # the tax office works the case in parallel in the same window
        "marital_status": bool(application.get("maritalVerified")),
    }
    out = []
    for key, m in zip(REALESTATE_ITEM.material_keys(), MATERIALS):
        rule = MATERIAL_RULES.get(key, MaterialRule())
        status, why = ("gap_allowed" if m.gap_allowed else "required"), ""
        if not needed.get(key, True):
            status, why = "not_needed", rule.condition + "时才需要"
        elif waived.get(key):
            status, why = "waived", rule.waived_by
        out.append({"key": key, "name": m.name, "status": status, "reason": why, "form": m.form_name,
                    "copies": m.copies})
    return out


# --- forms: the diagram's camunda:formFields, by task -----------------------------------------------------------
FORMS = {
    "intake_review": ("intakeDecision", "missingMaterials", "intakeOpinion"),
    "supplement": ("suppliedMaterials",),
    "registry_review": ("registryDecision", "registryOpinion"),
    "tax_assessment": ("taxCleared", "taxAmount", "taxNote"),
    "housing_filing": ("contractFiled", "contractNo"),
    "register": ("registered",),
    "delivery": ("deliveryMethod", "signedBy"),
    "deliver_denial": (),
}
# the application form (不动产登记申请书), as process variables at the start of a case
APPLICATION_FIELDS = (
    "registrationType", "involvesTax", "existingHousingTrade", "needsNotice", "applicantName", "applicantIdNo",
    "applicantPhone", "counterpartyName", "counterpartyIdNo", "unitNo", "propertyAddress", "area", "price",
    "mortgagee", "loanAmount", "regionCode", "registryCity", "identityVerified", "contractFiledOnline",
    "maritalVerified", "viaAgent", "deliveryMethod", "deliveryAddress",
)


# --- identifiers ---------------------------------------------------------------------------------------------
PROVINCES = {"11": "京", "12": "津", "31": "沪", "32": "苏", "33": "浙", "35": "闽", "37": "鲁", "42": "鄂",
             "44": "粤", "50": "渝", "51": "川"}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """The 18th character of a resident identity number (GB 11643-1999, ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"'{first17}' is not 17 digits")
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def resident_id(region_code: str, birth: str, seed: int) -> str:
    """A resident identity number with a valid check character (illustrative, not a real person's)."""
    first17 = f"{region_code}{birth}{seed % 1000:03d}"
    return first17 + id_check_char(first17)


def unit_number(region_code: str, seed: int) -> str:
    """A 28-character 不动产单元号 (行政区划 6 + 地籍区 3 + 地籍子区 3 + 宗地特征码 2 + 宗地顺序号 5 + 定着物特征码 1
    + 定着物单元号 8), e.g. a house (F) on state-owned construction land (GB); illustrative."""
    parcel = f"{1 + seed % 9:03d}{2 + seed % 7:03d}GB{10 + seed % 90000:05d}"
    return f"{region_code}{parcel}F{1 + seed % 99:04d}{1 + seed % 999:04d}"


def certificate_number(kind: str, region_code: str, city: str, year: int, seed: str) -> str | None:
    """The number of the result: 不动产权证书 ``浙(2026)杭州市不动产权第0001234号`` or 不动产登记证明 (mortgage)
    ``浙(2026)杭州市不动产证明第0001234号``; None for a cancellation (注销, no certificate). The sequence number is
    derived from ``seed`` here, a stand-in for the registry's yearly sequence (illustrative)."""
    if kind == "NONE":
        return None
    word = {"PROPERTY": "不动产权", "PROOF": "不动产证明"}[kind]
    n = int(hashlib.sha256(seed.encode("utf-8")).hexdigest(), 16) % 10**7
    return f"{PROVINCES.get(region_code[:2], '浙')}({year}){city}{word}第{n:07d}号"


# --- external-task handlers ----------------------------------------------------------------------------------
def _case_key(task: Any) -> str:
    return task.business_key or task.instance_id


def handle_case_receipt(engine: Any, task: Any) -> dict[str, Any]:
    """受理凭证（回执）: the case number, the promised limit of this case (DMN R2) and its date from the case clock."""
    clock = engine.cases.clock(task.instance_id)
    return {"receiptNo": f"BDC-{_case_key(task)}",
            "acceptedAt": clock.accepted_at.isoformat() if clock and clock.accepted_at else None,
            "promisedLimit": clock.promised_limit if clock else None,
            "promisedDate": clock.promised_due.isoformat() if clock and clock.promised_due else None,
            "legalDate": clock.legal_due.isoformat() if clock and clock.legal_due else None}


def _open_notice(clock: Any) -> dict[str, Any] | None:
    if clock is None or clock.state != "SUSPENDED":
        return None
    return next((s for s in clock.suspensions if s["kind"] == "public-notice" and not s["end"]), None)


def handle_publish_notice(engine: Any, task: Any) -> dict[str, Any]:
    """发布公告: suspend the case clock (kind public-notice, 15 working days expected) and compute the end of the
    notice period on the official calendar (the day of publication not counted). Idempotent: a retry finds the
    open notice suspension and computes the same end from its start."""
    clock = engine.cases.clock(task.instance_id)
    notice = _open_notice(clock)
    if notice is None:
        v = task.variables
        engine.cases.suspend(
            task.instance_id, kind="public-notice", expected_days=NOTICE_WORKING_DAYS, actor="system",
            reason=f"首次登记公告：{v.get('propertyAddress') or '不动产'}（不动产单元号 {v.get('unitNo') or '-'}），"
                   f"公告期{NOTICE_WORKING_DAYS}个工作日，公告期间不计入办理时限")
        notice = _open_notice(engine.cases.clock(task.instance_id))
    assert notice is not None
    started = datetime.fromisoformat(notice["start"])
    # a notice running into a year without official calendar data ends on a flagged Monday-Friday estimate
    ends, estimated = engine.calendar.deadline_provisional(started, NOTICE_WORKING_DAYS)
    return {"noticeNo": f"GG-{_case_key(task)}", "noticeStartedAt": started.isoformat(),
            "noticeEndsAt": ends.isoformat(), "noticeEndProvisional": estimated}


def handle_close_notice(engine: Any, task: Any) -> dict[str, Any]:
    """公告期满: resume the case clock; every running deadline moves by the working days the notice covered.
    Idempotent: nothing to resume on a retry."""
    clock = engine.cases.clock(task.instance_id)
    if _open_notice(clock) is not None:
        clock = engine.cases.resume(task.instance_id, actor="system")
    done = [s for s in clock.suspensions if s["kind"] == "public-notice" and s["end"]] if clock else []
    return {"noticeClosedAt": engine.clock.now().isoformat(),
            "noticeSuspendedDays": done[-1]["workingDays"] if done else None}


def handle_issue_certificate(engine: Any, task: Any) -> dict[str, Any]:
    """缮证: the number of the 不动产权证书 / 不动产登记证明 and the e-certificate id (电子证照)."""
    v = task.variables
    region = str(v.get("regionCode") or "330106")
    year = engine.clock.now().astimezone(CENTRE_TZ).year
    number = certificate_number(str(v.get("certificateKind") or "PROPERTY"), region,
                                str(v.get("registryCity") or "杭州市"), year, f"{_case_key(task)}/{v.get('unitNo')}")
    return {"certificateNo": number, "certificateIssuedAt": engine.clock.now().isoformat(),
            "eCertificateId": f"EC-{hashlib.sha256(str(number).encode()).hexdigest()[:16]}" if number else None}


def handle_ems_handover(engine: Any, task: Any) -> dict[str, Any]:
    """EMS 交寄: the item number (UPU S10 format with its check digit)."""
    return {"emsTrackingNo": ems_tracking_number(f"realestate/{_case_key(task)}"),
            "emsHandedOverAt": engine.clock.now().isoformat()}


HANDLERS: dict[str, Handler] = {
    **COMMON_HANDLERS,
    "realestate.case-receipt": handle_case_receipt,
    "realestate.publish-notice": handle_publish_notice,
    "realestate.close-notice": handle_close_notice,
    "realestate.issue-certificate": handle_issue_certificate,
    "realestate.ems-handover": handle_ems_handover,
}


# --- demo data -------------------------------------------------------------------------------------------------
_PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴斌")
_ROADS = ("文三路", "教工路", "古墩路", "天目山路", "学院路", "莫干山路")
_BANKS = ("中国工商银行杭州分行", "中国建设银行杭州分行", "杭州银行", "浙商银行杭州分行")


def application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """The variables of a plausible application (不动产登记申请书) for the demo's mix of registrations, by ``seed``:
    half are 转移登记 of an existing flat (seed 0 is one), then mortgages, first registrations with a 公告, 变更 and
    注销; ``overrides`` replace fields."""
    kind = seed % 10
    if kind in (5, 6):
        return mortgage_application(seed, **overrides)
    if kind == 7:
        return first_registration_application(seed, **overrides)
    if kind in (8, 9):
        return _base(seed, **{"registrationType": "变更" if kind == 8 else "注销", "involvesTax": False,
                              "existingHousingTrade": False, "counterpartyName": "", "counterpartyIdNo": "",
                              "price": 0, **overrides})
    return _base(seed, **overrides)


def _base(seed: int, **overrides: Any) -> dict[str, Any]:
    region = "330106"
    data: dict[str, Any] = {
        "registrationType": "转移", "involvesTax": True, "existingHousingTrade": True, "needsNotice": False,
        "applicantName": _PEOPLE[seed % len(_PEOPLE)],
        "applicantIdNo": resident_id(region, f"19{80 + seed % 20:02d}0{1 + seed % 9}1{seed % 10}", seed),
        "applicantPhone": f"1390571{seed % 10000:04d}",
        "counterpartyName": _PEOPLE[(seed + 3) % len(_PEOPLE)],
        "counterpartyIdNo": resident_id(region, f"19{70 + seed % 20:02d}1{seed % 3}0{1 + seed % 9}", seed + 7),
        "unitNo": unit_number(region, seed), "regionCode": region, "registryCity": "杭州市",
        "propertyAddress": f"杭州市西湖区{_ROADS[seed % len(_ROADS)]}{10 + seed % 300}号{1 + seed % 18}幢"
                           f"{1 + seed % 3}单元{100 * (1 + seed % 20) + 1 + seed % 4}室",
        "area": 60 + (seed * 7) % 90, "price": 2_000_000 + 50_000 * (seed % 40),
        "mortgagee": "", "loanAmount": 0,
        "identityVerified": True, "contractFiledOnline": True, "maritalVerified": True, "viaAgent": False,
        "deliveryMethod": "pickup", "deliveryAddress": "",
    }
    data.update(overrides)
    return data


def transfer_application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """转移登记 of an existing flat (存量房买卖): tax and housing take part."""
    return _base(seed, **overrides)


def mortgage_application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """抵押权首次登记 for a bank loan: registry only, promised in 1 working day."""
    return _base(seed, **{
        "registrationType": "抵押", "involvesTax": False, "existingHousingTrade": False,
        "mortgagee": _BANKS[seed % len(_BANKS)], "loanAmount": 1_000_000 + 100_000 * (seed % 10),
        "counterpartyName": "", "counterpartyIdNo": "", "price": 0, **overrides})


def first_registration_application(seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """首次登记 of a rural homestead house (宅基地使用权及房屋所有权首次登记): a 公告 is needed."""
    village = ("铜鉴湖", "灵山", "袁浦")[seed % 3]
    return _base(seed, **{
        "registrationType": "首次", "involvesTax": False, "existingHousingTrade": False, "needsNotice": True,
        "counterpartyName": "", "counterpartyIdNo": "", "price": 0,
        "propertyAddress": f"杭州市西湖区双浦镇{village}村{1 + seed % 12}组{10 + seed % 90}号", **overrides})


def deploy(engine: Any, bpmn_root: Any) -> Any:
    """Deploy the item's diagram and decisions from ``bpmn_root`` (the repository's bpmn/ folder)."""
    from pathlib import Path

    root = Path(bpmn_root)
    return engine.repository.deploy_files([root / f for f in BPMN_FILES], name=KEY, source="processes.realestate")
