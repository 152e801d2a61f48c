"""Several engine processes on one database (as the web app's workers and the scheduler are): clerks in two
processes race for the same tasks of the same cases; every task is completed exactly once, nothing is lost and
every history chain still verifies."""

from __future__ import annotations

import multiprocessing

from engine.errors import EngineError
from tests.conftest import deploy_fixture

APPROVE = {"accepted": True, "marketApproved": True, "fireApproved": True, "envApproved": True}


def _clerk(url: str, case_ids: list[str], user: str, out: "multiprocessing.Queue[tuple[str, int, int]]") -> None:
    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    wins = conflicts = 0
    try:
        pending = list(case_ids)
        while pending:
            for case_id in list(pending):
                tasks = engine.tasks.list(instance_id=case_id)
                if not tasks:
                    pending.remove(case_id)
                    continue
                for task in tasks:
                    try:
                        engine.tasks.complete(task.id, user, APPROVE)
                        wins += 1
                    except EngineError:  # the other clerk was first: a clear conflict, never a crash
                        conflicts += 1
    finally:
        engine.close()
        out.put((user, wins, conflicts))


def test_two_processes_racing_for_the_same_tasks(engine, database_url):
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    cases = [engine.runtime.start("sample_parallel_approval", business_key=f"P-{i}").id for i in range(8)]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_clerk, args=(database_url, cases, user, out)) for user in ("alice", "bob")]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sum(wins for _, wins, _ in results) == 5 * len(cases), results
    for case_id in cases:
        instance = engine.runtime.instance(case_id)
        assert instance.state == "COMPLETED"
        completed = [e for e in engine.history.events(case_id) if e.event_type == "TaskCompleted"]
        assert len(completed) == 5 and len({e.task_id for e in completed}) == 5
        assert all(r.ok for r in engine.history.verify(case_id))
