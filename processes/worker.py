"""A small in-process external-task worker for the automatic steps of the service items.

A handler is ``handler(engine, task) -> dict`` (``task``: ``engine.types.ExternalTaskView`` with the case's
variables); the dict becomes process variables when the task is completed. A handler that raises reports a failure
(retries count down from ``RETRIES``; at 0 the task becomes an incident an operator retries). Real deployments may
run the same handlers behind any Camunda 7 external-task client (docs/rest.md); the engine does not know them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Handler = Callable[[Any, Any], dict[str, Any] | None]
RETRIES = 3
LOCK_MS = 60_000


# Handlers every item may use. (补正 after acceptance is not an automatic step: the reviewer asks for it on the
# task, ``engine.tasks.request_correction``, which stops the case clock until ``correction_received``.)
COMMON_HANDLERS: dict[str, Handler] = {}


def run_once(engine: Any, handlers: Mapping[str, Handler], *, worker_id: str = "onewindow-worker",
             max_tasks: int = 20) -> int:
    """Fetch and lock up to ``max_tasks`` tasks of the handlers' topics, run each handler, complete or report the
    failure. Returns how many tasks were completed."""
    if not handlers:
        return 0
    tasks = engine.external_tasks.fetch_and_lock(worker_id, [(t, LOCK_MS) for t in handlers], max_tasks=max_tasks)
    done = 0
    for task in tasks:
        try:
            result = handlers[task.topic](engine, task) or {}
        except Exception as exc:  # noqa: BLE001 - any failure of a handler is reported to the engine
            left = (task.retries if task.retries is not None else RETRIES) - 1
            engine.external_tasks.failure(task.id, worker_id, error_message=f"{type(exc).__name__}: {exc}"[:500],
                                          retries=max(0, left), retry_timeout=0)
            continue
        engine.external_tasks.complete(task.id, worker_id, variables=result)
        done += 1
    return done


def drain(engine: Any, handlers: Mapping[str, Handler], *, worker_id: str = "onewindow-worker",
          rounds: int = 50) -> int:
    """``run_once`` until nothing is left to do (or ``rounds`` passes); the total completed."""
    total = 0
    for _ in range(rounds):
        n = run_once(engine, handlers, worker_id=worker_id)
        total += n
        if n == 0:
            break
    return total
