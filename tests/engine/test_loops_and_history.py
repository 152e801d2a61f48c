"""Long rework loops, the tamper-evident history, and sandboxed scripts on the real runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from engine.errors import ScriptError
from engine.persistence.models import HistoryEvent
from tests.conftest import deploy_fixture, fixture_bytes


def test_rework_loop_hundreds_of_times_does_not_stall(engine):
    deploy_fixture(engine, "engine/rework_loop.bpmn")
    case = engine.runtime.start("rework_loop", business_key="LOOP-1")
    rounds = 450  # a 4-node loop: SpiffWorkflow alone stalls after ~250 rounds (1000-deep task tree)
    for i in range(rounds):
        tasks = engine.tasks.list(instance_id=case.id)
        assert len(tasks) == 1, f"round {i}: {tasks}"
        engine.tasks.complete(tasks[0].id, "clerk", {"complete": i == rounds - 1})
    final = engine.runtime.instance(case.id)
    assert final.state == "COMPLETED"
    assert final.variables["rounds"]["value"] == rounds
    assert len(engine.tasks.list(state="COMPLETED", instance_id=case.id)) == rounds
    assert all(r.ok for r in engine.history.verify(case.id))


def test_history_chain_detects_tampering(engine):
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval", business_key="H-1")
    t = engine.tasks.list(instance_id=case.id)[0]
    engine.tasks.complete(t.id, "clerk", {"accepted": False})
    assert engine.history.verify("H-1")[0].ok

    def tamper(uow):
        uow.session.execute(update(HistoryEvent).where(HistoryEvent.chain == case.id, HistoryEvent.seq == 3)
                            .values(actor="someone-else"))
    engine.executor.run(tamper)
    report = engine.history.verify(case.id)[0]
    assert not report.ok and report.first_bad_seq == 3


PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__mro__[1].__subclasses__()",
    "open('{marker}', 'w').write('x')",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()._module.__builtins__['__import__']('os').system('touch {marker}')",
    "import os\nos.system('touch {marker}')",
    "while True:\n    pass",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_script_puts_the_case_in_incident_and_never_runs(engine, tmp_path: Path, payload: str):
    marker = tmp_path / "pwned"
    script = payload.format(marker=marker).replace("&", "&amp;").replace("<", "&lt;")
    content = fixture_bytes("engine/evil_script.bpmn").replace(b"PAYLOAD", script.encode())
    try:
        engine.repository.deploy([("evil_script.bpmn", content)])
    except Exception as exc:  # refused at deploy time is the best outcome
        assert "does not compile" in str(exc) or "not" in str(exc)
        assert not marker.exists()
        return
    case = engine.runtime.start("evil_script")
    first = engine.tasks.list(instance_id=case.id)[0]
    with pytest.raises(ScriptError):
        engine.tasks.complete(first.id, "clerk")
    assert not marker.exists()
    after = engine.runtime.instance(case.id)
    assert after.has_incident and after.incidents and after.incidents[0].activity_id == "evil"
    assert engine.tasks.task(first.id).state == "COMPLETED"  # the clerk's action itself committed
