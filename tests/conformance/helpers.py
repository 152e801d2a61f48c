"""Shared helpers of the conformance suite (third-party corpus under ``tests/fixtures/corpus``).

Every scenario is driven through the façade. ``cold_cache`` switches the engine's in-memory workflow cache off, so
every command really loads the case from the database and saves it back (the corpus expects the same behaviour
after a serialize -> deserialize round trip).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DeploymentError, Problem
from tests.conftest import FIXTURES, deploy_fixture

CORPUS = FIXTURES / "corpus"
SPIFF = "corpus/spiff"
CAMUNDA = "corpus/camunda"
MIWG = "corpus/miwg"

# RestrictedPython warns at compile time about scripts that call print(); the suite runs with warnings as errors.
PRINT_WARNING = "ignore:.*Prints, but never reads 'printed' variable:SyntaxWarning"

# A deploy problem must read as a sentence, not as a leaked Python exception or a repr of one.
RAW_EXCEPTION = re.compile(r"^[A-Z][A-Za-z]*(Error|Exception|Warning): ")
TUPLE_REPR = re.compile(r"\(\s*['\"].*['\"],\s*\)")


@pytest.fixture
def cold_cache(engine):  # type: ignore[no-untyped-def]
    """No workflow stays in memory between commands: each call deserializes the case from the database."""
    from engine.runtime.cases import WorkflowCache

    engine.services.workflows = WorkflowCache(size=0)
    return engine


def deploy(engine: Any, *paths: str) -> Any:
    return deploy_fixture(engine, *paths)


def active(engine: Any, instance_id: str, **query: Any) -> list[Any]:
    """Active tasks of a case, in a stable order (task name, then key, then id)."""
    return sorted(engine.tasks.list(instance_id=instance_id, **query),
                  key=lambda t: (t.name or "", t.task_definition_key, t.id))


def keys(tasks: list[Any]) -> list[str]:
    return sorted(t.task_definition_key for t in tasks)


def names(tasks: list[Any]) -> list[str]:
    return sorted(t.name or "" for t in tasks)


def one(engine: Any, instance_id: str, **query: Any) -> Any:
    tasks = engine.tasks.list(instance_id=instance_id, **query)
    assert len(tasks) == 1, [(t.name, t.task_definition_key) for t in tasks]
    return tasks[0]


def complete(engine: Any, instance_id: str, key: str, variables: dict[str, Any] | None = None,
             user: str = "tester") -> Any:
    """Complete the single active task with definition key ``key``."""
    task = one(engine, instance_id, task_definition_key=key)
    return engine.tasks.complete(task.id, user, variables or {})


def workflow_states(engine: Any, instance_id: str) -> dict[str, set[str]]:
    """Read-only look into the stored workflow: BPMN element id -> names of the states its task(s) are in.

    Used only where the façade cannot show the outcome (which boundary events / script tasks ran). It reads the
    case's serialized workflow from the database, exactly as a command would load it.
    """
    from SpiffWorkflow.util.task import TaskState

    from engine.persistence.models import ProcessInstance
    from engine.runtime import spiff

    def q(session: Any) -> dict[str, set[str]]:
        row = session.get(ProcessInstance, instance_id)
        model = engine.services.models.get(session, row.definition_id)
        wf = spiff.load(row.workflow_json, model, engine.services.script_engine)
        out: dict[str, set[str]] = {}
        for task in wf.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id:
                out.setdefault(bpmn_id, set()).add(TaskState.get_name(task.state))
        return out

    return engine.executor.read(q)


def ran(states: dict[str, set[str]], element_id: str) -> bool:
    return "COMPLETED" in states.get(element_id, set())


def refusal(engine: Any, *paths: str) -> list[Problem]:
    """Deploy ``paths`` expecting a refusal; check that nothing at all was stored; return the problems."""
    with pytest.raises(DeploymentError) as info:
        deploy(engine, *paths)
    assert info.value.problems, "a refused deployment must say why"
    assert engine.repository.definitions() == []
    assert engine.repository.deployments() == []
    return info.value.problems


def assert_named(problems: list[Problem], element_id: str | None, *fragments: str) -> None:
    """Some problem names ``element_id`` and contains every fragment (case-insensitive)."""
    for p in problems:
        if p.element_id == element_id and all(f.lower() in p.message.lower() for f in fragments):
            return
    listing = "\n".join(f"  {p.element_id}: {p.message}" for p in problems)
    raise AssertionError(f"no problem names {element_id!r} with {fragments!r}; got:\n{listing}")


def unclear(problems: list[Problem]) -> list[str]:
    """Problem messages that leak a Python exception (``KeyError: ...``) or a tuple repr instead of a sentence."""
    return [p.message for p in problems if RAW_EXCEPTION.search(p.message) or TUPLE_REPR.search(p.message)]


def file_name(path: str) -> str:
    return Path(path).name
