"""Leases, with real processes: a worker paused (SIGSTOP) past its lease does not fire a job another worker fired
in the meantime; while its lease holds, nobody else takes the job; a paused worker holds no lock that stops the
others (it is stopped before its writes)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.conftest import deploy_fixture

FIRE_AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
LEASE = 1.5


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def _paused_worker(url: str, pause_at: str, out: "multiprocessing.connection.Connection") -> None:
    """Acquire the due job with a short lease, then stop itself (SIGSTOP) at ``pause_at``:

    * ``before-execution``: the lease is committed, the firing transaction has not begun;
    * ``mid-computation``: inside the firing transaction, the job row read (PENDING, leased to us), about to load
      the case and fire its timer — nothing written yet."""
    from sqlalchemy import event

    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    state = {"acquired": False, "paused": False}

    def pause(conn, cursor, statement, params, context, executemany):
        s = statement.lstrip().upper()
        if s.startswith("UPDATE JOB"):
            state["acquired"] = True
            return
        if not state["acquired"] or state["paused"]:
            return
        hit = (pause_at == "before-execution" and s.startswith("SELECT") and "FROM JOB" in s) or \
              (pause_at == "mid-computation" and s.startswith("SELECT") and "FROM PROCESS_INSTANCE" in s)
        if hit:
            state["paused"] = True
            out.send("paused")  # a pipe write, done before we stop (a Queue writes later)
            os.kill(os.getpid(), signal.SIGSTOP)  # resumed by the test with SIGCONT

    event.listen(engine.db, "before_cursor_execute", pause)
    results = engine.jobs.execute_due(FIRE_AT, worker_id="A", lease_seconds=LEASE)
    out.send([(r.job_id, r.outcome) for r in results])
    engine.close()


@pytest.mark.parametrize("pause_at", ["before-execution", "mid-computation"])
def test_worker_paused_past_its_lease_does_not_fire_again(engine, database_url, pause_at):
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    case = engine.runtime.start("review_with_timers", business_key="LEASE-1")
    (job,) = engine.jobs.list()

    ctx = multiprocessing.get_context("spawn")
    out, child_end = ctx.Pipe(duplex=False)
    a = ctx.Process(target=_paused_worker, args=(database_url, pause_at, child_end))
    a.start()
    try:
        assert out.poll(120) and out.recv() == "paused"
        deadline = time.monotonic() + 10
        while not _stopped(a.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _stopped(a.pid)
        (leased,) = engine.jobs.list()
        assert leased.lock_owner.startswith("A/") and leased.lock_expires > datetime.now(UTC)
        assert leased.as_json()["lockOwner"] == leased.lock_owner

        # while A's lease holds, B gets nothing
        assert engine.jobs.execute_due(FIRE_AT, worker_id="B") == []
        time.sleep(max(0.0, (leased.lock_expires - datetime.now(UTC)).total_seconds() + 0.1))
        # A's lease expired: B acquires and fires the job while A is still stopped
        assert [(r.job_id, r.outcome) for r in engine.jobs.execute_due(FIRE_AT, worker_id="B")] == [
            (job.id, "fired")]
    finally:
        os.kill(a.pid, signal.SIGCONT)
    assert out.poll(120)
    a_results = out.recv()
    a.join(60)
    assert a.exitcode == 0
    assert a_results == [(job.id, "skipped")]  # A resumed, found the job no longer its own, committed nothing

    with engine.db.connect() as conn:
        rows = conn.execute(text("SELECT state, executed_by, attempts, lock_owner FROM job WHERE id = :j"),
                            {"j": job.id}).all()
        executed = conn.execute(text("SELECT count(*) FROM history_event WHERE event_type = 'JobExecuted' "
                                     "AND chain = :c"), {"c": case.id}).scalar()
    assert rows == [("DONE", "B", 1, None)]
    assert executed == 1
    assert [t.task_definition_key for t in engine.tasks.list(instance_id=case.id)] == ["review"]
    assert all(r.ok for r in engine.history.verify(case.id))


def test_a_lease_is_taken_only_by_one_of_two_racing_acquirers(engine):
    """Two acquisitions at once: each job is leased to exactly one of them (the rows are locked as they are
    taken: PostgreSQL skips rows another acquisition holds, SQLite has one writer)."""
    import threading

    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    for i in range(30):
        engine.runtime.start("review_with_timers", business_key=f"RACE-{i}")
    barrier = threading.Barrier(2)
    got: list = [None, None]

    def take(i):
        barrier.wait()
        got[i] = engine.jobs.acquire(FIRE_AT, limit=20, worker_id=f"w{i}")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [a.id for _, acquired in got for a in acquired]
    assert len(ids) == 30 and len(set(ids)) == 30
    owners = {j.id: j.lock_owner for j in engine.jobs.list()}
    for owner, acquired in got:
        assert all(owners[a.id] == owner for a in acquired)
    # a job whose lease is held is not fired by anyone else; its owner fires it
    owner, acquired = got[0]
    assert engine.jobs.execute_due(FIRE_AT, worker_id="other") == []
    assert {r.outcome for r in engine.jobs.fire(acquired, owner, worker_id="w0")} == {"fired"}
    assert {r.outcome for r in engine.jobs.fire(got[1][1], "not-the-owner", worker_id="x")} == {"skipped"}
    assert len(engine.jobs.list(states=("DONE",))) == len(acquired)
    assert timedelta(0) < min(j.lock_expires for j in engine.jobs.list() if j.lock_owner) - datetime.now(UTC)
