"""Our SpiffWorkflow parser: the Camunda parser with XSD validation, both multi-instance forms,
external service tasks as wait states, Camunda call-activity mappings, message payloads as variables
and Camunda's ``resultVariable``/``mapDecisionResult`` on business-rule tasks."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    StartEvent,
    ParallelMultiInstanceTask,
    ScriptTask,
    SequentialMultiInstanceTask,
    ServiceTask,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import (
    BusinessRuleTaskParser,
    CallActivityParser,
    CamundaTaskParser,
    ScriptTaskParser,
    SubWorkflowParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageEventDefinition
import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.defaults import CallActivity
from SpiffWorkflow.util.deep_merge import DeepMerge

from engine.jobs import cron

from .camunda import ActivityMeta, lookup
from .xml import CAMUNDA_NS


class OrderedParallelMultiInstanceTask(ParallelMultiInstanceTask):
    """Parallel multi-instance whose separate output collection follows the input order.

    SpiffWorkflow appends each instance's output item when that instance completes, so the output list is in
    completion order; Camunda/Zeebe keep the input order (output[i] belongs to input[i]). We remember the index of
    every appended item and re-sort the list by it."""

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        index = child.internal_data.get("key_or_index")
        before = None
        if self.data_output is not None and self.output_item is not None and self.data_output.exists(my_task):
            before = self.data_output.get(my_task)
        appends = (isinstance(before, list) and isinstance(index, int)
                   and (self.data_input is None or self.data_input.get(my_task) is not before))
        super().merge_child(workflow, child)
        if not appends:
            return
        output = self.data_output.get(my_task)
        order = list(my_task.internal_data.get("output_order", [])) + [index]
        if len(order) == len(output):
            pairs = sorted(zip(order, output), key=lambda pair: pair[0])
            output[:] = [item for _, item in pairs]
            order = [i for i, _ in pairs]
        my_task.internal_data["output_order"] = order


class _MultiInstanceMixin:
    """Standard ``loopDataInputRef`` MI (which SpiffWorkflow's Camunda parser rejects) and ``camunda:collection``
    mapped onto SpiffWorkflow's standard MI classes, whose specs are not mutated at run time."""

    PARALLEL_MI_CLASS = OrderedParallelMultiInstanceTask

    def create_data_spec(self, item: Any, cls: Any) -> Any:
        # Camunda Modeler writes <inputDataItem name="assignee"/> without an id; SpiffWorkflow keys the item by id.
        return cls(item.attrib.get("id") or item.attrib.get("name"), item.attrib.get("name"))

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        prefix = "bpmn:multiInstanceLoopCharacteristics"
        self_: Any = self
        collection = self_.attribute("collection", "camunda", loop_characteristics)
        if collection is None:
            TaskParser._add_multiinstance_task(self_, loop_characteristics)
            return
        element_var = self_.attribute("elementVariable", "camunda", loop_characteristics)
        condition = self_.xpath(f"./{prefix}/bpmn:completionCondition")
        ref = TaskDataReference(collection)
        item = TaskDataReference(element_var) if element_var else None
        params = {
            "task_spec": "",
            "cardinality": None,
            "data_input": ref,
            "data_output": ref,
            "input_item": item,
            "output_item": item,
            "condition": condition[0].text if condition else None,
        }
        original = self_.spec.task_specs.pop(self_.task.name)
        cls = SequentialMultiInstanceTask if loop_characteristics.get("isSequential") == "true" else OrderedParallelMultiInstanceTask
        self_.task = cls(self_.spec, original.name, **params)
        self_._copy_task_attrs(original, loop_characteristics)


def _with_mi(parser_cls: type) -> type:
    return type(f"OW{parser_cls.__name__}", (_MultiInstanceMixin, parser_cls), {})


class _IOMixin:
    """``camunda:inputOutput`` on automatic tasks: inputs are evaluated into the data before the task runs,
    outputs after it."""

    io_inputs: tuple[tuple[str, str], ...] = ()
    io_outputs: tuple[tuple[str, str], ...] = ()

    def _run_hook(self, my_task: Any) -> Any:
        engine = my_task.workflow.script_engine
        for name, expr in self.io_inputs:
            my_task.data[name] = engine.evaluate(my_task, expr) if _is_expr(expr) else expr
        result = super()._run_hook(my_task)  # type: ignore[misc]
        for name, expr in self.io_outputs:
            my_task.data[name] = engine.evaluate(my_task, expr) if _is_expr(expr) else expr
        return result


def _is_expr(text: str) -> bool:
    return "${" in text or "#{" in text


class IOScriptTask(_IOMixin, ScriptTask):
    pass


class ExternalServiceTask(ServiceTask):
    """``camunda:type="external"``: the token waits (STARTED) until an external worker completes the task."""

    topic: str | None = None

    def _run_hook(self, my_task: Any) -> None:
        return None


class CamundaCallActivity(CallActivity):
    """Call activity honouring ``camunda:in``/``camunda:out``: only the mapped variables cross (Camunda semantics)."""

    call_in: tuple[tuple[str, str], ...] = ()
    call_out: tuple[tuple[str, str], ...] = ()

    def copy_data(self, my_task: Any, subworkflow: Any) -> None:
        if not self.call_in:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        data = _map(self.call_in, my_task.data)
        start.set_data(**deepcopy(data))

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        if not self.call_out and not self.call_in:
            return super().update_data(my_task, subworkflow)
        result = _map(self.call_out, subworkflow.last_task.data)
        my_task.data = DeepMerge.merge(my_task.data, deepcopy(result))


def _map(mappings: tuple[tuple[str, str], ...], data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source, target in mappings:
        if source == "*":
            out.update(data)
        elif source in data:
            out[target] = data[source]
    return out


class CamundaBusinessRuleTask(_IOMixin, BusinessRuleTask):
    """``camunda:resultVariable`` + ``mapDecisionResult`` (default resultList); without a result variable the
    outputs merge into the data (SpiffWorkflow's behaviour). Required decisions of a DRG are evaluated first and
    their outputs are visible to this decision only."""

    result_variable: str | None = None
    map_decision_result: str | None = None
    required_engines: list[Any] = []  # engines of the decisions this one requires, deepest first

    def _run_hook(self, my_task: Any) -> bool:
        engine = my_task.workflow.script_engine
        for name, expr in self.io_inputs:
            my_task.data[name] = engine.evaluate(my_task, expr) if _is_expr(expr) else expr
        own = dict(my_task.data)
        for required in self.required_engines:
            my_task.data.update(required.result(my_task))
        try:
            rules = self.dmnEngine.decide(my_task)
            rows = [rule.output_as_dict(my_task) for rule in rules]
            merged = self.dmnEngine.result(my_task) if not self.result_variable else None
        finally:
            my_task.data = own
        if merged is not None:
            my_task.data = DeepMerge.merge(my_task.data, merged)
        else:
            my_task.data[self.result_variable] = _map_result(self.map_decision_result or "resultList", rows)
        for name, expr in self.io_outputs:
            my_task.data[name] = engine.evaluate(my_task, expr) if _is_expr(expr) else expr
        return True


def _map_result(mode: str, rows: list[dict[str, Any]]) -> Any:
    if mode == "resultList":
        return rows
    if mode == "collectEntries":
        return [next(iter(r.values())) for r in rows if r]
    if mode == "singleResult":
        return rows[0] if rows else None
    return next(iter(rows[0].values())) if rows and rows[0] else None  # singleEntry


class VariablesMessageEventDefinition(MessageEventDefinition):
    """A message correlated through the engine carries process variables; they become variables of the case
    (Camunda's ``processVariables``) instead of one nested ``<task>_Response`` value."""

    def update_task_data(self, my_task: Any) -> None:
        event_data = my_task.internal_data.get(self.name) or {}
        if event_data.get("result_var") is None and isinstance(event_data.get("payload"), dict) and event_data.get("variables"):
            my_task.data.update(deepcopy(event_data["payload"]))
            return
        if event_data.get("result_var") is None:
            event_data["result_var"] = f"{my_task.task_spec.name}_Response"
        my_task.data[event_data["result_var"]] = event_data.get("payload")

    def update_internal_data(self, my_task: Any, event: Any) -> None:
        my_task.internal_data[self.name] = event.payload


DEFAULT_ZONE = "Asia/Shanghai"


class CycleCronTimerEventDefinition(CycleTimerEventDefinition):
    """A ``timeCycle`` that may be a Quartz cron expression (``0 0/5 * * * ?``), which SpiffWorkflow cannot evaluate.

    SpiffWorkflow keeps a waiting cycle in ``internal_data['event_value']`` as ``{'cycles', 'next', 'duration'}``
    and, when ``next`` has passed, fires and moves ``next`` on by ``duration``. For a cron cycle we keep the same
    shape (so the job sync reads its due time as for any cycle) with ``cycles = -1`` and the expression under
    ``'cron'``; each firing moves ``next`` to the cron's next instant after the engine clock's now, in the engine's
    time zone (the script engine's ``zone``, set when the engine is built). An ISO ``R…`` cycle is left to
    SpiffWorkflow. The class name starts with "Cycle": code that tells cycles from dates looks at that."""

    def cycle_complete(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if not (isinstance(text, str) and cron.looks_like_cron(text)):
                return bool(super().cycle_complete(my_task))
            event_value = self._arm(my_task, text, _timer_module.datetime.now(UTC))
        elif not isinstance(event_value, dict) or "cron" not in event_value:
            return bool(super().cycle_complete(my_task))
        ready = False
        if event_value["cycles"] != 0:
            now = _timer_module.datetime.now(UTC)
            if datetime.fromisoformat(event_value["next"]) < now:
                event_value = self._arm(my_task, event_value["cron"], now)
                if not isinstance(my_task.task_spec, (BoundaryEvent, StartEvent)):
                    # an intermediate catch event fires once and the token moves on (Camunda: the timer job
                    # ends with the activity; SpiffWorkflow would keep the event waiting for the next instant)
                    event_value = {**event_value, "cycles": 0}
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=event_value)
        return ready

    @staticmethod
    def _arm(my_task: Any, text: str, after: datetime) -> dict[str, Any]:
        zone = getattr(my_task.workflow.script_engine, "zone", None) or ZoneInfo(DEFAULT_ZONE)
        try:
            nxt = cron.parse(text).next_after(after, zone)
        except cron.CronError as exc:
            from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

            raise WorkflowTaskException(f"timeCycle '{text}' is not a valid cron expression: {exc.message}",
                                        task=my_task) from exc
        if nxt is None:  # never again (e.g. a year that has passed)
            return {"cycles": 0, "next": None, "duration": 0, "cron": text}
        return {"cycles": -1, "next": nxt.isoformat(), "duration": 0, "cron": text}


class _BusinessRuleTaskParser(BusinessRuleTaskParser):
    """SpiffWorkflow's parser hard-codes its spec class; use the one registered (ours)."""

    @staticmethod
    def get_decision_ref(node: Any) -> str:
        # SpiffWorkflow indexes the attribute and raises a bare KeyError; check_supported reports the missing
        # camunda:decisionRef as a proper problem, so here an absent reference is just empty.
        return node.get("{" + CAMUNDA_NS + "}decisionRef", "")

    def create_task(self) -> Any:
        decision_ref = self.get_decision_ref(self.node)
        return self.spec_class(self.spec, self.bpmn_id,
                               dmnEngine=self.process_parser.parser.get_engine(decision_ref, self.node),
                               **self.bpmn_attributes)


class OneWindowParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (_with_mi(UserTaskParser), CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("userTask")][1]),
        full_tag("task"): (_with_mi(CamundaTaskParser), CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("task")][1]),
        full_tag("manualTask"): (_with_mi(CamundaTaskParser), CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("manualTask")][1]),
        full_tag("scriptTask"): (_with_mi(ScriptTaskParser), IOScriptTask),
        full_tag("businessRuleTask"): (_with_mi(_BusinessRuleTaskParser), CamundaBusinessRuleTask),
        full_tag("subProcess"): (_with_mi(SubWorkflowParser), CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("subProcess")][1]),
        full_tag("callActivity"): (_with_mi(CallActivityParser), CamundaCallActivity),
        full_tag("serviceTask"): (_with_mi(CamundaTaskParser), ExternalServiceTask),
        full_tag("sendTask"): (_with_mi(CamundaTaskParser), ExternalServiceTask),
    }

    def __init__(self, validate: bool = True) -> None:
        super().__init__(validator=BpmnValidator() if validate else None)


def apply_metadata(specs: list[Any], meta: dict[str, ActivityMeta],
                   required_engines: Any = None) -> None:
    """Hand the Camunda attributes our spec subclasses need to the parsed specs, and swap message definitions."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            m = lookup(meta, spec.name, getattr(task_spec, "bpmn_id", None) or "")
            if isinstance(task_spec, ExternalServiceTask) and m is not None:
                task_spec.topic = m.topic
            elif isinstance(task_spec, CamundaCallActivity) and m is not None:
                task_spec.call_in, task_spec.call_out = m.call_in, m.call_out
            elif isinstance(task_spec, CamundaBusinessRuleTask) and m is not None:
                task_spec.result_variable, task_spec.map_decision_result = m.result_variable, m.map_decision_result
                if required_engines is not None:
                    task_spec.required_engines = required_engines(m.decision_ref) if m.decision_ref else []
            if isinstance(task_spec, _IOMixin) and m is not None:
                task_spec.io_inputs, task_spec.io_outputs = m.inputs, m.outputs
            _swap_message_definitions(task_spec)


def _swap_message_definitions(task_spec: Any) -> None:
    """Our subclasses for message payloads as variables and for cron cycles (same state, more behaviour)."""
    ed = getattr(task_spec, "event_definition", None)
    if ed is None:
        return
    defs = getattr(ed, "event_definitions", [ed])
    for d in defs:
        if type(d) is MessageEventDefinition:
            d.__class__ = VariablesMessageEventDefinition
        elif type(d) is BaseMessageEventDefinition:
            # a receiveTask gets SpiffWorkflow's plain BPMN message definition (the Camunda parser only overrides
            # events), which never equals the definition a correlation sends: "not waiting for <message>"
            d.expression, d.result_var = None, None
            d.__class__ = VariablesMessageEventDefinition
        elif type(d) is CycleTimerEventDefinition:
            d.__class__ = CycleCronTimerEventDefinition
