"""SandboxScriptEngine (engine/runtime/script_engine.py) driving real SpiffWorkflow runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import ExpressionSyntaxError, ScriptError
from engine.runtime.script_engine import SandboxScriptEngine, expression_source, multi_instance_variables
from engine.scripting.sandbox import Sandbox

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example">')

ROUTING = HEAD + """
  <bpmn:process id="routing" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:scriptTask id="prepare" name="Prepare">
      <bpmn:script>
    label = f"{type}-{amount}"
    checked = True
      </bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw"/>
    <bpmn:sequenceFlow id="to_big" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression>${amount &gt; 1000 &amp;&amp; type == 'A'}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_small" sourceRef="gw" targetRef="small">
      <bpmn:conditionExpression>${!(amount &gt; 1000 &amp;&amp; type == 'A')}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="big" name="Big"/>
    <bpmn:userTask id="small" name="Small"/>
    <bpmn:sequenceFlow id="f3" sourceRef="big" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="small" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

SCRIPT = HEAD + """
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="run"/>
    <bpmn:scriptTask id="run" name="Run"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="run" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

VOTE = HEAD + """
  <bpmn:process id="vote" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="reviewers" camunda:elementVariable="reviewer">
        <bpmn:completionCondition>${nrOfCompletedInstances/nrOfInstances &gt;= 0.6}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

SEQUENTIAL = HEAD + """
  <bpmn:process id="seq" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
    <bpmn:userTask id="step" name="Step">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>${rounds}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def start(xml: str, process: str, data: dict[str, Any], *, camunda: bool = False,
          sandbox: Sandbox | None = None) -> BpmnWorkflow:
    parser = CamundaParser() if camunda else BpmnParser()
    parser.add_bpmn_str(xml.encode())
    spec = parser.get_spec(process)
    wf = BpmnWorkflow(spec, parser.get_subprocess_specs(process),
                      script_engine=SandboxScriptEngine(sandbox or Sandbox(time_limit=0.5)))
    wf.get_next_task(spec_name="start").data.update(data)
    return wf


def ready_names(wf: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)]


@pytest.mark.parametrize("data, route", [
    ({"amount": 1500, "type": "A"}, "big"),
    ({"amount": "1500", "type": "A"}, "big"),  # a form value arrives as text; JUEL compares numbers
    ({"amount": 1500, "type": "B"}, "small"),
    ({"amount": 999, "type": "A"}, "small"),
])
def test_juel_gateway_conditions_route_at_run_time(data: dict[str, Any], route: str) -> None:
    wf = start(ROUTING, "routing", data)
    wf.do_engine_steps()
    assert ready_names(wf) == [route]
    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    assert task.data["checked"] is True and task.data["label"] == f"{data['type']}-{data['amount']}"
    assert not {"juel_get", "juel_eq", "datetime", "_getattr_", "__builtins__"} & set(task.data)
    task.run()
    wf.do_engine_steps()
    assert wf.is_completed()


def test_mi_completion_condition_cancels_the_remaining_instances() -> None:
    wf = start(VOTE, "vote", {"reviewers": ["a", "b", "c", "d", "e"]}, camunda=True)
    wf.do_engine_steps()
    instances = wf.get_tasks(state=TaskState.READY, manual=True)
    assert len(instances) == 5
    assert multi_instance_variables(instances[3]) == {
        "nrOfInstances": 5, "nrOfCompletedInstances": 0, "nrOfActiveInstances": 5, "loopCounter": 3}
    for done, task in enumerate(instances[:3], start=1):
        assert not wf.is_completed()
        task.run()
        wf.do_engine_steps()
        if done < 3:
            assert multi_instance_variables(instances[4])["nrOfCompletedInstances"] == done
    assert [t.state for t in instances] == [TaskState.COMPLETED] * 3 + [TaskState.CANCELLED] * 2
    assert wf.is_completed()
    mi = instances[0].parent
    assert multi_instance_variables(mi) == {"nrOfInstances": 5, "nrOfCompletedInstances": 3,
                                            "nrOfActiveInstances": 0}


def test_sequential_mi_counts_instances_not_yet_created() -> None:
    wf = start(SEQUENTIAL, "seq", {"rounds": 3})
    wf.do_engine_steps()
    first = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    assert multi_instance_variables(first) == {
        "nrOfInstances": 3, "nrOfCompletedInstances": 0, "nrOfActiveInstances": 1, "loopCounter": 0}
    engine = wf.script_engine
    assert engine.evaluate(first, "${loopCounter + 1 == 1 && nrOfInstances == 3}") is True
    first.run()
    wf.do_engine_steps()
    second = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    assert multi_instance_variables(second)["loopCounter"] == 1
    assert multi_instance_variables(second)["nrOfCompletedInstances"] == 1


def test_escape_in_a_script_task_leaves_the_task_in_error_and_no_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    wf = start(SCRIPT.replace("{script}", f"__import__('os').system('touch {marker}')"), "scripted", {})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert not marker.exists()
    task = wf.get_next_task(spec_name="run")
    assert task is not None and task.state == TaskState.ERROR
    assert isinstance(err.value.exception, ScriptError)
    assert isinstance(err.value.exception.__cause__, ExpressionSyntaxError)
    assert "__import__" in str(err.value)


@pytest.mark.parametrize("script, reason, needle", [
    ("x = 1\ny = x / 0", "error", "ZeroDivisionError: division by zero on line 2: y = x / 0"),
    ("while True:\n    pass", "timeout", "time limit"),
    ("x = 'a' * 10 ** 10", "forbidden", "too large"),
    ("y = missing + 1", "error", "NameError"),
])
def test_script_failures_put_the_task_in_error(script: str, reason: str, needle: str) -> None:
    wf = start(SCRIPT.replace("{script}", script), "scripted", {})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    task = wf.get_next_task(spec_name="run")
    assert task is not None and task.state == TaskState.ERROR
    cause = err.value.exception
    assert isinstance(cause, ScriptError) and cause.reason == reason and needle in cause.message
    assert needle in str(err.value)


def test_failing_condition_is_a_task_exception_with_our_cause() -> None:
    wf = start(ROUTING, "routing", {"amount": "lots", "type": "A"})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert isinstance(err.value.exception, ScriptError)
    assert "cannot coerce 'lots' to a number" in str(err.value) and "amount > 1000" in str(err.value)


def test_validate_reports_syntax_errors_as_both_kinds() -> None:
    engine = SandboxScriptEngine(Sandbox())
    engine.validate("x > 1")
    engine.validate("${amount > 1000 && type == 'A'}")
    for bad in ("${a >}", "< 5", "__import__('os')"):
        with pytest.raises(SyntaxError) as err:
            engine.validate(bad)
        assert isinstance(err.value, ExpressionSyntaxError) and err.value.lineno is not None


def test_call_service_is_refused_clearly() -> None:
    wf = start(SCRIPT.replace("{script}", "x = 1"), "scripted", {})
    task = wf.get_next_task(spec_name="start")
    with pytest.raises(WorkflowTaskException) as err:
        wf.script_engine.call_service(task, operation_name="send", operation_params={})
    assert isinstance(err.value.exception, ScriptError) and err.value.exception.reason == "forbidden"
    assert "not supported" in str(err.value)


def test_dialects_are_told_apart_and_translations_cached() -> None:
    assert expression_source("x > 1") == "x > 1"
    assert expression_source("${x > 1}") == "juel_cmp('>', x, 1)"
    assert expression_source("juel_eq(a, '${b}')") == "juel_eq(a, '${b}')"  # already Python: left alone
    assert expression_source("Total: ${n}") == "'Total: ' + juel_str(n)"
    assert expression_source("${n}") is expression_source("${n}")


def test_juel_script_runs_as_an_expression() -> None:
    wf = start(SCRIPT.replace("{script}", "${1 / 0}"), "scripted", {})
    with pytest.raises(WorkflowTaskException, match="division by zero"):
        wf.do_engine_steps()
    ok = start(SCRIPT.replace("{script}", "${len(items) &gt; 0}"), "scripted", {"items": [1]})
    ok.do_engine_steps()
    assert ok.is_completed()
