"""SpiffWorkflow's own test diagrams (``tests/fixtures/corpus/spiff``) run through the façade with the outcomes that
``tests/fixtures/corpus/spiff/README.md`` describes. Only scenarios that need no timer to fire are here.

Every call goes through the database, and the workflow cache is off (``cold_cache``): each command deserializes
the case, which is SpiffWorkflow's "save/restore" variant of every scenario.
"""

from __future__ import annotations

import random

import pytest

from engine.definitions.camunda import collect_metadata
from engine.definitions.xml import parse_document
from engine.errors import ScriptError
from tests.conformance.helpers import (
    CORPUS,
    PRINT_WARNING,
    SPIFF,
    active,
    cold_cache,  # noqa: F401 - fixture
    complete,
    deploy,
    keys,
    names,
    one,
    ran,
    refusal,
    workflow_states,
)

pytestmark = [pytest.mark.usefixtures("cold_cache"), pytest.mark.filterwarnings(PRINT_WARNING)]

B = f"{SPIFF}/bpmn"
C = f"{SPIFF}/camunda"


def _start(engine, key, **variables):  # type: ignore[no-untyped-def]
    return engine.runtime.start(key, variables=variables)


def _state(engine, instance_id):  # type: ignore[no-untyped-def]
    return engine.runtime.instance(instance_id).state


# --- multi-instance -----------------------------------------------------------------------------------------
def _complete_mi_children(engine, case_id, order, produce):  # type: ignore[no-untyped-def]
    """Complete all active children, sorted by their ``input_item``; ``produce(item)`` gives the completion data."""
    children = [(engine.tasks.variables(t.id)["input_item"], t) for t in active(engine, case_id)]
    children.sort(key=lambda pair: pair[0], reverse=order == "reverse")
    for item, task in children:
        engine.tasks.complete(task.id, "tester", produce(item))
    return [item for item, _ in children]


ORDERS = [
    pytest.param("input", id="completed-in-input-order"),
    pytest.param("reverse", id="completed-in-reverse-order"),
]


@pytest.mark.parametrize("order", ORDERS)
def test_parallel_mi_list_input_runs_children_concurrently(engine, order):
    deploy(engine, f"{B}/parallel_multiinstance_loop_input.bpmn")
    case = _start(engine, "main", input_data=[1, 2, 3])
    children = active(engine, case.id)
    assert len(children) == 3 and {t.task_definition_key for t in children} == {"any_task"}
    assert sorted(engine.tasks.variables(t.id)["input_item"] for t in children) == [1, 2, 3]
    _complete_mi_children(engine, case.id, order, lambda item: {"output_item": item * 2})
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id) == {"input_data": [1, 2, 3], "output_data": [2, 4, 6]}


def test_parallel_mi_dict_input_gives_dict_output(engine):
    deploy(engine, f"{B}/parallel_multiinstance_loop_input.bpmn")
    case = _start(engine, "main", input_data={"a": 1, "b": 2, "c": 3})
    assert len(active(engine, case.id)) == 3
    _complete_mi_children(engine, case.id, "reverse", lambda item: {"output_item": item * 2})
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id)["output_data"] == {"a": 2, "b": 4, "c": 6}


def test_parallel_mi_empty_input_completes_at_once(engine):
    deploy(engine, f"{B}/parallel_multiinstance_loop_input.bpmn")
    case = _start(engine, "main", input_data=[])
    assert case.state == "COMPLETED"
    assert engine.tasks.list(instance_id=case.id, state="COMPLETED") == []
    assert engine.runtime.variables(case.id) == {"input_data": [], "output_data": []}


def test_parallel_mi_non_empty_output_list_is_an_incident(engine):
    deploy(engine, f"{B}/parallel_multiinstance_loop_input.bpmn")
    with pytest.raises(ScriptError) as info:
        _start(engine, "main", input_data=[1, 2, 3], output_data=[9])
    assert "output" in info.value.message
    (case,) = engine.runtime.instances(definition_key="main")
    assert case.state == "ACTIVE" and case.has_incident
    assert [i.activity_id for i in case.incidents] == ["any_task"]
    assert engine.tasks.list(instance_id=case.id) == []


@pytest.mark.parametrize("order", ORDERS)
def test_parallel_mi_cardinality_numbers_children_from_zero(engine, order):
    deploy(engine, f"{B}/parallel_multiinstance_cardinality.bpmn")
    case = _start(engine, "main")
    assert sorted(engine.tasks.variables(t.id)["input_item"] for t in active(engine, case.id)) == [0, 1, 2]
    _complete_mi_children(engine, case.id, order, lambda item: {"output_item": item * 2})
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id)["output_data"] == [0, 2, 4]


@pytest.mark.parametrize(("input_data", "items", "output"), [
    pytest.param([1, 2, 3], [1, 2, 3], [2, 4, 6], id="list"),
    pytest.param({"a": 1, "b": 2}, [1, 2], {"a": 2, "b": 4}, id="dict"),
    pytest.param([], [], [], id="empty"),
])
def test_sequential_mi_runs_one_child_at_a_time(engine, input_data, items, output):
    deploy(engine, f"{B}/sequential_multiinstance_loop_input.bpmn")
    case = _start(engine, "main", input_data=input_data)
    seen = []
    while tasks := active(engine, case.id):
        assert len(tasks) == 1, "a sequential multi-instance runs exactly one child at a time"
        item = engine.tasks.variables(tasks[0].id)["input_item"]
        seen.append(item)
        engine.tasks.complete(tasks[0].id, "tester", {"output_item": item * 2})
        assert len(seen) <= len(items)
    assert seen == items
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id) == {"input_data": input_data, "output_data": output}


def test_camunda_collection_mi_updates_the_collection_in_place(engine):
    deploy(engine, f"{C}/parallel_multiinstance_collection.bpmn")
    case = _start(engine, "main", input_data=[1, 2, 3])
    assert len(active(engine, case.id)) == 3
    _complete_mi_children(engine, case.id, "reverse", lambda item: {"input_item": item * 2})
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id)["input_data"] == [2, 4, 6]


# --- standard loop --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("done_at_start", "done_in_first", "iterations"), [
    pytest.param(False, False, 3, id="loopMaximum-3"),
    pytest.param(False, True, 1, id="done-in-first-iteration"),
    pytest.param(True, False, 0, id="done-before-start-skips"),
])
def test_standard_loop(engine, done_at_start, done_in_first, iterations):
    deploy(engine, f"{B}/standard_loop.bpmn")
    case = _start(engine, "main", done=done_at_start)
    n = 0
    while tasks := active(engine, case.id):
        assert len(tasks) == 1 and tasks[0].task_definition_key == "any_task"
        n += 1
        assert n <= 3, "loopMaximum=3 must stop the loop"
        engine.tasks.complete(tasks[0].id, "tester", {"done": True} if done_in_first else {})
    assert n == iterations
    assert len(engine.tasks.list(instance_id=case.id, state="COMPLETED")) == iterations
    assert _state(engine, case.id) == "COMPLETED"


# --- gateways -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "ran_ids", "skipped_ids", "final_v"), [
    pytest.param({"u": -1, "w": -1, "v": -1}, {"increment_v"}, {"u_plus_v", "w_plus_v"}, 0, id="default-only"),
    pytest.param({"u": 1, "w": 1, "v": 0}, {"u_plus_v", "w_plus_v"}, {"increment_v"}, 0, id="both-conditions"),
])
def test_inclusive_gateway_runs_matching_branches(engine, data, ran_ids, skipped_ids, final_v):
    deploy(engine, f"{B}/inclusive_gateway.bpmn")
    case = _start(engine, "main")
    task = one(engine, case.id)
    assert task.task_definition_key == "set_data" and task.form_key is None  # a user task without a form loads
    engine.tasks.complete(task.id, "tester", data)
    view = engine.runtime.instance(case.id)
    assert view.state == "COMPLETED" and not view.has_incident
    assert engine.runtime.variables(case.id)["v"] == final_v
    states = workflow_states(engine, case.id)
    assert all(ran(states, i) for i in ran_ids | {"first", "second"})
    assert not any(ran(states, i) for i in skipped_ids)


def test_inclusive_gateway_without_matching_flow_is_an_incident(engine):
    deploy(engine, f"{B}/inclusive_gateway.bpmn")
    case = _start(engine, "main")
    with pytest.raises(ScriptError) as info:
        engine.tasks.complete(one(engine, case.id).id, "tester", {"u": -1, "w": -1, "v": 0})
    assert "second" in info.value.message
    view = engine.runtime.instance(case.id)
    assert view.state == "ACTIVE" and view.has_incident
    assert [i.activity_id for i in view.incidents] == ["second"]
    assert "no conditions" in view.incidents[0].message.lower()
    assert "second" in view.active_activity_ids
    assert engine.runtime.variables(case.id)["v"] == 1  # the default branch ran before the join failed


@pytest.mark.parametrize(("x", "expected"), [(2, "Activity_Greater"), (0, "Activity_Less")])
def test_exclusive_gateway_takes_the_matching_flow(engine, x, expected):
    deploy(engine, f"{B}/exclusive_gateway_no_default.bpmn")
    case = _start(engine, "NoDefaultGateway", x=x)
    assert keys(active(engine, case.id)) == [expected]


def test_exclusive_gateway_without_default_is_an_incident_not_a_dead_end(engine):
    deploy(engine, f"{B}/exclusive_gateway_no_default.bpmn")
    with pytest.raises(ScriptError) as info:
        _start(engine, "NoDefaultGateway", x=1)
    assert "Gateway_CheckValue" in info.value.message
    (case,) = engine.runtime.instances(definition_key="NoDefaultGateway")
    assert case.state == "ACTIVE" and case.has_incident
    assert [i.activity_id for i in case.incidents] == ["Gateway_CheckValue"]
    assert engine.tasks.list(instance_id=case.id) == []


# --- nested parallel split/join -------------------------------------------------------------------------------
PSJ = f"{B}/Test-Workflows/Parallel-Multiple-Splits-And-Joins.bpmn20.xml"
PSJ_KEY = "sid-a90fa1f1-32a9-4a62-8ad4-8820a3fc6cc4"


def _pick(strategy, tasks, rng):  # type: ignore[no-untyped-def]
    by_name = sorted(tasks, key=lambda t: t.name)
    if strategy == "first":
        return by_name[0]
    if strategy == "last":
        return by_name[-1]
    if strategy in ("branch-1-first", "branch-2-first"):
        lead = strategy[7]
        preferred = [t for t in by_name if t.name.startswith(lead)]
        return (preferred or by_name)[0]
    return rng.choice(by_name)


@pytest.mark.parametrize("strategy", ["first", "last", "branch-1-first", "branch-2-first",
                                      "random-1", "random-2", "random-3"])
def test_parallel_multiple_splits_and_joins_any_interleaving(engine, strategy):
    deploy(engine, PSJ)
    rng = random.Random(strategy)
    case = engine.runtime.start(PSJ_KEY)
    assert names(active(engine, case.id)) == ["1", "2"]
    done: list[str] = []
    while tasks := active(engine, case.id):
        ready = names(tasks)
        if "Done" in ready:
            assert {"1 Done", "2 Done"} <= set(done), f"'Done' became available after only {done}"
        task = _pick(strategy, tasks, rng)
        engine.tasks.complete(task.id, "tester")
        done.append(task.name)
        assert len(done) <= 9
    assert sorted(done) == sorted(["1", "2", "1A", "1B", "2A", "2B", "1 Done", "2 Done", "Done"])
    assert done[-1] == "Done"
    view = engine.runtime.instance(case.id)
    assert view.state == "COMPLETED" and view.active_activity_ids == ()
    assert len(engine.tasks.list(instance_id=case.id, state="COMPLETED")) == 9
    assert engine.tasks.list(instance_id=case.id, state="CANCELLED") == []


# --- call activities --------------------------------------------------------------------------------------------
def test_call_activity_caller_and_callee_deploy_together(engine):
    result = deploy(engine, f"{B}/call_activity_end_event.bpmn", f"{B}/call_activity_call_activity.bpmn")
    assert {d.key for d in result.definitions} == {"Process_8200379", "Call_Activity_Get_Data"}


def test_call_activity_data_flows_both_ways(engine):
    deploy(engine, f"{B}/call_activity_end_event.bpmn", f"{B}/call_activity_call_activity.bpmn")
    case = engine.runtime.start("Process_8200379")
    assert case.state == "COMPLETED" and not case.has_incident
    # the callee set my_var/my_other_var and deleted remove_this_var, which the caller had set
    assert engine.runtime.variables(case.id) == {"pre_var": "some string", "my_var": "World", "my_other_var": "Mike"}


def test_call_activity_with_missing_callee_is_refused(engine):
    problems = refusal(engine, f"{B}/call_activity_with_error.bpmn")
    assert any("Call_Activity_Get_Data" in p.message and "not found" in p.message
               and p.file == "call_activity_with_error.bpmn" for p in problems), problems


def test_call_activity_binds_the_deployed_callee(engine):
    deploy(engine, f"{B}/call_activity_call_activity.bpmn")
    result = deploy(engine, f"{B}/call_activity_with_error.bpmn")
    assert [d.key for d in result.definitions] == ["ErroringBPMN"]
    assert "call_activity_call_activity.bpmn" in result.deployment.resources


def test_call_activity_callee_error_is_an_incident(engine):
    deploy(engine, f"{B}/call_activity_with_error.bpmn", f"{B}/call_activity_call_activity.bpmn")
    with pytest.raises(ScriptError) as info:
        engine.runtime.start("ErroringBPMN")
    assert "remove_this_var" in info.value.message
    (case,) = engine.runtime.instances(definition_key="ErroringBPMN")
    assert case.state == "ACTIVE" and case.has_incident
    (incident,) = case.incidents
    assert incident.activity_id == "Sub_Bpmn_Task" and "remove_this_var" in incident.message
    assert "Activity_12zat0d" in case.active_activity_ids  # the call activity is stuck, not finished


# --- lanes and approvals --------------------------------------------------------------------------------------
def test_lanes_filter_ready_tasks(engine):
    deploy(engine, f"{B}/lanes.bpmn")
    case = engine.runtime.start("lanes")
    assert keys(active(engine, case.id, lane="A")) == ["Activity_A1"]
    assert active(engine, case.id, lane="B") == []
    complete(engine, case.id, "Activity_A1", {"NewBPMNFeautre": "lanes"})
    assert active(engine, case.id, lane="A") == []
    assert keys(active(engine, case.id, lane="B")) == ["Activity_B1"]
    complete(engine, case.id, "Activity_B1", {"NeedClarification": False})
    assert keys(active(engine, case.id, lane="B")) == ["Implement_Feature"]
    complete(engine, case.id, "Implement_Feature")
    task = one(engine, case.id)
    assert (task.task_definition_key, task.lane) == ("Activity_1uksrqx", "C")
    engine.tasks.complete(task.id, "tester")
    task = one(engine, case.id)
    assert (task.name, task.lane) == ("SubProcessTask", "C")  # a task in a sub-process inherits the lane
    assert keys(active(engine, case.id, lane="C")) == ["SubProcessTask"]
    engine.tasks.complete(task.id, "tester")
    assert _state(engine, case.id) == "COMPLETED"


def test_lanes_clarification_goes_back_to_lane_a(engine):
    deploy(engine, f"{B}/lanes.bpmn")
    case = engine.runtime.start("lanes")
    complete(engine, case.id, "Activity_A1")
    complete(engine, case.id, "Activity_B1", {"NeedClarification": "Yes"})
    assert keys(active(engine, case.id, lane="A")) == ["Activity_A2"]


@pytest.mark.parametrize("first", ["Manager", "Supervisor"])
@pytest.mark.parametrize("parallel_order", [("Manager", "Supervisor"), ("Supervisor", "Manager")],
                         ids=["manager-then-supervisor", "supervisor-then-manager"])
def test_approvals_first_wins_then_all_needed(engine, first, parallel_order):
    deploy(engine, f"{B}/Approvals.bpmn")
    case = engine.runtime.start("Approvals")
    fa = "First_Approval_Wins"
    assert keys(active(engine, case.id)) == [f"{fa}.Manager_Approval", f"{fa}.Supervisor_Approval"]
    # 或签: whichever approval comes first terminates the called process; the other one is withdrawn
    complete(engine, case.id, f"{fa}.{first}_Approval")
    assert keys(active(engine, case.id)) == ["Approvals.First_Approval_Wins_Done"]
    other = "Supervisor" if first == "Manager" else "Manager"
    assert keys(engine.tasks.list(instance_id=case.id, state="CANCELLED")) == [f"{fa}.{other}_Approval"]
    complete(engine, case.id, "Approvals.First_Approval_Wins_Done")
    # 会签: both parallel approvals are needed, in either order
    assert keys(active(engine, case.id)) == ["Approvals.Manager_Approval__P_", "Approvals.Supervisor_Approval__P_"]
    complete(engine, case.id, f"Approvals.{parallel_order[0]}_Approval__P_")
    assert keys(active(engine, case.id)) == [f"Approvals.{parallel_order[1]}_Approval__P_"]
    complete(engine, case.id, f"Approvals.{parallel_order[1]}_Approval__P_")
    complete(engine, case.id, "Approvals.Parallel_Approvals_Done")
    # the called sub-process: operator then supervisor on one branch, manager on the other; both needed
    sp = "Parallel_Approvals_SP"
    assert keys(active(engine, case.id)) == [f"{sp}.Manager_Approval", f"{sp}.Step1"]
    complete(engine, case.id, f"{sp}.Step1")
    assert keys(active(engine, case.id)) == [f"{sp}.Manager_Approval", f"{sp}.Supervisor_Approval"]
    complete(engine, case.id, f"{sp}.Supervisor_Approval")
    assert keys(active(engine, case.id)) == [f"{sp}.Manager_Approval"]
    complete(engine, case.id, f"{sp}.Manager_Approval")
    complete(engine, case.id, "Approvals.Parallel_SP_Done")
    assert _state(engine, case.id) == "COMPLETED"
    assert len(engine.tasks.list(instance_id=case.id, state="CANCELLED")) == 1


# --- events ---------------------------------------------------------------------------------------------------
def test_event_subprocess_started_by_signal_sees_the_data(engine):
    deploy(engine, f"{B}/event-subprocess.bpmn")
    case = engine.runtime.start("main")
    complete(engine, case.id, "set_data", {"v1": True, "v2": False})
    task = one(engine, case.id)
    assert task.task_definition_key == "task"
    assert engine.tasks.variables(task.id) == {"v1": True, "v2": False}
    assert "sub" in engine.runtime.instance(case.id).active_activity_ids
    engine.tasks.complete(task.id, "tester")
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id) == {"v1": True, "v2": False}


def test_event_gateway_waits_for_its_events(engine):
    deploy(engine, f"{B}/event-gateway.bpmn")
    case = engine.runtime.start("Process_0pvx19v", business_key="EG-1")
    assert case.state == "ACTIVE" and "Gateway_1434v9l" in case.active_activity_ids
    assert engine.tasks.list(instance_id=case.id) == []
    assert len(engine.jobs.list(instance_id=case.id)) == 1  # the gateway's timer waits as a job


def test_event_gateway_timer_wins_when_no_message_comes(engine, clock):
    deploy(engine, f"{B}/event-gateway.bpmn")
    case = engine.runtime.start("Process_0pvx19v", business_key="EG-2")
    (job,) = engine.jobs.list(instance_id=case.id)
    assert [r.outcome for r in engine.jobs.execute_due(job.due)] == ["fired"]
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    states = workflow_states(engine, case.id)
    assert ran(states, "timer_event") and not ran(states, "message_1_event") and not ran(states, "message_2_event")


@pytest.mark.parametrize(("message", "loser"), [("message_1", "message_2"), ("message_2", "message_1")])
def test_event_gateway_first_message_wins(engine, message, loser):
    deploy(engine, f"{B}/event-gateway.bpmn")
    case = engine.runtime.start("Process_0pvx19v", business_key="EG-1")
    (result,) = engine.runtime.correlate(message, business_key="EG-1")
    assert result.state == "COMPLETED"
    states = workflow_states(engine, case.id)
    assert ran(states, f"{message}_event") and ran(states, f"{message}_end")
    assert not ran(states, f"{loser}_event") and not ran(states, "timer_event")
    assert [j.state for j in engine.jobs.list(states=("PENDING", "CANCELLED", "DONE"), instance_id=case.id)] == [
        "CANCELLED"]  # the message won: the gateway's timer job was cancelled in the same transaction


TX_NORMAL = pytest.param("data", 2, {"Activity_Print_Data"},
                         {"Catch_Cancel_Event", "Catch_Error_1", "Catch_Error_None"}, None, True,
                         id="normal")


@pytest.mark.parametrize(("value", "quantity", "ran_ids", "not_ran_ids", "reason", "keeps_value"), [
    TX_NORMAL,
    pytest.param("", None, {"Cancel_Event", "Catch_Cancel_Event", "Cancel_Action"},
                 {"Activity_Print_Data", "Catch_Error_1", "Catch_Error_None", "Error_1_Action"}, "Cancel", False,
                 id="cancel-rolls-back"),
    pytest.param("data", 0, {"Error_None", "Catch_Error_None", "Error_None_Action"},
                 {"Activity_Print_Data", "Catch_Error_1", "Error_1_Action", "Catch_Cancel_Event"}, "Error None", True,
                 id="error-without-code"),
    pytest.param("data", -1, {"Error_1", "Catch_Error_1", "Error_1_Action", "Catch_Error_None", "Error_None_Action"},
                 {"Activity_Print_Data", "Catch_Cancel_Event", "Cancel_Action"}, None, True,
                 id="error-1-both-boundaries"),
])
def test_transaction(engine, value, quantity, ran_ids, not_ran_ids, reason, keeps_value):
    deploy(engine, f"{B}/transaction.bpmn")
    case = engine.runtime.start("Main_Process")
    task = one(engine, case.id)
    assert (task.task_definition_key, task.form_key) == ("Activity_Get_Data", "FirstTaskForm")
    engine.tasks.complete(task.id, "tester", {"value": value})
    if quantity is not None:
        complete(engine, case.id, "Activity_Get_Quantity", {"quantity": quantity})
    view = engine.runtime.instance(case.id)
    assert view.state == "COMPLETED" and not view.has_incident
    states = workflow_states(engine, case.id)
    assert {i for i in ran_ids if not ran(states, i)} == set()
    assert {i for i in not_ran_ids if ran(states, i)} == set()
    data = engine.runtime.variables(case.id)
    assert ("value" in data) is keeps_value  # a cancelled transaction rolls its data back
    if reason is not None:
        assert data["reason"] == reason
    elif quantity == 2:
        assert "reason" not in data


def test_conditional_intermediate_event_waits_for_the_flag(engine):
    deploy(engine, f"{B}/conditional_event.bpmn")
    case = engine.runtime.start("intermediate", variables={"task_a_done": False})
    assert keys(active(engine, case.id)) == ["task_a", "task_b"]
    complete(engine, case.id, "task_b")
    view = engine.runtime.instance(case.id)
    assert view.state == "ACTIVE" and "event_1" in view.active_activity_ids
    assert keys(active(engine, case.id)) == ["task_a"]
    complete(engine, case.id, "task_a", {"task_a_done": True})
    assert _state(engine, case.id) == "COMPLETED"
    assert ran(workflow_states(engine, case.id), "event_1")


def test_conditional_boundary_event_cancels_the_task(engine):
    deploy(engine, f"{B}/conditional_event.bpmn")
    case = engine.runtime.start("boundary", variables={"task_c_done": False})
    assert keys(active(engine, case.id)) == ["task_c", "task_d"]
    assert "event_2" in case.active_activity_ids
    complete(engine, case.id, "task_c", {"task_c_done": True})
    assert _state(engine, case.id) == "COMPLETED"
    assert keys(engine.tasks.list(instance_id=case.id, state="CANCELLED")) == ["task_d"]
    assert ran(workflow_states(engine, case.id), "event_2")


# --- Camunda-flavoured SpiffWorkflow files ----------------------------------------------------------------------
@pytest.mark.parametrize(("x", "expected"), [
    (3, {"x": 3, "y": "A"}), (4, {"x": 4, "y": "B"}), (5, {"x": 5, "y": "C"}), (7, {"x": 7, "y": "D"}),
    (1, {"x": 1}), (2, {"x": 2}),
])
def test_exclusive_gateway_else_branch_runs_the_decision(engine, x, expected):
    deploy(engine, f"{C}/ExclusiveGatewayIfElseAndDecision.bpmn", f"{C}/dmn/test_integer_decision.dmn")
    case = engine.runtime.start("Process_1", variables={"x": x})
    assert case.state == "COMPLETED"
    assert engine.runtime.variables(case.id) == expected


def test_decision_without_its_dmn_is_refused(engine):
    problems = refusal(engine, f"{C}/ExclusiveGatewayIfElseAndDecision.bpmn")
    assert any(p.element_id == "TaskDecision" and "IntegerDecisionStringOutputTable" in p.message for p in problems)


def test_dmn_multi_instance_over_a_dict(engine):
    deploy(engine, f"{C}/DMNMultiInstance.bpmn", f"{C}/dmn/test_integer_decision_multi.dmn")
    case = engine.runtime.start("Process_1")
    assert case.state == "COMPLETED"
    stuff = engine.runtime.variables(case.id)["stuff"]
    assert stuff == {"A": {"x": 3, "y": "A"}, "B": {"x": 4, "y": "B"}, "C": {"x": 5, "y": "C"},
                     "D": {"x": 6, "y": "D"}, "E": {"x": 7, "y": "D"}}


def test_sub_workflow_complex(engine):
    deploy(engine, f"{C}/subWorkflowComplex.bpmn")
    case = engine.runtime.start("SubWorkflow")
    task = one(engine, case.id)
    assert (task.task_definition_key, task.form_key, task.description) == ("Activity_A", "FormA", "Enter Form1")
    engine.tasks.complete(task.id, "tester", {"FieldA": "a"})
    parallel = active(engine, case.id)
    assert keys(parallel) == ["Activity_A1", "Activity_A2"]
    assert sorted(t.form_key for t in parallel) == ["FormA1", "FormA2"]
    complete(engine, case.id, "Activity_A1", {"FieldA1": "a1"})
    assert keys(active(engine, case.id)) == ["Activity_A2"]  # the join waits for both
    complete(engine, case.id, "Activity_A2", {"FieldA2": "a2"})
    task = one(engine, case.id)
    assert (task.task_definition_key, task.form_key) == ("Activity_B", "FormB")
    engine.tasks.complete(task.id, "tester", {"FieldB": "b"})
    assert _state(engine, case.id) == "COMPLETED"
    assert engine.runtime.variables(case.id) == {"FieldA": "a", "FieldA1": "a1", "FieldA2": "a2", "FieldB": "b"}


def test_random_fact_form_is_parsed_and_deploys(engine):
    path = CORPUS / "spiff" / "camunda" / "random_fact.bpmn"
    tree, problems = parse_document(path.read_bytes(), path.name)
    assert problems == [] and tree is not None
    meta = collect_metadata(tree)["Task_User_Select_Type"]
    assert meta.form_key == "Fact"
    (field,) = meta.form_fields
    assert (field.id, field.label, field.type, field.default_value) == ("type", "Type", "enum", "cat")
    assert field.options == (("norris", "Chuck Norris"), ("cat", "Cat Fact"), ("buzzword", "Business Buzzword"))
    assert field.constraints == (("maxlength", "25"),)
    assert field.properties == (("description", "Choose from the list of available types of random facts"),)
    assert meta.properties == {"my_extension": "my very own extension"}

    result = deploy(engine, f"{C}/random_fact.bpmn")
    assert [d.key for d in result.definitions] == ["random_fact"]
    case = engine.runtime.start("random_fact")
    task = one(engine, case.id)
    assert (task.name, task.form_key) == ("Set Type", "Fact")
    # the script calls a service object that does not exist here: a clear incident on the script task
    with pytest.raises(ScriptError) as info:
        engine.tasks.complete(task.id, "tester", {"type": "cat"})
    assert "scripts" in info.value.message
    view = engine.runtime.instance(case.id)
    assert view.has_incident and [i.activity_id for i in view.incidents] == ["Task_Get_Fact_From_API"]
