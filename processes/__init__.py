"""Service items (事项): per-item code the diagrams in bpmn/ refer to. ``registry()`` lists them explicitly."""

from __future__ import annotations

from types import ModuleType

from . import construction, enterprise, food, realestate
from .construction import CONSTRUCTION_ITEM
from .enterprise import ENTERPRISE_ITEM
from .food import FOOD_ITEM
from .realestate import REALESTATE_ITEM
from .sample import SAMPLE_ITEM, ServiceItem


def registry() -> tuple[ServiceItem, ...]:
    """Every service item this installation offers; nothing registers itself on import."""
    return (SAMPLE_ITEM, ENTERPRISE_ITEM, CONSTRUCTION_ITEM, FOOD_ITEM, REALESTATE_ITEM)


def modules() -> tuple[ModuleType, ...]:
    """The modules of the items with code of their own (``KEY``, ``DEPARTMENTS``, ``HANDLERS``, demo data)."""
    return (enterprise, construction, food, realestate)
