"""Deployment: versioning, validation, every bad input refused with file/element/line and nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DeploymentError
from engine.persistence.models import Deployment, ProcessDefinition
from tests.conftest import deploy_fixture, fixture_bytes

SAMPLE = "engine/sample_parallel_approval.bpmn"


def _counts(engine) -> tuple[int, int]:
    return engine.executor.read(lambda s: (
        s.scalar(select(func.count()).select_from(Deployment)),
        s.scalar(select(func.count()).select_from(ProcessDefinition)),
    ))


def _refused(engine, name: str, content: bytes) -> DeploymentError:
    before = _counts(engine)
    with pytest.raises(DeploymentError) as info:
        engine.repository.deploy([(name, content)])
    assert _counts(engine) == before, "an invalid deployment must change nothing"
    return info.value


def test_identical_content_is_not_redeployed_and_changes_make_a_new_version(engine):
    first = deploy_fixture(engine, SAMPLE)
    assert first.is_new and [d.version for d in first.definitions] == [1]
    case = engine.runtime.start("sample_parallel_approval", business_key="BK-1")
    again = deploy_fixture(engine, SAMPLE)
    assert not again.is_new and again.unchanged[0].id == first.definitions[0].id
    changed = fixture_bytes(SAMPLE).replace("窗口受理".encode(), "综合窗口受理".encode())
    second = engine.repository.deploy([("sample_parallel_approval.bpmn", changed)])
    assert [d.version for d in second.definitions] == [2]
    # the running case stays on version 1; new cases take version 2
    assert engine.runtime.instance(case.id).definition_id == first.definitions[0].id
    assert engine.runtime.start("sample_parallel_approval").definition_id == second.definitions[0].id
    assert engine.tasks.list(instance_id=case.id)[0].name == "窗口受理"
    assert _counts(engine) == (2, 2)


def test_malformed_xml_names_file_and_line(engine):
    err = _refused(engine, "broken.bpmn", b"<?xml version='1.0'?>\n<definitions>\n<process id='x'>\n</definitions>")
    assert err.problems[0].file == "broken.bpmn"
    assert err.problems[0].line is not None
    assert "malformed XML" in str(err)


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><definitions>&xxe;</definitions>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><d>&lol2;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><definitions/>',
])
def test_doctype_and_entities_are_refused(engine, doc):
    err = _refused(engine, "evil.bpmn", doc)
    assert "DOCTYPE" in str(err) or "malformed" in str(err)
    assert "root:" not in str(err)  # nothing of /etc/passwd leaked into the message


def _sample_with(old: str, new: str) -> bytes:
    content = fixture_bytes(SAMPLE).decode()
    assert old in content
    return content.replace(old, new, 1).encode()


def test_unknown_element_is_reported_with_line(engine):
    err = _refused(engine, "s.bpmn", _sample_with('<bpmn:endEvent id="end_rejected"', '<bpmn:fooTask id="foo" /><bpmn:endEvent id="end_rejected"'))
    assert any(p.line and "fooTask" in p.message for p in err.problems), err.problems


def test_missing_reference_is_reported(engine):
    err = _refused(engine, "s.bpmn", _sample_with('targetRef="end_rejected"', 'targetRef="nowhere"'))
    assert "s.bpmn" in str(err)


def test_expression_that_does_not_compile_names_the_element(engine):
    err = _refused(engine, "s.bpmn", _sample_with("${accepted}", "${accepted &amp;&amp;}"))
    assert any(p.element_id == "f_accepted" and p.line for p in err.problems), err.problems


def test_unsupported_camunda_features_are_refused_at_deploy_time(engine):
    doc = _sample_with('<bpmn:userTask id="deliver" name="办结出件" camunda:candidateGroups="window">',
                       '<bpmn:userTask id="deliver" name="办结出件" camunda:candidateGroups="window">'
                       '<bpmn:extensionElements><camunda:taskListener event="create" class="com.Foo" />'
                       '</bpmn:extensionElements>')
    err = _refused(engine, "s.bpmn", doc)
    assert any(p.element_id == "deliver" and "taskListener" in p.message for p in err.problems)
    doc = _sample_with('<bpmn:endEvent id="end_done" name="办结">',
                       '<bpmn:serviceTask id="java" camunda:class="com.example.Delegate" /><bpmn:endEvent id="end_done" name="办结">')
    err = _refused(engine, "s.bpmn", doc)
    assert any(p.element_id == "java" and "Java delegate" in p.message for p in err.problems)


def test_method_calls_in_expressions_are_refused(engine):
    doc = _sample_with('camunda:dueDate="P1D"', 'camunda:dueDate="${service.findDueDate(applicant)}"')
    err = _refused(engine, "s.bpmn", doc)
    assert any(p.element_id == "intake" and "method calls are not supported" in p.message for p in err.problems)


def test_camunda_date_chain_in_due_date_is_supported(engine, clock):
    doc = _sample_with('camunda:dueDate="P1D"', 'camunda:dueDate="${dateTime().plusWeeks(1).toDate()}"')
    engine.repository.deploy([("s.bpmn", doc)])
    engine.runtime.start("sample_parallel_approval")
    (task,) = engine.tasks.list()
    assert task.due == clock.now() + __import__("datetime").timedelta(weeks=1)


def test_non_executable_and_empty_inputs_are_refused(engine):
    err = _refused(engine, "s.bpmn", _sample_with('isExecutable="true"', 'isExecutable="false"'))
    assert "executable" in str(err)
    with pytest.raises(DeploymentError):
        engine.repository.deploy([])
    _refused(engine, "empty.bpmn", b"")
    _refused(engine, "text.bpmn", b"<html><body>hello</body></html>")
