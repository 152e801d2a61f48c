"""催办 (urge) on a real database: one transaction records TaskUrged and queues a notification to the task's
holder (assignee, else candidates); refused, changing nothing, for a task of another case, an ended task, an empty
message."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.bootstrap import build_engine
from engine.errors import Conflict, InvalidInput, NotFound

CST = timezone(timedelta(hours=8))
FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def eng(settings, clock, tmp_path):  # type: ignore[no-untyped-def]
    e = build_engine(dataclasses.replace(settings, notify_file=str(tmp_path / "n.jsonl")), clock=clock)
    e.repository.deploy([("clock_parallel.bpmn", (FIX / "clock_parallel.bpmn").read_bytes())])
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
    yield e
    e.close()


def _started(eng, key: str = "URGE-1"):  # type: ignore[no-untyped-def]
    case = eng.runtime.start("clock_parallel", business_key=key)
    (intake,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(intake.id, "clerk1")
    return case, {t.task_definition_key: t for t in eng.tasks.list(instance_id=case.id)}


def test_urge_notifies_the_holder_once_and_is_in_the_history(eng, tmp_path):
    case, tasks = _started(eng)
    eng.tasks.claim(tasks["review_fire"].id, "li")
    view = eng.cases.urge("URGE-1", tasks["review_fire"].id, "请尽快办理", actor="boss")
    assert view.recipients == ("user:li",) and view.message_id
    view2 = eng.cases.urge(case.id, tasks["review_market"].id, "  市场部请加快  ", actor="boss")
    assert view2.recipients == ("group:market",) and view2.message == "市场部请加快"
    urged = [e for e in eng.history.events(case.id) if e.event_type == "TaskUrged"]
    assert [(e.actor, e.task_id, e.activity_id, e.payload["message"]) for e in urged] == [
        ("boss", tasks["review_fire"].id, "review_fire", "请尽快办理"),
        ("boss", tasks["review_market"].id, "review_market", "市场部请加快")]
    notes = [n for n in eng.notifications.list(instance_id=case.id) if n["channel"] == "urge"]
    assert sorted(n["recipients"] for n in notes) == [["group:market"], ["user:li"]]
    (to_li,) = [n for n in notes if n["recipients"] == ["user:li"]]
    assert "催办" in to_li["subject"] and "请尽快办理" in to_li["body"] and to_li["taskId"] == tasks["review_fire"].id
    due = tasks["review_fire"].due
    if due is not None:  # people read the deadline in Beijing time to the minute, not as a UTC ISO string
        local = due.astimezone(eng.services.tz).strftime("%Y-%m-%d %H:%M")
        assert f"办理期限：{local}" in to_li["body"] and "+00:00" not in to_li["body"]
    eng.jobs.execute_due()
    sent = [json.loads(line) for line in (tmp_path / "n.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(m["id"] for m in sent if m["channel"] == "urge") == sorted(n["id"] for n in notes)
    assert eng.history.verify(case.id)[0].ok


def test_urge_refusals_change_nothing(eng):
    case, tasks = _started(eng)
    other, other_tasks = _started(eng, "URGE-2")
    before = len(eng.history.events(case.id))
    with pytest.raises(InvalidInput):
        eng.cases.urge(case.id, tasks["review_fire"].id, "   ", actor="boss")
    with pytest.raises(NotFound):
        eng.cases.urge(case.id, other_tasks["review_fire"].id, "x", actor="boss")
    with pytest.raises(NotFound):
        eng.cases.urge("NO-SUCH-CASE", tasks["review_fire"].id, "x", actor="boss")
    eng.tasks.complete(tasks["review_market"].id, "m1")
    with pytest.raises(Conflict, match="completed"):
        eng.cases.urge(case.id, tasks["review_market"].id, "x", actor="boss")
    assert "TaskUrged" not in [e.event_type for e in eng.history.events(case.id)][before:]
    assert not [n for n in eng.notifications.list() if n["channel"] == "urge"]
