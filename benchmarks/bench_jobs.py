"""Job benchmark (not a test): timer fire delay on an idle system, and throughput of many due timers fired by
several worker processes.

    python benchmarks/bench_jobs.py [--database-url URL] [--delay-samples 40] [--timers 2000] [--workers 4]
                                    [--acquire 100] [--batch 20] [--profile FILE]

Fire delay: one worker (APScheduler alarm clock, real wall time) in this process; cases with a PT1S timer are
started one every 0.25 s; delay = when the job's transaction ran - the timer's due time.
Throughput: ``--timers`` cases wait on a timer that is already due; ``--workers`` processes fire them
(``engine.jobs.execute_due``: each acquires ``--acquire`` due jobs under a lease and fires them ``--batch`` per
transaction); rate = timers / wall time from start to the last commit. ``--profile FILE``: cProfile of worker 0
(its own process) written to FILE. Worker 0 also counts the SQL statements it sends (``before_cursor_execute``;
an executemany counts once) and its CPU time, per timer it fired. ``calibration``: seconds a fixed pure-Python
loop takes on one core and on each of two cores at once, before and after (as in bench_approval.py: a shared
machine varies from hour to hour; compare runs by these).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.bootstrap import build_engine  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.settings import Settings  # noqa: E402

QUICK = ROOT / "tests" / "fixtures" / "jobs" / "quick_timer.bpmn"
REVIEW = ROOT / "tests" / "fixtures" / "jobs" / "review_with_timers.bpmn"
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
FIRE_AT = START + timedelta(hours=3)


def fire_delay(url: str, samples: int) -> dict[str, float]:
    from engine.jobs.worker import JobWorker

    engine = build_engine(Settings(database_url=url))
    engine.repository.deploy_files([QUICK])
    worker = JobWorker(engine, worker_id="bench", sweep_seconds=3600)
    worker.start()
    cases = []
    for _ in range(samples):
        cases.append(engine.runtime.start("quick_timer").id)
        time.sleep(0.25)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and worker.fired < samples:
        time.sleep(0.1)
    worker.stop()
    delays = []
    for case_id in cases:
        for job in engine.jobs.list(states=("DONE",), instance_id=case_id):
            if job.activity_id == "cooling_off":
                delays.append((job.executed_at - job.due).total_seconds())
    engine.close()
    delays.sort()
    p99 = delays[min(len(delays) - 1, int(round(0.99 * (len(delays) - 1))))]
    return {"samples": len(delays), "p50_s": round(statistics.median(delays), 3), "p99_s": round(p99, 3),
            "max_s": round(delays[-1], 3)}


def _starter(url: str, first: int, count: int) -> None:
    engine = build_engine(Settings(database_url=url), clock=FrozenClock(START))
    for i in range(first, first + count):
        engine.runtime.start("review_with_timers", business_key=f"J-{i}")
    engine.close()


def _firer(url: str, name: str, go: Any, done: Any, acquire: int, batch: int, profile: str | None,
           count: bool = False) -> None:
    engine = build_engine(Settings(database_url=url))
    engine.jobs.batch_size = batch
    fired = 0
    statements = [0]
    if count:
        from sqlalchemy import event

        def _count(*_: Any) -> None:
            statements[0] += 1

        event.listen(engine.db, "before_cursor_execute", _count)
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    go.wait()
    cpu = time.process_time()
    if prof is not None:
        prof.enable()
    while True:
        results = engine.jobs.execute_due(FIRE_AT, limit=acquire, worker_id=name)
        if not results:
            break
        fired += sum(1 for r in results if r.outcome == "fired")
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    cpu = time.process_time() - cpu
    done.put((fired, time.perf_counter(), {"statements_per_timer": round(statements[0] / max(fired, 1), 2),
                                           "cpu_ms_per_timer": round(1000 * cpu / max(fired, 1), 2)} if count else None))
    engine.close()


def throughput(url: str, timers: int, workers: int, acquire: int = 100, batch: int = 20,
               profile: str | None = None) -> dict[str, Any]:
    engine = build_engine(Settings(database_url=url), clock=FrozenClock(START))
    engine.repository.deploy_files([REVIEW])
    engine.close()
    ctx = multiprocessing.get_context("spawn")
    share = timers // workers
    starters = [ctx.Process(target=_starter, args=(url, k * share, share)) for k in range(workers)]
    for p in starters:
        p.start()
    for p in starters:
        p.join()
    go, done = ctx.Event(), ctx.Queue()
    firers = [ctx.Process(target=_firer, args=(url, f"w{k}", go, done, acquire, batch, profile if k == 0 else None,
                                               k == 0)) for k in range(workers)]
    for p in firers:
        p.start()
    time.sleep(3)  # let every worker import and connect
    t0 = time.perf_counter()
    go.set()
    results = [done.get(timeout=3600) for _ in firers]
    for p in firers:
        p.join()
    elapsed = max(t for _, t, _ in results) - t0
    fired = sum(f for f, _, _ in results)
    worker0 = next(w for _, _, w in results if w is not None)
    return {"timers": share * workers, "workers": workers, "acquire": acquire, "batch": batch, "fired": fired,
            "seconds": round(elapsed, 2),
            "timers_per_s": round(fired / elapsed, 1), "per_worker": sorted(f for f, _, _ in results),
            "worker0": worker0}


def _loop(_: int = 0) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(20_000_000):
        x += i * i
    return round(time.perf_counter() - t0, 2)


def calibration() -> dict[str, Any]:
    """The same fixed loop as bench_approval.py: on one core, and on each of two cores at once."""
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        both = pool.map(_loop, [0, 1])
    return {"one_core_s": _loop(), "two_cores_s": both}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    ap.add_argument("--delay-samples", type=int, default=40)
    ap.add_argument("--timers", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--acquire", type=int, default=100, help="jobs a worker leases at a time")
    ap.add_argument("--batch", type=int, default=20, help="timers fired per transaction")
    ap.add_argument("--profile", help="write worker 0's cProfile stats here")
    ap.add_argument("--skip-delay", action="store_true", help="only the throughput part")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    before = calibration()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/jobs.db"
        result = {"database": url.split(":", 1)[0], "calibration_before": before,
                  "fire_delay": None if args.skip_delay else fire_delay(url, args.delay_samples),
                  "throughput": throughput(url, args.timers, args.workers, args.acquire, args.batch, args.profile)}
    result["calibration_after"] = calibration()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
