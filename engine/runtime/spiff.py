"""The only place that drives SpiffWorkflow's runtime: load/save, steps, ready tasks, compaction, clock bridge.

Specs are parsed once per definition and kept out of the instance JSON (a spec reference instead), which makes
every save/load cheaper; the workflow JSON is stored as order-preserving text (delta-encoded task data).
"""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass, field
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_mod
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.util.task import TaskState

from engine.clock import Clock
from engine.definitions.loader import ProcessModel
from engine.definitions.spiff_parser import ExternalServiceTask, VariablesMessageEventDefinition

SERIALIZER_VERSION = "ow-1/spiff-1.5"
MAX_DEPTH = 10**6

# --- clock bridge -------------------------------------------------------------------------------------------
# SpiffWorkflow's timer module reads ``datetime.now(timezone.utc)`` from its module global. This is the one
# sanctioned process-wide hook: it reads the clock of the engine call running in this context.
_current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("onewindow_clock", default=None)


class _BridgedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        clock = _current_clock.get()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        return now.astimezone(tz) if tz is not None else now.astimezone(UTC).replace(tzinfo=None)


_timer_mod.datetime = _BridgedDatetime  # type: ignore[attr-defined]


@contextmanager
def engine_clock(clock: Clock) -> Iterator[None]:
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


# --- workflow class and serializer -----------------------------------------------------------------------
ASYNC_RELEASED = "_onewindow_async_released"  # internal data of a task whose async continuation job has run


def held_async(task: Any) -> bool:
    """Is this READY engine task waiting for its async continuation (camunda:asyncBefore on it, or
    camunda:asyncAfter on the activity it follows)?"""
    if getattr(task.task_spec, "async_before", False) and not task.internal_data.get(ASYNC_RELEASED):
        return True
    parent = task.parent
    return bool(parent is not None and getattr(parent.task_spec, "async_after", False)
                and parent.has_state(TaskState.COMPLETED) and not parent.internal_data.get(ASYNC_RELEASED))


def async_release_target(task: Any) -> Any:
    """The task whose flag releases a held task: itself (asyncBefore) or the activity it follows (asyncAfter)."""
    if getattr(task.task_spec, "async_before", False) and not task.internal_data.get(ASYNC_RELEASED):
        return task
    return task.parent


class OneWindowWorkflow(BpmnWorkflow):
    """BpmnWorkflow whose task queries are not cut off at SpiffWorkflow's 1000-deep default, and whose engine steps
    stop at asynchronous continuations (camunda:asyncBefore / asyncAfter): a job runs them on."""

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("max_depth", MAX_DEPTH)
        return super().get_tasks_iterator(first_task, **kwargs)

    def _do_engine_steps(self, will_complete_task: Any = None, did_complete_task: Any = None) -> Any:
        if not getattr(self.spec, "has_async", False):
            return super()._do_engine_steps(will_complete_task, did_complete_task)

        # SpiffWorkflow 3.2.0's loop, skipping the tasks held for their async continuation
        def update_workflow(wf: Any) -> int:
            count = 0
            for task in wf.get_tasks(state=TaskState.READY):
                if not task.task_spec.manual and not held_async(task):
                    if will_complete_task is not None:
                        will_complete_task(task)
                    task.run()
                    count += 1
                    if did_complete_task is not None:
                        did_complete_task(task)
            return count

        active_subprocesses = self.get_active_subprocesses()
        for subprocess in sorted(active_subprocesses, key=lambda v: v.depth, reverse=True):
            count = None
            while count is None or count > 0:
                count = update_workflow(subprocess)
            if subprocess.parent_task_id is not None:
                task = self.get_task_from_id(subprocess.parent_task_id)
                task.task_spec._update(task)
        count = update_workflow(self)
        return count > 0 or len(self.get_active_subprocesses()) > len(active_subprocesses)


class _SpecRefWorkflowConverter(BpmnWorkflowConverter):
    """Stores the spec *name*; the runtime hands the parsed spec objects back in on load."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocess_specs"] = {}
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        model: ProcessModel = dct.pop("__model__")
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(model.spec, model.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config.pop(BpmnWorkflow, None)
    config[OneWindowWorkflow] = _SpecRefWorkflowConverter
    config[VariablesMessageEventDefinition] = MessageEventDefinitionConverter
    registry = BpmnWorkflowSerializer.configure(config)
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _build_serializer()


def new_workflow(model: ProcessModel, script_engine: Any) -> OneWindowWorkflow:
    return OneWindowWorkflow(model.spec, model.subprocess_specs, script_engine=script_engine)


def dump(wf: OneWindowWorkflow) -> str:
    return str(_SERIALIZER.serialize_json(wf))


def load(text: str, model: ProcessModel, script_engine: Any) -> OneWindowWorkflow:
    dct = json.loads(text)
    dct.pop(_SERIALIZER.VERSION_KEY, None)
    dct["__model__"] = model
    wf = _SERIALIZER.from_dict(dct)
    # SpiffWorkflow does not persist the script engine: re-attach ours (never the unrestricted default)
    wf.script_engine = script_engine
    return wf  # type: ignore[no-any-return]


# --- queries on a loaded workflow ----------------------------------------------------------------------
def all_tasks(wf: BpmnWorkflow, state: int | None = None, **kwargs: Any) -> list[Any]:
    if state is not None:
        kwargs["state"] = state
    return list(wf.get_tasks(max_depth=MAX_DEPTH, **kwargs))


def ready_user_tasks(wf: BpmnWorkflow) -> list[Any]:
    return all_tasks(wf, TaskState.READY, manual=True)


def started_external_tasks(wf: BpmnWorkflow) -> list[Any]:
    return [t for t in all_tasks(wf, TaskState.STARTED) if isinstance(t.task_spec, ExternalServiceTask)]


def find_task(wf: BpmnWorkflow, task_id: str) -> Any | None:
    try:
        return wf.get_task_from_id(UUID(task_id))
    except Exception:
        return None


def active_activity_ids(wf: BpmnWorkflow) -> list[str]:
    ids = []
    for t in all_tasks(wf, TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR):
        bpmn_id = getattr(t.task_spec, "bpmn_id", None)
        if bpmn_id and not isinstance(t.task_spec, MultiInstanceTask) and bpmn_id not in ids:
            if t.state == TaskState.WAITING and not getattr(t.task_spec, "event_definition", None):
                continue  # joins and subprocess containers waiting on their children
            ids.append(bpmn_id)
    return ids


def reached_end_events(wf: BpmnWorkflow) -> list[str]:
    """The ids of the end events the case's tokens reached, in the order reached (the case view marks them)."""
    from SpiffWorkflow.bpmn.specs.defaults import EndEvent

    ids: list[str] = []
    for t in sorted(all_tasks(wf, TaskState.COMPLETED), key=lambda t: t.last_state_change):
        bpmn_id = getattr(t.task_spec, "bpmn_id", None)
        if isinstance(t.task_spec, EndEvent) and bpmn_id and bpmn_id not in ids:
            ids.append(bpmn_id)
    return ids


@dataclass
class Snapshot:
    """One pass over the task tree: what the projection and the case row need after a step."""

    ready_manual: list[Any] = field(default_factory=list)
    started_external: list[Any] = field(default_factory=list)
    active_ids: list[str] = field(default_factory=list)
    current: list[Any] = field(default_factory=list)  # top-level tokens whose data are the case variables
    completed: bool = False


_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def scan(wf: BpmnWorkflow) -> Snapshot:
    snap = Snapshot()
    for t in wf.get_tasks(max_depth=MAX_DEPTH, state=_ACTIVE):
        spec = t.task_spec
        if t.state == TaskState.READY and spec.manual:
            snap.ready_manual.append(t)
        elif t.state == TaskState.STARTED and isinstance(spec, ExternalServiceTask):
            snap.started_external.append(t)
        if t.workflow is wf:
            snap.current.append(t)
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id or isinstance(spec, MultiInstanceTask) or bpmn_id in snap.active_ids:
            continue
        if t.state == TaskState.WAITING and not getattr(spec, "event_definition", None):
            continue  # joins and subprocess containers waiting on their children
        snap.active_ids.append(bpmn_id)
    snap.completed = wf.is_completed()
    return snap


def error_tasks(wf: BpmnWorkflow) -> list[Any]:
    return all_tasks(wf, TaskState.ERROR)


def mi_parent(task: Any) -> Any | None:
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask):
        return parent
    return None


def send_message(wf: BpmnWorkflow, definition: Any, variables: dict[str, Any]) -> None:
    wf.send_event(BpmnEvent(definition, payload={"payload": variables, "result_var": None, "variables": True}))


def waiting_message_names(wf: BpmnWorkflow) -> set[str]:
    """Names of the messages some waiting task of the case catches (event-based gateways included)."""
    names: set[str] = set()

    def collect(definition: Any) -> None:
        nested = getattr(definition, "event_definitions", None)
        if nested is not None:  # MultipleEventDefinition: an event-based gateway or a multiple event
            for child in nested:
                collect(child)
        elif type(definition).__name__.endswith("MessageEventDefinition"):
            names.add(definition.name)

    for task in wf.event_manager.tasks.values():
        collect(task.task_spec.event_definition)
    if not wf.completed:  # message start events of the event sub-processes: a running case always listens to them
        for name in getattr(wf.spec.start, "trigger_specs", ()):
            sp_spec = wf.subprocess_specs.get(name)
            for start in getattr(sp_spec, "bpmn_start_events", ()) if sp_spec is not None else ():
                collect(start.event_definition)
    return names


def interrupt_for_event_subprocess(wf: BpmnWorkflow, message: str, meta: dict[str, Any]) -> list[str]:
    """After ``message`` was delivered: when it started an *interrupting* event sub-process of the process (its
    start event's ``isInterrupting`` is not "false", which SpiffWorkflow does not look at), cancel everything else
    still under way in the process, as Camunda does; the sub-process runs on and the case ends with it. Returns
    the bpmn ids of the cancelled tasks."""
    interrupting = set()
    for name in getattr(wf.spec.start, "trigger_specs", ()):
        sp_spec = wf.subprocess_specs.get(name)
        for start in getattr(sp_spec, "bpmn_start_events", ()) if sp_spec is not None else ():
            info = meta.get(f"@event-start:{getattr(start, 'bpmn_id', '')}")
            if info is None or info.properties.get("interrupting") != "true":
                continue
            definition = start.event_definition
            if getattr(definition, "name", None) == message:
                interrupting.add(name)
    if not interrupting:
        return []
    triggered = [t for t in wf.task_tree.children if t.task_spec.name in interrupting and
                 not t.has_state(TaskState.FINISHED_MASK)]
    if not triggered:
        return []
    keep = set()
    for t in triggered:
        node = t
        while node is not None:
            keep.add(node.id)
            node = node.parent
    cancelled = []
    for task in list(wf.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if task.id in keep or task.workflow is not wf or task.task_spec in (wf.spec.end,) or \
                task.task_spec.name.endswith(".EndJoin") or task.task_spec.name == "End":
            continue
        if any(a.id in {t.id for t in triggered} for a in _ancestors(task)):
            continue
        if task.has_state(TaskState.NOT_FINISHED_MASK):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            task.cancel()
            if bpmn_id:
                cancelled.append(bpmn_id)
    return cancelled


def _ancestors(task: Any) -> list[Any]:
    out = []
    node = task.parent
    while node is not None:
        out.append(node)
        node = node.parent
    return out


def message_definition(name: str) -> Any:
    return VariablesMessageEventDefinition(name)


# --- compaction --------------------------------------------------------------------------------------------
def compact(wf: BpmnWorkflow, threshold: int) -> int:
    """Drop finished history above the active frontier from the live task tree.

    A rework loop (补正 repeated hundreds of times) makes SpiffWorkflow's task tree one level deeper per step:
    its iterators stop at depth 1000 (the case silently stalls) and every step walks the whole tree. When the
    top-level tree holds more than ``threshold`` tasks, we find the deepest finished task that is an ancestor of
    every unfinished task and re-attach it directly under the root; everything else is finished history, which
    our own history table already holds. Returns the number of tasks removed.
    """
    if len(wf.tasks) <= threshold:
        return 0
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    anchor = _common_ancestor(unfinished)
    root = wf.task_tree
    if anchor is None or anchor is root or anchor.parent is root or not anchor.has_state(TaskState.FINISHED_MASK):
        return 0
    keep = {t.id for t in _subtree(anchor)} | {root.id}
    removed = [tid for tid in wf.tasks if tid not in keep]
    anchor_data = dict(anchor.data)
    for tid in removed:
        task = wf.tasks.pop(tid)
        sub = wf.subprocesses.pop(tid, None)
        if sub is not None:
            for sub_tid in list(sub.tasks):
                wf.subprocesses.pop(sub_tid, None)
        if wf.last_task is task:
            wf.last_task = anchor
    root._children = [anchor.id]
    anchor._parent = root.id
    anchor.data = anchor_data
    return len(removed)


def _ancestors(task: Any) -> list[Any]:
    chain = []
    node = task
    while node is not None:
        chain.append(node)
        node = node.parent
    chain.reverse()
    return chain


def _common_ancestor(tasks: list[Any]) -> Any | None:
    common = _ancestors(tasks[0])
    for task in tasks[1:]:
        chain = _ancestors(task)
        n = 0
        while n < len(common) and n < len(chain) and common[n] is chain[n]:
            n += 1
        common = common[:n]
        if not common:
            return None
    # the common ancestor itself may be unfinished (e.g. a waiting subprocess); climb to a finished one
    for node in reversed(common):
        if node.has_state(TaskState.FINISHED_MASK):
            return node
    return None


def _subtree(task: Any) -> Iterator[Any]:
    stack = [task]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def now_utc() -> datetime:
    clock = _current_clock.get()
    return clock.now() if clock is not None else datetime.now(UTC)


# --- BPMN errors thrown at an activity (external task workers) --------------------------------------------------
def throw_error(task: Any, code: str, payload: dict[str, Any]) -> Any | None:
    """Throw BPMN error ``code`` at ``task`` (an active activity) the way Camunda scopes it: the error boundary
    events attached to the task itself (or to a multi-instance body around it) first, then those of each enclosing
    subprocess or call activity, innermost first. A boundary event with this errorCode wins over a catch-all one
    (no errorRef/errorCode) of the same activity. The chosen boundary event fires with ``payload`` as its data.
    Returns the catching boundary task, or None when nothing catches the error (the caller raises an incident)."""
    from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
    from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

    node = task
    while node is not None:
        ancestor = node.parent
        while ancestor is not None:
            if isinstance(ancestor.task_spec, BoundaryEventSplit):
                catchers = [c for c in ancestor.children if isinstance(c.task_spec, BoundaryEvent)
                            and c.state == TaskState.WAITING
                            and isinstance(c.task_spec.event_definition, ErrorEventDefinition)]
                exact = [c for c in catchers if c.task_spec.event_definition.code == code]
                chosen = exact or [c for c in catchers if not c.task_spec.event_definition.code]
                if chosen:
                    catcher = chosen[0]
                    event = BpmnEvent(catcher.task_spec.event_definition, payload=payload)
                    catcher.task_spec.catch(catcher, event)
                    catcher.task_spec._update(catcher)
                    return catcher
            ancestor = ancestor.parent
        parent_task_id = getattr(node.workflow, "parent_task_id", None)
        node = node.workflow.top_workflow.get_task_from_id(parent_task_id) if parent_task_id is not None else None
    return None
