"""At most once, across processes and crashes (the issue's size): four worker processes fire 1,000 timers that fall
due together while one of them is killed with SIGKILL inside its transaction, in the middle of a batch. Every
timer's effect happens exactly once, counted in the database: one follow-up task per case, one ``JobExecuted`` per
job, every job DONE once, every history chain intact. The jobs the dead worker had acquired stay leased to it until
their lease expires; then (and only then) another worker fires them.

Size: 1,000 timers on PostgreSQL; on SQLite (one writer, and the suite runs on both in CI) 400, to keep the test
under ~40 s there. ``ONEWINDOW_AMO_TIMERS`` overrides both."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime

from sqlalchemy import text

from tests.conftest import BACKEND, deploy_fixture

CASES = int(os.environ.get("ONEWINDOW_AMO_TIMERS", "1000" if BACKEND == "postgresql" else "400"))
FIRE_AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 2.5 h after the fixture clock: every cooling-off timer is due
VICTIM_LIMIT = 60  # jobs the victim acquires: its first batch dies with it, the rest wait for the lease
VICTIM_LEASE = float(os.environ.get("ONEWINDOW_AMO_LEASE", "20"))


def _starter(url: str, first: int, count: int) -> None:
    from engine.bootstrap import build_engine
    from engine.clock import FrozenClock
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url), clock=FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC)))
    for i in range(first, first + count):
        engine.runtime.start("review_with_timers", business_key=f"AMO-{i}")
    engine.close()


def _worker(url: str, name: str, started: "multiprocessing.Queue[str]", go: "multiprocessing.Event",
            victim: bool = False) -> None:
    from sqlalchemy import event

    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    if victim:
        seen = []

        def freeze_inside_the_batch(conn, cursor, statement, params, context, executemany):
            # 1st UPDATE job: the acquisition (committed: the lease). 2nd: the first batch marks its jobs DONE
            # after writing their cases; nothing of the batch is committed yet.
            if statement.lstrip().upper().startswith("UPDATE JOB"):
                seen.append(1)
                if len(seen) == 2:
                    started.put("inside")
                    time.sleep(120)  # killed here

        event.listen(engine.db, "before_cursor_execute", freeze_inside_the_batch)
        started.put(name)
        engine.jobs.execute_due(FIRE_AT, limit=VICTIM_LIMIT, worker_id=name, lease_seconds=VICTIM_LEASE)
        return
    started.put(name)
    go.wait()
    while engine.jobs.execute_due(FIRE_AT, limit=50, worker_id=name):
        pass
    engine.close()


def _count(engine, sql: str) -> list:
    with engine.db.connect() as conn:
        return conn.execute(text(sql)).all()


def test_four_workers_one_killed_every_timer_fires_exactly_once(engine, database_url):
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    ctx = multiprocessing.get_context("spawn")
    share = CASES // 4
    starters = [ctx.Process(target=_starter, args=(database_url, k * share, share)) for k in range(4)]
    for p in starters:
        p.start()
    for p in starters:
        p.join(300)
    assert len(engine.jobs.list()) == 4 * share

    started, go = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(database_url, f"w{i}", started, go, i == 0)) for i in range(4)]
    victim = procs[0]
    victim.start()
    assert started.get(timeout=120) == "w0"
    assert started.get(timeout=120) == "inside"  # w0 acquired its jobs and is writing its first batch
    for p in procs[1:]:
        p.start()
    for _ in procs[1:]:
        started.get(timeout=120)
    os.kill(victim.pid, signal.SIGKILL)
    go.set()  # the others run while the victim's leases are still held
    for p in procs:
        p.join(300)
    assert victim.exitcode == -signal.SIGKILL  # it really died in the middle of its work
    assert all(p.exitcode == 0 for p in procs[1:])

    # the dead worker's jobs: not lost, and nobody takes them while its lease holds
    leased = [j for j in engine.jobs.list(states=("PENDING",)) if j.activity_id == "cooling_off"]
    assert len(leased) == VICTIM_LIMIT and {j.lock_owner.split("/")[0] for j in leased} == {"w0"}
    expires = min(j.lock_expires for j in leased)
    assert datetime.now(UTC) < expires, "the workers took longer than the victim's lease: raise VICTIM_LEASE"
    assert engine.jobs.execute_due(FIRE_AT, worker_id="early") == []
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 0.2))
    cleanup = engine.jobs.execute_due(FIRE_AT, worker_id="cleanup")  # after the lease: picked up again
    assert [r.outcome for r in cleanup] == ["fired"] * VICTIM_LIMIT

    # exactly once, counted in the database
    n = 4 * share
    assert _count(engine, "SELECT state, activity_id, count(*) FROM job GROUP BY state, activity_id "
                          "ORDER BY state") == [("DONE", "cooling_off", n), ("PENDING", "review_timeout", n)]
    assert _count(engine, "SELECT count(*) FROM job WHERE lock_owner IS NOT NULL AND state <> 'PENDING'") == [(0,)]
    per_case = _count(engine, "SELECT instance_id, count(*) FROM task WHERE task_definition_key = 'review' "
                              "GROUP BY instance_id")
    assert len(per_case) == n and {c for _, c in per_case} == {1}  # one follow-up task per case
    executed = _count(engine, "SELECT payload FROM history_event WHERE event_type = 'JobExecuted'")
    assert len(executed) == n
    job_ids = {r[0] for r in _count(engine, "SELECT id FROM job WHERE activity_id = 'cooling_off'")}
    import json

    assert sorted(json.loads(p)["jobId"] for (p,) in executed) == sorted(job_ids)  # one per job, no two alike
    assert all(r.ok for r in engine.history.verify())  # every chain (every case, and the engine's own)
    by = dict(_count(engine, "SELECT executed_by, count(*) FROM job WHERE state = 'DONE' GROUP BY executed_by"))
    assert "w0" not in by  # the victim committed nothing
    assert len({"w1", "w2", "w3"} & set(by)) >= 2  # the work really was shared
