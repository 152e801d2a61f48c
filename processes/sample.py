"""The sample service item used by the demo until the full catalogue lands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True
    gap_allowed: bool = False  # 容缺受理 allowed


@dataclass(frozen=True)
class ServiceItem:
    key: str
    name: str
    bpmn: str
    legal_limit_workdays: int
    promised_limit_workdays: int
    materials: tuple[Material, ...]


SAMPLE_ITEM = ServiceItem(
    key="sample_parallel_approval",
    name="并联审批示例（受理→三部门并联审查→办结）",
    bpmn="sample/sample_parallel_approval.bpmn",
    legal_limit_workdays=20,
    promised_limit_workdays=10,
    materials=(
        Material("申请表"),
        Material("营业执照复印件"),
        Material("场地证明", gap_allowed=True),
    ),
)
