"""SpiffWorkflow's script engine, replaced: every condition, script, timer, multi-instance and DMN expression goes
through JUEL translation and the sandbox. SpiffWorkflow does not persist its script engine, so the runtime
re-attaches this one on every load (never the unrestricted default)."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError, ExpressionSyntaxError, ScriptError
from engine.scripting import juel
from engine.scripting.sandbox import Sandbox


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return self.sandbox.evaluate(juel.to_python(expression), context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        self.sandbox.execute(script, context, external_context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptError("service calls from scripts are not supported: use an external task", reason="forbidden")


def multi_instance_variables(task: Any) -> dict[str, Any]:
    """Camunda's nrOfInstances, nrOfActiveInstances, nrOfCompletedInstances and loopCounter for a task that is
    (a child of) a multi-instance activity."""
    parent = task if isinstance(task.task_spec, MultiInstanceTask) else task.parent
    if parent is None or not isinstance(parent.task_spec, MultiInstanceTask):
        return {}
    children = [c for c in parent.children if c.task_spec.name == parent.task_spec.task_spec]
    done = sum(1 for c in children if c.has_state(TaskState.COMPLETED))
    active = sum(1 for c in children if not c.has_state(TaskState.FINISHED_MASK))
    out = {"nrOfInstances": len(children), "nrOfCompletedInstances": done, "nrOfActiveInstances": active}
    if task is not parent and task in children:
        out["loopCounter"] = children.index(task)
    return out


class SandboxScriptEngine(PythonScriptEngine):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(environment=_SandboxEnvironment(sandbox))
        self.sandbox = sandbox

    def validate(self, expression: str) -> None:
        # SpiffWorkflow's DMN engine relies on SyntaxError here to tell "== value" from "< value" entries
        try:
            self.sandbox.check_expression(juel.to_python(expression))
        except ExpressionSyntaxError as exc:
            raise SyntaxError(exc.message) from None

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        extra = {**multi_instance_variables(task), **(external_context or {})}
        try:
            return self.environment.evaluate(expression, task.data, extra)
        except EngineError as exc:
            raise _task_error(task, f"expression '{expression}' failed: {exc.message}", exc) from exc
        except Exception as exc:
            raise _task_error(task, f"expression '{expression}' failed: {type(exc).__name__}: {exc}", exc) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        extra = {**multi_instance_variables(task), **(external_context or {})}
        try:
            return bool(self.environment.execute(script, task.data, extra))
        except EngineError as exc:
            raise _task_error(task, f"script failed: {exc.message}", exc) from exc
        except Exception as exc:
            raise _task_error(task, f"script failed: {type(exc).__name__}: {exc}", exc) from exc

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise _task_error(task, "service calls from scripts are not supported: use an external task",
                          ScriptError("service calls are not supported", reason="forbidden"))


def _task_error(task: Any, message: str, cause: Exception) -> WorkflowTaskException:
    error = cause if isinstance(cause, ScriptError) else ScriptError(message)
    exc = WorkflowTaskException(message, task=task, exception=error)
    return exc
