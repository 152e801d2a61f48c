"""OMG BPMN MIWG reference models (``tests/fixtures/corpus/miwg``): diagram-interchange files, mostly not
executable. Every file must either deploy or be refused with a ``DeploymentError`` whose problems name the file and
read as sentences - never another exception, never a traceback. ``OUTCOMES`` records what the engine does today
with each file (deployed keys, or the kinds of reasons for the refusal) so that any change shows up here.
"""

from __future__ import annotations

import pytest

from engine.errors import DeploymentError
from tests.conformance.helpers import CORPUS, MIWG, deploy, unclear

FILES = sorted(p.name for p in (CORPUS / "miwg").glob("*.bpmn"))

# kinds of refusal reasons, recognised by a fragment of the problem message
REASONS = {
    "not executable": "no executable process",
    "no implementation": 'needs camunda:type="external"',
    "XPath condition": "XPath expressions are not supported",
    "condition does not compile": "does not compile",
    "empty timer": "empty timeDate",
    "no decisionRef": "needs camunda:decisionRef",
    "FEEL language": "expression language",
    "flow without condition": "outgoing sequence flow without condition",
}

DEPLOYS = "deploys"
OUTCOMES: dict[str, tuple[str, frozenset[str]]] = {
    "A.1.0.bpmn": ("refused", frozenset({"not executable"})),
    "A.2.0.bpmn": ("refused", frozenset({"not executable"})),
    "A.2.1.bpmn": ("refused", frozenset({"XPath condition"})),
    "A.3.0.bpmn": ("refused", frozenset({"not executable"})),
    "A.4.0.bpmn": ("refused", frozenset({"not executable"})),
    "A.4.1.bpmn": ("refused", frozenset({"not executable"})),
    "B.1.0.bpmn": ("refused", frozenset({"no implementation", "empty timer"})),
    "B.2.0.bpmn": ("refused", frozenset({"no implementation", "empty timer"})),
    "C.1.0.bpmn": ("refused", frozenset({"no implementation"})),
    "C.1.1.bpmn": ("refused", frozenset({"no implementation", "condition does not compile"})),
    "C.2.0.bpmn": ("refused", frozenset({"not executable"})),
    "C.3.0.bpmn": ("refused", frozenset({"condition does not compile"})),
    "C.4.0.bpmn": ("refused", frozenset({"no implementation"})),
    "C.5.0.bpmn": ("refused", frozenset({"flow without condition"})),
    "C.6.0.bpmn": ("refused", frozenset({"no implementation", "empty timer"})),
    "C.7.0.bpmn": ("refused", frozenset({"no implementation", "no decisionRef"})),
    "C.8.0.bpmn": ("refused", frozenset({"no implementation", "no decisionRef", "condition does not compile"})),
    "C.8.1.bpmn": ("refused", frozenset({"no implementation", "no decisionRef", "FEEL language"})),
    "C.9.0.bpmn": ("refused", frozenset({"no implementation", "no decisionRef", "condition does not compile"})),
    "C.9.1.bpmn": (DEPLOYS, frozenset({"requestDocument_en"})),
    "C.9.2.bpmn": ("refused", frozenset({"no implementation", "condition does not compile"})),
}


def _deploy(engine, name):  # type: ignore[no-untyped-def]
    """(result, problems): exactly one of them is set. Any exception other than DeploymentError fails the test."""
    try:
        return deploy(engine, f"{MIWG}/{name}"), None
    except DeploymentError as exc:
        return None, exc.problems
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{name}: deploy raised {type(exc).__name__} instead of DeploymentError: {exc}")


def _kinds(problems) -> frozenset[str]:  # type: ignore[no-untyped-def]
    return frozenset(kind for p in problems for kind, fragment in REASONS.items() if fragment in p.message)


def test_outcome_table_covers_every_file():
    assert len(FILES) == 21
    assert sorted(OUTCOMES) == FILES


@pytest.mark.parametrize("name", FILES)
def test_deploy_outcome_is_unchanged(engine, name):
    result, problems = _deploy(engine, name)
    expected_kind, expected = OUTCOMES[name]
    if result is not None:
        assert expected_kind == DEPLOYS, f"{name} deployed but the table says it is refused for {sorted(expected)}"
        assert frozenset(d.key for d in result.definitions) == expected
        return
    assert problems, "a refusal must give its reasons"
    assert expected_kind == "refused", f"{name} is now refused: {[str(p) for p in problems]}"
    assert _kinds(problems) == expected, [str(p) for p in problems]
    assert engine.repository.definitions() == [] and engine.repository.deployments() == []


@pytest.mark.parametrize("name", FILES)
def test_every_problem_names_the_file(engine, name):
    result, problems = _deploy(engine, name)
    if result is not None:
        assert result.definitions, f"{name} deployed nothing"
        return
    assert problems
    assert [str(p) for p in problems if p.file != name] == []


@pytest.mark.parametrize("name", FILES)
def test_problems_read_as_sentences(engine, name):
    result, problems = _deploy(engine, name)
    if result is not None:
        assert result.definitions, f"{name} deployed nothing"
        return
    assert problems
    assert unclear(problems) == []
    assert all("Traceback" not in p.message for p in problems)
