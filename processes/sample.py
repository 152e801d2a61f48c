"""The sample service item used by the demo until the full catalogue lands, and the dataclasses every service item
(事项) is written with.

A ``ServiceItem`` names its diagram (``bpmn``, relative to ``bpmn/``; the process id is ``key``), its time limits in
working days and the materials the window checks at intake (一窗受理, engine/intake). A ``Material`` says whether it
is required, whether 容缺受理 is allowed when it is missing (``gap_allowed``: accepted on a written commitment to
hand it in later), whether the original or a copy is handed in, how many copies, and a note for the clerk.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMS = ("original", "copy", "either")  # 原件 / 复印件 / 原件或复印件
FORM_NAMES = {"original": "原件", "copy": "复印件", "either": "原件或复印件"}


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True
    gap_allowed: bool = False  # 容缺受理 allowed
    form: str = "original"  # one of FORMS: what the window takes
    copies: int = 1  # 份数
    note: str = ""  # what the clerk checks (盖章, 有效期 ...)
    key: str = ""  # a stable id for forms and checklists (letters, digits, _); default: m<position>

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"material '{self.name}': form must be one of {', '.join(FORMS)}, not '{self.form}'")
        if self.copies < 1:
            raise ValueError(f"material '{self.name}': copies must be at least 1")

    @property
    def form_name(self) -> str:
        return FORM_NAMES[self.form]


@dataclass(frozen=True)
class MaterialRule:
    """What ``Material`` does not say: when the material is needed at all, and when data sharing waives it."""

    condition: str = ""  # human text of when it is needed
    waived_by: str = ""  # the shared data source that replaces it (免提交)


@dataclass(frozen=True)
class ServiceItem:
    key: str  # the process id of the diagram (runtime.start(key))
    name: str
    bpmn: str
    legal_limit_workdays: int
    promised_limit_workdays: int
    materials: tuple[Material, ...]
    # the window step of the diagram that the intake's acceptance completes (its form gets accepted/applicant);
    # None: the diagram starts after the acceptance
    intake_activity: str | None = None
    department: str = ""  # 实施部门 (shown on the receipt)
    window_group: str = "window"  # the window's group: 容缺 follow-up tasks go to it

    @property
    def limits(self) -> dict[str, str]:
        """The limits as the case clock writes them (``10wd``)."""
        return {"promised": f"{self.promised_limit_workdays}wd", "legal": f"{self.legal_limit_workdays}wd"}

    def material_keys(self) -> list[str]:
        return [m.key or f"m{i}" for i, m in enumerate(self.materials)]

    def material(self, key: str) -> Material | None:
        for k, m in zip(self.material_keys(), self.materials):
            if k == key:
                return m
        return None


SAMPLE_ITEM = ServiceItem(
    key="sample_parallel_approval",
    name="并联审批示例（受理→三部门并联审查→办结）",
    bpmn="sample/sample_parallel_approval.bpmn",
    legal_limit_workdays=20,
    promised_limit_workdays=10,
    materials=(
        Material("申请表", key="application_form", form="original", copies=1,
                 note="申请人（法定代表人）签字并加盖公章"),
        Material("营业执照复印件", key="business_license", form="copy", copies=1,
                 note="在有效期内，复印件加盖公章"),
        Material("法定代表人身份证明", key="legal_rep_id", form="copy", copies=1,
                 note="身份证正反面复印件；委托办理的另附授权委托书"),
        Material("场地证明", key="site_proof", gap_allowed=True, form="copy", copies=1,
                 note="产权证明或租赁合同；可容缺受理，承诺期限内补交"),
        Material("消防安全承诺书", key="fire_commitment", gap_allowed=True, form="original", copies=1,
                 note="可容缺受理，承诺期限内补交原件"),
        Material("其他补充材料", key="other", required=False, form="either", copies=1,
                 note="非必需，申请人自愿提供"),
    ),
    intake_activity="intake",
    department="市场监管局（牵头）",
)
