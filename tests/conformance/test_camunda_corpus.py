"""Camunda 7 engine tests and examples (``tests/fixtures/corpus/camunda``) with the outcomes of
``tests/fixtures/corpus/camunda/README.md``: the processes without timers run (JUEL, ``camunda:`` task attributes,
multi-instance with a completion condition); the files the engine cannot run are refused at deploy time with
problems that name the file, the element and the reason, and nothing is stored. Timers do not fire yet, so only
the paths before a timer are checked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import DeploymentError, ScriptError
from tests.conformance.helpers import (
    CAMUNDA,
    active,
    assert_named,
    cold_cache,  # noqa: F401 - fixture
    complete,
    deploy,
    file_name,
    keys,
    one,
    refusal,
    unclear,
)

pytestmark = pytest.mark.usefixtures("cold_cache")

P = f"{CAMUNDA}/platform"
X = f"{CAMUNDA}/examples"
J = f"{CAMUNDA}/bpmn-js"


# --- processes that run ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (1, ["theTask1", "theTask2", "theTask3"]),
    (2, ["theTask2", "theTask3"]),
    (3, ["theTask3"]),
])
def test_inclusive_gateway_diverging(engine, value, expected):
    deploy(engine, f"{P}/InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml")
    case = engine.runtime.start("inclusiveGwDiverging", variables={"input": value})
    tasks = active(engine, case.id)
    assert keys(tasks) == expected
    assert sorted(t.name for t in tasks) == [f"Task {k[-1]}" for k in expected]
    for task in tasks:
        engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


ASSIGNEES = ["kermit", "gonzo", "mispiggy", "fozzie", "bubba"]


def test_parallel_user_tasks_based_on_collection_quorum(engine):
    """会签 with a quorum: 5 assignees, completion condition nrOfCompletedInstances/nrOfInstances >= 0.6."""
    deploy(engine, f"{P}/MultiInstanceTest.testParallelUserTasksBasedOnCollection.bpmn20.xml")
    case = engine.runtime.start("miParallelUserTasksBasedOnCollection", variables={"assigneeList": ASSIGNEES})
    tasks = active(engine, case.id)
    assert sorted(t.assignee for t in tasks) == sorted(ASSIGNEES)
    assert {t.task_definition_key for t in tasks} == {"miTasks"}
    by_assignee = {t.assignee: t for t in tasks}
    for n, who in enumerate(["gonzo", "fozzie", "kermit"], start=1):
        assert engine.runtime.instance(case.id).state == "ACTIVE"
        engine.tasks.complete(by_assignee[who].id, who)
        assert len(active(engine, case.id)) == (5 - n if n < 3 else 0)
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    cancelled = engine.tasks.list(instance_id=case.id, state="CANCELLED")
    assert sorted(t.assignee for t in cancelled) == ["bubba", "mispiggy"]
    assert sorted(t.completed_by for t in engine.tasks.list(instance_id=case.id, state="COMPLETED")) == [
        "fozzie", "gonzo", "kermit"]


def test_parallel_user_tasks_names_use_a_zero_based_loop_counter(engine):
    deploy(engine, f"{P}/MultiInstanceTest.testParallelUserTasksBasedOnCollection.bpmn20.xml")
    case = engine.runtime.start("miParallelUserTasksBasedOnCollection", variables={"assigneeList": ASSIGNEES})
    tasks = active(engine, case.id)
    assert sorted((t.name, t.assignee) for t in tasks) == sorted(
        (f"My Task {i}", who) for i, who in enumerate(ASSIGNEES))


def test_fix_system_failure_sub_process(engine):
    deploy(engine, f"{P}/SubProcessTest.fixSystemFailureProcess.bpmn20.xml")
    case = engine.runtime.start("fixSystemFailure")
    tasks = active(engine, case.id)
    assert [(t.name, t.candidate_groups) for t in tasks] == [
        ("Investigate hardware", ("engineering",)), ("Investigate software", ("engineering",))]
    assert len(engine.tasks.list(candidate_group="engineering", instance_id=case.id)) == 2
    assert engine.tasks.list(candidate_group="management", instance_id=case.id) == []
    assert "timer" in case.active_activity_ids  # the PT4H boundary timer is armed (it does not fire here)
    complete(engine, case.id, "task1")
    assert keys(active(engine, case.id)) == ["task2"]  # the join waits for both investigations
    complete(engine, case.id, "task2")
    report = one(engine, case.id)
    assert (report.name, report.candidate_groups) == ("Write report", ("engineering",))
    assert engine.tasks.list(instance_id=case.id, state="CANCELLED") == []
    engine.tasks.complete(report.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_relative_due_date_is_calendar_time(engine, clock):
    deploy(engine, f"{P}/TaskDueDateExtensionsTest.testRelativeDueDate.bpmn20.xml")
    case = engine.runtime.start("dueDateExtension", variables={"dateVariable": "P2DT2H30M"})
    task = one(engine, case.id)
    assert task.created == clock.now()
    assert task.due == task.created + timedelta(days=2, hours=2, minutes=30)


@pytest.mark.parametrize("order", ["sub-process-1-first", "sub-process-2-first"])
def test_non_interrupting_timer_on_concurrent_sub_process(engine, order):
    deploy(engine, f"{P}/BoundaryTimerNonInterruptingEventTest.testTimerOnConcurrentSubprocess.bpmn20.xml")
    case = engine.runtime.start("testTimerOnConcurrentSubprocess")
    assert case.state == "ACTIVE" and "timer" in case.active_activity_ids
    tasks = active(engine, case.id)
    assert keys(tasks) == ["sub1task1", "sub1task2", "sub2task1", "sub2task2"]
    if order == "sub-process-2-first":
        tasks.reverse()
    for task in tasks:
        assert engine.runtime.instance(case.id).state == "ACTIVE"
        engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_act901_multi_instance_sub_process(engine):
    deploy(engine, f"{P}/MultiInstanceTest.testAct901.bpmn20.xml")
    case = engine.runtime.start("multiInstanceSubProcess")
    tasks = active(engine, case.id)
    assert [(t.name, t.candidate_groups) for t in tasks] == [("First Task", ("ROLE_USER",))] * 5
    assert len(engine.tasks.list(candidate_group="ROLE_USER")) == 5
    for n, task in enumerate(tasks, start=1):
        engine.tasks.complete(task.id, "kermit")
        assert len(active(engine, case.id)) == 5 - n
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_expression_on_timer_deploys_and_waits_at_the_task(engine):
    result = deploy(engine, f"{P}/BoundaryTimerEventTest.testExpressionOnTimer.bpmn20.xml")
    assert [d.key for d in result.definitions] == ["testExpressionOnTimer"]
    case = engine.runtime.start("testExpressionOnTimer", variables={"duration": "PT1H"})
    task = one(engine, case.id)
    assert (task.task_definition_key, task.name) == ("task", "Task rigged with timer")
    assert "boundaryTimer" in case.active_activity_ids
    engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_review_invoice_deploys_and_runs(engine, clock):
    """The called process of the invoice example needs nothing the engine lacks: it deploys on its own."""
    result = deploy(engine, f"{P}/reviewInvoice.bpmn")
    assert [d.key for d in result.definitions] == ["ReviewInvoice"]
    case = engine.runtime.start("ReviewInvoice", variables={"invoiceNumber": "PSACE-5342"})
    assign = one(engine, case.id)
    assert (assign.task_definition_key, assign.assignee, assign.form_key) == (
        "assignReviewer", "demo", "embedded:app:forms/assign-reviewer.html")
    engine.tasks.complete(assign.id, "demo", {"reviewer": "peter"})
    review = one(engine, case.id)
    assert (review.task_definition_key, review.assignee) == ("reviewInvoice", "peter")
    assert review.due == clock.now() + timedelta(days=2)  # ${dateTime().plusDays(2).toDate()}
    engine.tasks.complete(review.id, "peter", {"clarified": True})
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    assert engine.runtime.variables(case.id)["clarified"] is True


def test_invoice_payment_example_deploys_and_runs(engine):
    deploy(engine, f"{X}/invoicePayment.bpmn")
    case = engine.runtime.start("embeddedFormsBpmnEvents")
    task = one(engine, case.id)
    assert (task.name, task.form_key) == ("Pay Invoice", "embedded:app:task-form.html")
    engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_missing_expression_variable_is_an_incident(engine):
    deploy(engine, f"{P}/BoundaryTimerEventTest.testExpressionOnTimer.bpmn20.xml")
    with pytest.raises(ScriptError) as info:
        engine.runtime.start("testExpressionOnTimer")
    assert "duration" in info.value.message
    (case,) = engine.runtime.instances(definition_key="testExpressionOnTimer")
    assert case.has_incident and [i.activity_id for i in case.incidents] == ["boundaryTimer"]


# --- files the engine refuses ---------------------------------------------------------------------------------
LISTENER = "camunda:taskListener"
JAVA = "(Java delegate) is not supported"
REFUSED = [
    pytest.param([f"{P}/invoice.v2.bpmn"], [
        ("approveInvoice", LISTENER, "'create'"),
        ("approveInvoice", LISTENER, "'assignment'"),
        ("ServiceTask_1", "camunda:class", JAVA),
    ], id="invoice.v2"),
    pytest.param([f"{P}/invoice.v2.bpmn", f"{P}/reviewInvoice.bpmn", f"{P}/invoiceBusinessDecisions.dmn"], [
        ("approveInvoice", LISTENER, "'create'"),
        ("approveInvoice", LISTENER, "'assignment'"),
        ("ServiceTask_1", "camunda:class", JAVA),
    ], id="invoice.v2-with-review-and-dmn"),
    # timeout task listeners and cron cycles run: tests/conformance/test_camunda_timers.py
    pytest.param([f"{X}/loan-granting.bpmn"], [
        ("Task_1lvjtd4", "inputParameter", "nested script"),
    ], id="loan-granting"),
    pytest.param([f"{X}/camunda-testing-job-announcement.bpmn",
                  f"{X}/camunda-testing-job-announcement-publication.bpmn"], [
        ("mail", "camunda:expression", JAVA),
        ("review", "camunda:assignee", "method calls are not supported"),
        ("correct", "camunda:assignee", "method calls are not supported"),
        ("publish_announcement_website", "camunda:expression", JAVA),
        ("publish_announcement_twitter", "camunda:expression", JAVA),
        ("publish_announcement_facebook", "camunda:expression", JAVA),
    ], id="job-announcement"),
    pytest.param([f"{J}/camunda-extension.bpmn"], [
        ("send", "sendTask", 'camunda:type="external"'),
        ("send", "inputParameter 'var1'", "nested map"),
    ], id="bpmn-js-camunda-extension"),
    pytest.param([f"{J}/kitchen-sink.bpmn"], [
        ("Activity_1ketqts", "camunda:decisionRef"),
        ("Activity_1125q3g", "sendTask", 'camunda:type="external"'),
        ("Activity_1ldvx66", "serviceTask", 'camunda:type="external"'),
        ("Flow_16zflj8", "empty condition"),
        ("Activity_011s9cd", "no script"),
    ], id="bpmn-js-kitchen-sink"),
]


@pytest.mark.parametrize(("paths", "expected"), REFUSED)
def test_refused_files_name_elements_and_reasons(engine, paths, expected):
    problems = refusal(engine, *paths)
    for element_id, *fragments in expected:
        assert_named(problems, element_id, *fragments)
    names = {file_name(p) for p in paths}
    for p in problems:
        assert p.file in names, f"problem does not name its file: {p}"
        if p.element_id is not None:
            assert p.line, f"a problem on an element should give its line: {p}"


@pytest.mark.parametrize("paths", [pytest.param(p.values[0], id=p.id) for p in REFUSED])
def test_refusal_messages_are_sentences(engine, paths):
    problems = refusal(engine, *paths)
    assert unclear(problems) == []


def test_refused_invoice_stores_nothing_even_the_valid_callee(engine):
    with pytest.raises(DeploymentError):
        deploy(engine, f"{P}/invoice.v2.bpmn", f"{P}/reviewInvoice.bpmn", f"{P}/invoiceBusinessDecisions.dmn")
    assert engine.repository.definitions(key="ReviewInvoice") == []
    result = deploy(engine, f"{P}/reviewInvoice.bpmn")  # still deployable afterwards, as version 1
    assert [(d.key, d.version) for d in result.definitions] == [("ReviewInvoice", 1)]
