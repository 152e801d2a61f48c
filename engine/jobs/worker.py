"""APScheduler as the alarm clock of a process that runs jobs (``onewindow worker``; later the web server in
embedded mode).

One date trigger is set to the next due job and re-armed after every run and whenever this process commits new
jobs (``Executor.on_job_scheduled``); a slow interval sweep picks up jobs created by other processes. There is no
fast polling: an idle worker wakes once per sweep. On start the worker fires everything that fell due while it
was down (catch-up), each job once, as always."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class JobWorker:
    def __init__(self, engine: Any, *, worker_id: str | None = None, sweep_seconds: float = 30.0,
                 batch: int = 200, lease_seconds: float | None = None) -> None:
        self.engine = engine
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.sweep_seconds = sweep_seconds
        self.batch = batch  # jobs acquired (leased) at a time
        self.lease_seconds = lease_seconds
        self.fired = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        self.engine.executor.on_job_scheduled = self.wake_at
        self._scheduler.add_job(self.run_due, "interval", seconds=self.sweep_seconds, id="sweep",
                                max_instances=1, coalesce=True)
        self._scheduler.start()
        self.wake_at(datetime.now(UTC))  # catch-up: what fell due while no worker ran

    def stop(self) -> None:
        """Stop, after the run under way (if any) has finished. Not ``shutdown(wait=True)``: APScheduler holds its
        job-store lock while it waits for running jobs, and a run re-arming the alarm needs that lock (a deadlock);
        so the scheduler stops without waiting, a run under way sees ``_stopping`` (it re-arms nothing), and the
        run lock tells when it is over."""
        self.engine.executor.on_job_scheduled = None
        self._stopping = True
        self._scheduler.shutdown(wait=False)
        with self._lock:
            pass

    def wake_at(self, due: datetime) -> None:
        """Set the alarm to ``due`` unless it is already set earlier."""
        if self._stopping:
            return
        run_date = max(due, datetime.now(UTC))
        current = self._scheduler.get_job("alarm")
        if current is not None and current.next_run_time is not None and current.next_run_time <= run_date:
            return
        # max_instances=2: an alarm re-armed by a run under way (a job created meanwhile) may fire before that run
        # ends; it then returns at once (the run lock) instead of APScheduler logging "maximum number of running
        # instances reached" - the run under way re-arms from next_due() when it ends.
        self._scheduler.add_job(self.run_due, "date", run_date=run_date, id="alarm", replace_existing=True,
                                misfire_grace_time=None, max_instances=2)

    def run_due(self) -> None:
        if self._stopping or not self._lock.acquire(blocking=False):
            return  # stopping, or a run is under way (it re-arms the alarm when it ends)
        try:
            while True:
                results = self.engine.jobs.execute_due(limit=self.batch, worker_id=self.worker_id,
                                                       lease_seconds=self.lease_seconds)
                self.fired += sum(1 for r in results if r.outcome == "fired")
                for r in results:
                    if r.outcome in ("failed", "incident"):
                        log.warning("job %s %s: %s", r.job_id, r.outcome, r.message)
                # a full batch: more may be due; a batch of only suspended or skipped jobs: stop (no spinning)
                if len(results) < self.batch or all(r.outcome in ("suspended", "skipped") for r in results):
                    break
            nxt = self.engine.jobs.next_due()
        except Exception:  # noqa: BLE001 - a worker must survive a bad moment of the database; the sweep retries
            log.exception("running due jobs failed")
            nxt = datetime.now(UTC) + timedelta(seconds=min(5.0, self.sweep_seconds))
        finally:
            self._lock.release()
        if nxt is not None and not self._stopping:
            self.wake_at(nxt)
