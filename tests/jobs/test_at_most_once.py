"""At most once, across processes and crashes: four worker processes fire the same due timers while one of them
is killed with SIGKILL in the middle of its work. Every timer's effect happens exactly once (counted in the
database); none is lost, none is doubled."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime

from tests.conftest import deploy_fixture

CASES = 100
FIRE_AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 2.5 h after the fixture clock: every cooling-off timer is due


def _worker(url: str, name: str, started: "multiprocessing.Queue[str]", victim: bool = False) -> None:
    from sqlalchemy import event

    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    if victim:
        seen = []

        def freeze_before_marking_the_job_done(conn, cursor, statement, params, context, executemany):
            # the victim's second timer: the case is written, the job not yet marked, nothing committed
            if statement.lstrip().upper().startswith("UPDATE JOB"):
                seen.append(1)
                if len(seen) == 2:
                    started.put("inside")
                    time.sleep(60)  # killed here

        event.listen(engine.db, "before_cursor_execute", freeze_before_marking_the_job_done)
    started.put(name)
    while engine.jobs.execute_due(FIRE_AT, limit=3, worker_id=name):
        pass
    engine.close()


def test_four_workers_one_killed_every_timer_fires_exactly_once(engine, database_url):
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    cases = [engine.runtime.start("review_with_timers", business_key=f"AMO-{i}").id for i in range(CASES)]
    assert len(engine.jobs.list()) == CASES

    ctx = multiprocessing.get_context("spawn")
    started = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(database_url, f"w{i}", started, i == 0)) for i in range(4)]
    victim = procs[0]
    victim.start()
    assert started.get(timeout=120) == "w0"
    assert started.get(timeout=120) == "inside"  # w0 is in the middle of firing its second timer
    for p in procs[1:]:
        p.start()  # the others start while w0 holds its uncommitted transaction
    time.sleep(0.5)
    os.kill(victim.pid, signal.SIGKILL)
    for p in procs:
        p.join(120)
    assert victim.exitcode == -signal.SIGKILL  # it really died in the middle of its work
    assert all(p.exitcode == 0 for p in procs[1:])

    # whatever the victim left behind (a rolled-back transaction) is picked up again
    engine.jobs.execute_due(FIRE_AT, worker_id="cleanup")
    done = engine.jobs.list(states=("DONE",))
    assert len(done) == CASES and len({j.id for j in done}) == CASES
    assert engine.jobs.list(states=("PENDING",)) and all(j.activity_id == "review_timeout"
                                                        for j in engine.jobs.list(states=("PENDING",)))
    for case_id in cases:
        reviews = engine.tasks.list(instance_id=case_id)
        assert [t.task_definition_key for t in reviews] == ["review"], case_id  # the effect, exactly once
        executed = [e for e in engine.history.events(case_id) if e.event_type == "JobExecuted"]
        assert len(executed) == 1, case_id
        assert all(r.ok for r in engine.history.verify(case_id))
    workers = {j.executed_by for j in done}
    assert len(workers - {"cleanup"}) >= 2  # the work really was shared
