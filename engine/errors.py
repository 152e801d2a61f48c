"""Typed engine errors. Every error a caller can see is one of these.

::

    EngineError
     ├── NotFound                      an id names nothing (task, instance, definition, deployment, message)
     ├── Conflict                      the state moved on; retrying the same request will not help
     │    ├── TaskAlreadyClaimed       someone else holds the task
     │    ├── TaskNotActive            the task is completed or cancelled
     │    ├── OptimisticLockConflict   concurrent change to the same case (after bounded retries)
     │    ├── ExternalTaskLockLost     an external task is not (or no longer) locked by the reporting worker
     │    └── SuspendedEntity          the case or definition is suspended
     ├── InvalidInput                  the request itself is wrong (bad variable, unknown user, ...)
     │    ├── DeploymentError          a deployment was refused; ``problems`` lists every finding
     │    └── ExpressionSyntaxError    an expression or script does not compile
     ├── Forbidden                     the user may not do this
     └── ScriptError                   a script or expression failed while running (sandbox refusal,
                                       time limit, runtime exception); the case goes to incident

Each error has ``message`` and machine fields in ``details``; web/ maps classes to HTTP status in one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EngineError(Exception):
    """Base of all engine errors."""

    code = "EngineError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(EngineError):
    code = "NotFound"


class Conflict(EngineError):
    code = "Conflict"


class TaskAlreadyClaimed(Conflict):
    code = "TaskAlreadyClaimed"


class TaskNotActive(Conflict):
    code = "TaskNotActive"


class OptimisticLockConflict(Conflict):
    code = "OptimisticLockingException"


class ExternalTaskLockLost(Conflict):
    """A worker reported on an external task it does not hold: another worker took it after the lock expired,
    it was unlocked, or it was never locked by this worker (Camunda's BadUserRequestException, HTTP 400)."""

    code = "BadUserRequestException"


class SuspendedEntity(Conflict):
    code = "SuspendedEntityInteractionException"


class InvalidInput(EngineError):
    code = "InvalidRequest"


class Forbidden(EngineError):
    code = "AuthorizationException"


@dataclass(frozen=True)
class Problem:
    """One finding in a deployment: where (file, element id, line) and what."""

    message: str
    file: str | None = None
    element_id: str | None = None
    line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        if self.element_id:
            where.append(f"element '{self.element_id}'")
        return (", ".join(where) + ": " if where else "") + self.message


class DeploymentError(InvalidInput):
    code = "ParseException"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"deployment refused: {lines}", problems=[str(p) for p in self.problems])


class ExpressionSyntaxError(InvalidInput):
    """An expression or script does not compile (JUEL or Python dialect, or refused by the sandbox policy)."""

    code = "ExpressionSyntaxError"

    def __init__(self, message: str, *, expression: str | None = None, line: int | None = None) -> None:
        super().__init__(message, expression=expression, line=line)
        self.expression = expression
        self.line = line


class ScriptError(EngineError):
    """A script or expression failed while running: sandbox refusal, time limit or a runtime exception."""

    code = "ScriptEvaluationException"

    def __init__(self, message: str, *, expression: str | None = None, reason: str = "error") -> None:
        super().__init__(message, expression=expression, reason=reason)
        self.expression = expression
        self.reason = reason  # "forbidden" | "timeout" | "error"
