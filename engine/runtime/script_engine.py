"""SpiffWorkflow's script engine, replaced: every condition, script, timer, multi-instance and DMN expression goes
through JUEL translation and the sandbox. SpiffWorkflow does not persist its script engine, so the runtime
re-attaches this one on every load (never the unrestricted default).

Failures become SpiffWorkflow's ``WorkflowTaskException`` (so SpiffWorkflow leaves the task in ERROR) whose
``exception`` is our ``ScriptError`` (or ``ExpressionSyntaxError`` for text that does not compile).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError, ExpressionSyntaxError, ScriptError
from engine.scripting import juel
from engine.scripting.sandbox import Sandbox

MI_VARIABLES = ("nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances", "loopCounter")


class InvalidExpression(ExpressionSyntaxError, SyntaxError):
    """What ``validate`` raises: our error, and a ``SyntaxError`` (with a line number) for SpiffWorkflow's DMN
    engine, which tells ``"A"`` from ``< 5`` input entries by catching SyntaxError."""

    def __init__(self, error: ExpressionSyntaxError) -> None:
        ExpressionSyntaxError.__init__(self, error.message, expression=error.expression, line=error.line)
        self.lineno = error.line or 1
        self.msg = error.message


@lru_cache(maxsize=4096)
def expression_source(text: str) -> str:
    """Python source for an expression in either dialect. Text starting with ``${``/``#{`` is JUEL; other text
    with ``${``/``#{`` is JUEL only when it is not already Python (a translated ``juel_eq(a, '${b}')`` stays)."""
    stripped = text.strip()
    if not juel.is_juel(stripped):
        return text
    if not stripped.startswith(("${", "#{")):
        try:
            ast.parse(stripped, mode="eval")
            return text
        except SyntaxError:
            pass
    return juel.to_python(stripped)


@lru_cache(maxsize=1024)
def script_source(script: str) -> tuple[str, bool]:
    """(source, is_expression): a script that is one JUEL ``${...}`` runs as an expression, for its effect."""
    stripped = script.strip()
    if stripped.startswith(("${", "#{")) and stripped.endswith("}"):
        return juel.to_python(stripped), True
    return script, False


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """The environment SpiffWorkflow's base class would use; here only a thin adapter over the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return self.sandbox.evaluate(expression_source(expression), context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        source, is_expression = script_source(script)
        if is_expression:
            self.sandbox.evaluate(source, context, external_context)
        else:
            self.sandbox.execute(source, context, external_context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptError("service calls from scripts are not supported: use an external task", reason="forbidden")


def _is_timer_event(task: Any) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def multi_instance_variables(task: Any) -> dict[str, Any]:
    """Camunda's nrOfInstances, nrOfActiveInstances, nrOfCompletedInstances and (for an instance) loopCounter, for
    a multi-instance activity or one of its instances; {} for any other task."""
    mi = task if isinstance(task.task_spec, MultiInstanceTask) else task.parent
    if mi is None or not isinstance(mi.task_spec, MultiInstanceTask):
        return {}
    instances = [c for c in mi.children if c.task_spec.name == mi.task_spec.task_spec]
    done = sum(1 for c in instances if c.has_state(TaskState.COMPLETED))
    active = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
    total = len(instances)
    if "remaining" in mi.internal_data:  # sequential over a collection: instances are created one at a time
        total += len(mi.internal_data["remaining"])
    elif "cardinality" in mi.internal_data:  # sequential with a cardinality
        total = max(total, int(mi.internal_data["cardinality"]))
    out = {"nrOfInstances": total, "nrOfCompletedInstances": done, "nrOfActiveInstances": active}
    if task is not mi and task in instances:
        out["loopCounter"] = instances.index(task)
    return out


class SandboxScriptEngine(PythonScriptEngine):
    """``PythonScriptEngine`` whose every expression and script is JUEL-translated and run by the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(environment=_SandboxEnvironment(sandbox))
        self.sandbox = sandbox

    def validate(self, expression: str) -> None:
        try:
            self.sandbox.check_expression(expression_source(expression))
        except ExpressionSyntaxError as exc:
            raise InvalidExpression(exc) from None

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        extra = {**multi_instance_variables(task), **(external_context or {})}
        try:
            value = self.environment.evaluate(expression, task.data, extra)
            if isinstance(value, datetime) and _is_timer_event(task):
                # a timer's timeDate may be a date-time (e.g. ${workdays(5)}); SpiffWorkflow parses ISO text only
                value = value.isoformat() if value.tzinfo is not None else value.replace(tzinfo=UTC).isoformat()
            return value
        except EngineError as exc:
            raise _task_error(task, f"expression '{_short(expression)}' failed: {exc.message}", exc)
        except Exception as exc:  # defensive: the sandbox converts everything it runs
            raise _task_error(task, f"expression '{_short(expression)}' failed: {type(exc).__name__}: {exc}",
                              exc)

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        extra = {**multi_instance_variables(task), **(external_context or {})}
        try:
            return bool(self.environment.execute(script, task.data, extra))
        except EngineError as exc:
            raise _task_error(task, f"script failed: {exc.message}", exc)
        except Exception as exc:  # defensive: the sandbox converts everything it runs
            raise _task_error(task, f"script failed: {type(exc).__name__}: {exc}", exc)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        error = ScriptError("service calls from scripts are not supported: use an external task", reason="forbidden")
        raise _task_error(task, error.message, error)


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _task_error(task: Any, message: str, cause: Exception) -> WorkflowTaskException:
    """The exception SpiffWorkflow expects (it puts the task in ERROR). Its ``exception`` attribute and its
    ``__cause__`` are a ScriptError (SpiffWorkflow only keeps the class name of the ``exception`` argument)."""
    if isinstance(cause, ScriptError):
        error = cause
    else:
        error = ScriptError(message, expression=getattr(cause, "expression", None))
        error.__cause__ = cause
    wte = WorkflowTaskException(message, task=task, exception=error)
    wte.exception = error
    wte.__cause__ = error
    return wte
