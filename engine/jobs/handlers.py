"""Job types beyond BPMN timers (deadline warnings and timeouts, task-listener timeouts, outbox deliveries...).

A module that owns a job type registers a handler here at import time::

    @handler("task-timeout")
    def _fire(uow, job, worker_id) -> str: ...

``executor.fire_job`` calls it inside the job's transaction, after it has locked the job and checked that it is
PENDING and due. The handler does the job's effect and returns ``"fired"`` or ``"cancelled"`` (the effect no
longer applies, e.g. the task ended first), or ``"suspended"`` to leave the job PENDING (its case is suspended).
The executor then marks the job DONE or CANCELLED and records ``JobExecuted``/``JobCancelled`` — in the same
transaction as the effect, so a handler runs at most once per job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any, "str | None"], str]
HANDLERS: dict[str, Handler] = {}


def handler(job_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[job_type] = fn
        return fn
    return register
