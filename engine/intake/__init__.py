"""一窗受理: the window intake of applications (``engine.intake``). See ``commands`` for the decisions and
``numbers`` for the 办件编号."""

from __future__ import annotations

from .commands import (
    DECISIONS,
    DELIVERY,
    STATUS_NAMES,
    STATUSES,
    ApplicantInvalid,
    ApplicationDecided,
    ApplicationView,
    GapNotAllowed,
    MaterialsIncomplete,
    UnknownServiceItem,
)
from .service import IntakeService

__all__ = ["DECISIONS", "DELIVERY", "STATUSES", "STATUS_NAMES", "ApplicantInvalid", "ApplicationDecided",
           "ApplicationView", "GapNotAllowed", "IntakeService", "MaterialsIncomplete", "UnknownServiceItem"]
