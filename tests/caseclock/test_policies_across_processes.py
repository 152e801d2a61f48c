"""Done-when of the timers issue: departments let their reviews pass the deadline while four worker processes run
and one is killed with SIGKILL in the middle of a deemed approval — every policy is applied exactly once per task
(counted in the database), none lost, none twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

CST = timezone(timedelta(hours=8))
FIX = Path(__file__).parent / "fixtures"
CASES = 24
ACCEPTED = datetime(2026, 4, 1, 10, 0, tzinfo=CST)
FIRE_AT = datetime(2026, 4, 7, 17, 31, tzinfo=CST)  # past the reviews' due time (7 April 17:30)


def _worker(url: str, name: str, started: "multiprocessing.Queue[str]", victim: bool = False) -> None:
    from sqlalchemy import event

    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    if victim:
        engine.jobs.lease_seconds = 2.0  # the jobs it acquired come back 2 s after it dies (docs/jobs.md)
        seen = []

        def freeze_inside_a_deemed_approval(conn, cursor, statement, params, context, executemany):
            # the comment 默认同意 is written inside the deemed approval's transaction, before its commit
            if statement.lstrip().upper().startswith("INSERT INTO COMMENT"):
                seen.append(1)
                if len(seen) == 2:
                    started.put("inside")
                    time.sleep(60)  # killed here

        event.listen(engine.db, "before_cursor_execute", freeze_inside_a_deemed_approval)
    started.put(name)
    while engine.jobs.execute_due(FIRE_AT, limit=4, worker_id=name):
        pass
    engine.close()


def test_four_workers_one_killed_each_timeout_policy_applies_exactly_once(engine, clock, database_url):
    engine.repository.deploy([("clock_parallel.bpmn", (FIX / "clock_parallel.bpmn").read_bytes())])
    cases = []
    for i in range(CASES):
        clock.set(ACCEPTED)
        case = engine.runtime.start("clock_parallel", business_key=f"POL-{i}")
        (intake,) = engine.tasks.list(instance_id=case.id)
        engine.tasks.complete(intake.id, "clerk1")
        cases.append(case.id)

    ctx = multiprocessing.get_context("spawn")
    started = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(database_url, f"w{i}", started, i == 0)) for i in range(4)]
    victim = procs[0]
    victim.start()
    assert started.get(timeout=120) == "w0"
    assert started.get(timeout=120) == "inside"
    for p in procs[1:]:
        p.start()
    time.sleep(0.5)
    os.kill(victim.pid, signal.SIGKILL)
    for p in procs:
        p.join(180)
    assert victim.exitcode == -signal.SIGKILL
    assert all(p.exitcode == 0 for p in procs[1:])
    # what the victim left (rolled back; leased jobs after their lease) is picked up again
    time.sleep(2.5)  # the victim's lease expires
    for _ in range(5):
        engine.jobs.execute_due(FIRE_AT + timedelta(hours=1), worker_id="cleanup")

    for case_id in cases:
        events = [e.event_type for e in engine.history.events(case_id)]
        assert events.count("TaskDeemedApproved") == 1, case_id
        assert events.count("TaskEscalated") == 1, case_id
        assert events.count("TaskOverdue") == 3, case_id
        assert events.count("TaskDeadlineWarning") == 2, case_id
        open_tasks = sorted(t.task_definition_key for t in engine.tasks.list(instance_id=case_id))
        assert open_tasks == ["review_civil", "review_civil__escalation", "review_fire__formalOpinion",
                              "review_market"], case_id
        notes = engine.notifications.list(instance_id=case_id)
        assert len(notes) == 5 and {n["state"] for n in notes} == {"SENT"}, case_id
        assert all(r.ok for r in engine.history.verify(case_id))
    executed_by = {j.executed_by for j in engine.jobs.list(states=("DONE",)) if j.job_type == "task-timeout"}
    assert len(executed_by - {"cleanup"}) >= 2  # the work really was shared
