"""Every event the engine records in a case's history has a Chinese label on the case page and the task page's
timeline (no raw names such as IntakeAccepted shown to clerks). Events of the engine-wide chain (users, groups,
calendar, deployments) are not in a case's timeline."""

from __future__ import annotations

import re
from pathlib import Path

from web.ui._casepage import EVENT_LABELS as CASE_LABELS
from web.ui.tasks import TIMELINE_LABELS

ROOT = Path(__file__).resolve().parents[2]
ENGINE_WIDE = re.compile(r"^(User|Group|Membership|Calendar|Deployment|ProcessDefinition)")


def recorded_event_types() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "engine").rglob("*.py"):
        found |= set(re.findall(r"""\.record\(\s*["']([A-Z][A-Za-z]+)["']""", path.read_text(encoding="utf-8")))
    return {t for t in found if not ENGINE_WIDE.match(t)}


def test_every_case_event_has_a_label_on_both_timelines():
    types = recorded_event_types()
    assert len(types) > 40  # the scan finds the engine's events
    assert sorted(types - set(CASE_LABELS)) == []
    assert sorted(types - set(TIMELINE_LABELS)) == []
