"""The Camunda dialect as Camunda Modeler writes it.

SpiffWorkflow's Camunda parser ignores most ``camunda:`` attributes and evaluates every expression as Python.
This module closes the gap *before* SpiffWorkflow sees a document:

* ``collect_metadata`` reads what SpiffWorkflow drops (assignment, due/follow-up dates, priority, forms,
  properties, external-task topics, input/output parameters, call-activity in/out mappings) into
  ``ActivityMeta`` records keyed by element id;
* ``rewrite_expressions`` translates JUEL conditions, timer literals and multi-instance expressions in place
  into the Python our sandbox runs, and reports every expression that does not compile;
* ``check_supported`` refuses at deploy time what the engine cannot run (listeners other than timeout task
  listeners, Java delegates, ...).

Timer texts may be Quartz cron expressions in ``timeCycle`` (``0 0/5 * * * ?``, see ``engine.jobs.cron``): they are
checked here (a bad field is a deploy problem naming it) and handed on as a string literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from engine.errors import ExpressionSyntaxError, Problem
from engine.jobs import cron
from engine.scripting import juel

from .xml import BPMN_NS, CAMUNDA_NS

B = "{%s}" % BPMN_NS
C = "{%s}" % CAMUNDA_NS
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

FORM_FIELD_TYPES = {"string", "long", "boolean", "date", "enum", "double", "textarea", "file"}
FORM_CONSTRAINTS = {"required", "readonly", "minlength", "maxlength", "min", "max", "pattern"}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ACTIVITY_TAGS = {
    "userTask", "manualTask", "task", "serviceTask", "sendTask", "receiveTask", "scriptTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction",
}


@dataclass(frozen=True)
class FormFieldSpec:
    id: str
    label: str | None
    type: str
    default_value: str | None = None
    constraints: tuple[tuple[str, str | None], ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    properties: tuple[tuple[str, str], ...] = ()


TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")
LISTENER_IMPLEMENTATIONS = ("class", "expression", "delegateExpression")
PYTHON_FORMATS = ("python", "python3", "text/x-python")


@dataclass(frozen=True)
class TimeoutListener:
    """A ``camunda:taskListener event="timeout"`` of a user task: when it falls due (its nested timer, counted
    from the task's creation) the listener runs; the task stays open. ``script`` is a ``camunda:script`` body
    (sandboxed Python) or None; ``implementation`` names the Java class/expression/delegate the engine cannot run
    (it records the firing instead)."""
    id: str
    timer: str  # timeDuration | timeDate | timeCycle
    expression: str  # as written (a literal, cron, or ${...})
    implementation: str | None = None  # e.g. 'class=org.example.Remind'
    script: str | None = None


@dataclass(frozen=True)
class ActivityMeta:
    element_id: str
    kind: str
    name: str | None = None
    assignee: str | None = None
    candidate_groups: str | None = None
    candidate_users: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    priority: str | None = None
    form_key: str | None = None
    form_fields: tuple[FormFieldSpec, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    topic: str | None = None
    task_priority: str | None = None  # camunda:taskPriority (external tasks)
    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    call_in: tuple[tuple[str, str], ...] = ()  # (source expression or name, target); ("*", "*") = all
    call_out: tuple[tuple[str, str], ...] = ()
    result_variable: str | None = None
    map_decision_result: str | None = None
    decision_ref: str | None = None
    timeout_listeners: tuple[TimeoutListener, ...] = ()


def _attr(el: etree._Element, name: str) -> str | None:
    value = el.get(C + name)
    return value if value not in (None, "") else None


def _props(el: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop in el.findall(f"{B}extensionElements/{C}properties/{C}property"):
        if prop.get("name"):
            out[prop.get("name", "")] = prop.get("value", "")
    return out


def _form_fields(el: etree._Element) -> tuple[FormFieldSpec, ...]:
    fields = []
    for f in el.findall(f"{B}extensionElements/{C}formData/{C}formField"):
        constraints = tuple(
            (c.get("name", ""), c.get("config")) for c in f.findall(f"{C}validation/{C}constraint")
        )
        options = tuple((v.get("id", ""), v.get("name", v.get("id", ""))) for v in f.findall(f"{C}value"))
        properties = tuple((p.get("id", ""), p.get("value", "")) for p in f.findall(f"{C}properties/{C}property"))
        fields.append(
            FormFieldSpec(
                id=f.get("id", ""), label=f.get("label"), type=f.get("type", "string"),
                default_value=f.get("defaultValue"), constraints=constraints, options=options,
                properties=properties,
            )
        )
    return tuple(fields)


def _io(el: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.get("name", ""), (p.text or "").strip())
        for p in el.findall(f"{B}extensionElements/{C}inputOutput/{C}{tag}")
    )


def _call_mappings(el: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
    out = []
    for m in el.findall(f"{B}extensionElements/{C}{tag}"):
        if m.get("variables") == "all":
            out.append(("*", "*"))
        elif m.get("businessKey") is not None:
            continue
        else:
            source = m.get("source") or m.get("sourceExpression") or ""
            out.append((source, m.get("target") or source))
    return tuple(out)


def _timeout_listeners(el: etree._Element) -> tuple[TimeoutListener, ...]:
    out = []
    for listener in el.findall(f"{B}extensionElements/{C}taskListener"):
        if listener.get("event") != "timeout":
            continue
        timer = None
        for tag in TIMER_TAGS:
            found = listener.find(f"{B}timerEventDefinition/{B}{tag}")
            if found is not None:
                timer = (tag, (found.text or "").strip())
                break
        script = listener.find(f"{C}script")
        implementation = next((f"{a}={listener.get(a)}" for a in LISTENER_IMPLEMENTATIONS if listener.get(a)), None)
        out.append(TimeoutListener(id=listener.get("id") or "", timer=timer[0] if timer else "",
                                   expression=timer[1] if timer else "", implementation=implementation,
                                   script=(script.text or "") if script is not None else None))
    return tuple(out)


def collect_metadata(tree: etree._ElementTree) -> dict[str, ActivityMeta]:
    """Everything SpiffWorkflow's parser drops, keyed by BPMN element id."""
    out: dict[str, ActivityMeta] = {}
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str):
            continue
        if not isinstance(el.tag, str) or not el.tag.startswith(B):
            continue
        kind = etree.QName(el).localname
        if kind not in ACTIVITY_TAGS or not el.get("id"):
            continue
        scope = _scope_of(el)
        out[f"{scope}:{el.get('id', '')}"] = out[el.get("id", "")] = ActivityMeta(
            element_id=el.get("id", ""), kind=kind, name=el.get("name"),
            assignee=_attr(el, "assignee"), candidate_groups=_attr(el, "candidateGroups"),
            candidate_users=_attr(el, "candidateUsers"), due_date=_attr(el, "dueDate"),
            follow_up_date=_attr(el, "followUpDate"), priority=_attr(el, "priority"),
            form_key=_attr(el, "formKey"), form_fields=_form_fields(el), properties=_props(el),
            topic=_attr(el, "topic"), task_priority=_attr(el, "taskPriority"),
            inputs=_io(el, "inputParameter"), outputs=_io(el, "outputParameter"),
            call_in=_call_mappings(el, "in"), call_out=_call_mappings(el, "out"),
            result_variable=_attr(el, "resultVariable"), map_decision_result=_attr(el, "mapDecisionResult"),
            decision_ref=_attr(el, "decisionRef"),
            timeout_listeners=_timeout_listeners(el) if kind == "userTask" else (),
        )
    return out


def _scope_of(el: etree._Element) -> str:
    node = el.getparent()
    while node is not None:
        if etree.QName(node).localname in ("process", "subProcess", "transaction"):
            return node.get("id", "")
        node = node.getparent()
    return ""


def lookup(meta: dict[str, ActivityMeta], scope: str, element_id: str) -> ActivityMeta | None:
    """Metadata of an element: by (enclosing process or subprocess id, element id), else by element id."""
    return meta.get(f"{scope}:{element_id}") or meta.get(element_id)


class _Checker:
    def __init__(self, filename: str, check_expression: Callable[[str], None],
                 check_script: Callable[[str], None]) -> None:
        self.filename = filename
        self.check_expression = check_expression
        self.check_script = check_script
        self.problems: list[Problem] = []

    def problem(self, el: etree._Element, message: str) -> None:
        element_id = el.get("id")
        node = el
        while element_id is None and node.getparent() is not None:
            node = node.getparent()
            element_id = node.get("id")
        self.problems.append(Problem(message, file=self.filename, element_id=element_id, line=el.sourceline))

    def expression(self, el: etree._Element, text: str, what: str, *, timer: bool = False) -> str | None:
        """Translate one expression to Python and compile it; report and return None when it fails."""
        try:
            python = juel.timer_to_python(text) if timer else juel.to_python(text)
            self.check_expression(python)
        except ExpressionSyntaxError as exc:
            self.problem(el, f"{what} '{text.strip()}' does not compile: {exc.message}")
            return None
        return python


def rewrite_expressions(tree: etree._ElementTree, filename: str, check_expression: Callable[[str], None],
                        check_script: Callable[[str], None]) -> list[Problem]:
    """Translate JUEL and bare timer literals in place; compile every expression; return the problems."""
    ck = _Checker(filename, check_expression, check_script)
    root = tree.getroot()
    for cond in root.iter(f"{B}conditionExpression", f"{B}completionCondition"):
        language = (cond.get("language") or "").lower()
        if language and language not in ("python", "juel", "http://www.w3.org/1999/xpath") and "juel" not in language:
            ck.problem(cond, f"expression language '{cond.get('language')}' is not supported (use JUEL ${{...}} or Python)")
            continue
        if "xpath" in language:
            ck.problem(cond, "XPath expressions are not supported (use JUEL ${...} or Python)")
            continue
        text = (cond.text or "").strip()
        if not text:
            if cond.tag == f"{B}conditionExpression":
                ck.problem(cond, "empty condition expression")
            continue
        python = ck.expression(cond, text, "condition")
        if python is not None:
            cond.text = python
    for tag in TIMER_TAGS:
        for timer in root.iter(f"{B}{tag}"):
            text = (timer.text or "").strip()
            if not text:
                ck.problem(timer, f"empty {tag} in timer definition")
                continue
            if not juel.is_juel(text) and cron.looks_like_cron(text):
                if tag != "timeCycle":
                    ck.problem(timer, f"'{text}' looks like a cron expression: cron is allowed in timeCycle only, "
                                      f"not in {tag}")
                    continue
                try:
                    cron.parse(text)
                except cron.CronError as exc:
                    where = f" (the {exc.field} field)" if exc.field else ""
                    ck.problem(timer, f"timeCycle '{text}' is not a valid cron expression{where}: {exc.message}")
                    continue
                timer.text = repr(" ".join(text.split()))
                continue
            python = ck.expression(timer, text, f"timer {tag}", timer=True)
            if python is not None:
                timer.text = python
    for card in root.iter(f"{B}loopCardinality"):
        text = (card.text or "").strip()
        python = ck.expression(card, text, "loop cardinality") if text else None
        if python is not None:
            card.text = python
    for mi in root.iter(f"{B}multiInstanceLoopCharacteristics"):
        collection = mi.get(C + "collection")
        if collection is not None:
            name = collection.strip()
            if juel.is_juel(name):
                name = juel.to_python(name).strip()
            if not IDENTIFIER.match(name):
                ck.problem(mi, f"camunda:collection '{collection}' must name a variable (e.g. ${{reviewers}})")
            else:
                mi.set(C + "collection", name)
    for listener in root.iter(f"{C}taskListener"):
        script = listener.find(f"{C}script")
        if listener.get("event") != "timeout" or script is None:
            continue
        fmt = (script.get("scriptFormat") or "python").lower()
        if fmt not in PYTHON_FORMATS:
            ck.problem(listener, f"timeout listener '{listener.get('id')}': scriptFormat '{script.get('scriptFormat')}' "
                                 "is not supported: scripts are sandboxed Python")
        elif script.get("resource"):
            ck.problem(listener, f"timeout listener '{listener.get('id')}': camunda:script resource= is not "
                                 "supported; write the script inline")
        else:
            try:
                check_script(script.text or "")
            except ExpressionSyntaxError as exc:
                ck.problem(listener, f"timeout listener '{listener.get('id')}': script does not compile: {exc.message}")
    for script_task in root.iter(f"{B}scriptTask"):
        fmt = (script_task.get("scriptFormat") or "python").lower()
        script = script_task.find(f"{B}script")
        if fmt not in ("python", "python3", "text/x-python"):
            ck.problem(script_task, f"scriptFormat '{script_task.get('scriptFormat')}' is not supported: scripts are sandboxed Python")
        elif script is None or not (script.text or "").strip():
            ck.problem(script_task, "script task has no script")
        else:
            try:
                check_script(script.text or "")
            except ExpressionSyntaxError as exc:
                ck.problem(script_task, f"script does not compile: {exc.message}")
    return ck.problems


def strip_data_stores(tree: etree._ElementTree) -> None:
    """Data stores are documentation in Camunda 7 (the engine ignores them at run time); do the same, instead of
    letting SpiffWorkflow refuse them for lack of a data-store implementation."""
    root = tree.getroot()
    refs = {el.get("id") for el in root.iter(f"{B}dataStoreReference")}
    for assoc in list(root.iter(f"{B}dataInputAssociation", f"{B}dataOutputAssociation")):
        source = assoc.findtext(f"{B}sourceRef")
        target = assoc.findtext(f"{B}targetRef")
        if source in refs or target in refs:
            owner = assoc.getparent()
            owner.remove(assoc)
            for prop in owner.findall(f"{B}property"):
                if prop.get("id") in (source, target):
                    owner.remove(prop)
    for el in list(root.iter(f"{B}dataStoreReference", f"{B}dataStore")):
        el.getparent().remove(el)


def relax(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Lenient deployment (an explicit opt-in for migrating Camunda 7 diagrams): listeners are dropped and Java
    delegates become external tasks whose topic is the class or expression, so an external-task worker can do
    their work. Returns one warning per change."""
    warnings: list[Problem] = []
    root = tree.getroot()
    for listener in list(root.iter(f"{C}taskListener", f"{C}executionListener")):
        owner = listener.getparent().getparent()
        if _is_timeout_listener(listener):
            continue  # supported
        warnings.append(Problem(f"ignored camunda:{etree.QName(listener).localname} (event "
                                f"'{listener.get('event')}')", file=filename, element_id=owner.get("id"),
                                line=listener.sourceline))
        ext = listener.getparent()
        ext.remove(listener)
    for el in root.iter(f"{B}serviceTask", f"{B}sendTask"):
        for attr in ("class", "delegateExpression", "expression"):
            value = el.get(C + attr)
            if value:
                topic = value.strip()
                if juel.is_juel(topic):
                    topic = topic.strip("$#{} ")
                del el.attrib[C + attr]
                el.set(C + "type", "external")
                el.set(C + "topic", topic)
                warnings.append(Problem(f"Java delegate camunda:{attr}=\"{value}\" became an external task on "
                                        f"topic '{topic}'", file=filename, element_id=el.get("id"),
                                        line=el.sourceline))
                break
    return warnings


def check_supported(tree: etree._ElementTree, filename: str, meta: dict[str, ActivityMeta],
                    check_expression: Callable[[str], None]) -> list[Problem]:
    """Refuse what the engine cannot run, at deploy time."""
    ck = _Checker(filename, check_expression, check_expression)
    root = tree.getroot()
    for listener in root.iter(f"{C}taskListener", f"{C}executionListener"):
        if _is_timeout_listener(listener):
            _check_timeout_listener(ck, listener)
            continue
        ck.problem(listener, f"camunda:{etree.QName(listener).localname} (event '{listener.get('event')}') is not "
                             "supported (only taskListener event=\"timeout\" on a user task is)")
    for el in root.iter(f"{B}serviceTask", f"{B}sendTask", f"{B}businessRuleTask"):
        kind = etree.QName(el).localname
        delegate = [a for a in ("class", "expression", "delegateExpression") if el.get(C + a)]
        if el.find(f"{B}extensionElements/{C}connector") is not None:
            delegate.append("connector")
        if delegate:
            ck.problem(el, f"{kind} with camunda:{delegate[0]} (Java delegate) is not supported; "
                           "use camunda:type=\"external\" with camunda:topic and an external-task worker")
        elif kind == "businessRuleTask":
            if not el.get(C + "decisionRef"):
                ck.problem(el, "businessRuleTask needs camunda:decisionRef naming a DMN decision")
            mapping = el.get(C + "mapDecisionResult")
            if mapping and mapping not in ("singleEntry", "singleResult", "collectEntries", "resultList"):
                ck.problem(el, f"camunda:mapDecisionResult '{mapping}' is unknown")
        elif el.get(C + "type") != "external":
            ck.problem(el, f"{kind} needs camunda:type=\"external\" and camunda:topic (no implementation given)")
        elif not el.get(C + "topic"):
            ck.problem(el, f"external {kind} needs camunda:topic")
    for el in root.iter(f"{C}inputOutput"):
        owner = el.getparent().getparent() if el.getparent() is not None else None
        kind = etree.QName(owner).localname if owner is not None else "?"
        if kind not in ("userTask", "serviceTask", "sendTask", "scriptTask", "businessRuleTask"):
            ck.problem(el, f"camunda:inputOutput on {kind} is not supported "
                           "(user, external, script and business-rule tasks only)")
        for param in el:
            if len(param):
                ck.problem(param, f"camunda:{etree.QName(param).localname} '{param.get('name')}' with a nested "
                                  f"{etree.QName(param[0]).localname} is not supported (use a text or ${{...}} value)")
    for key, m in meta.items():
        if ":" not in key:
            continue
        el = root.find(f".//*[@id='{m.element_id}']")
        if el is None:
            continue
        for attr in ("assignee", "candidate_groups", "candidate_users", "due_date", "follow_up_date", "priority"):
            value = getattr(m, attr)
            if value and juel.is_juel(value):
                ck.expression(el, value, f"camunda:{_camel(attr)}")
        for name, value in (*m.inputs, *m.outputs):
            if value and juel.is_juel(value):
                ck.expression(el, value, f"parameter '{name}'")
        for f in m.form_fields:
            if f.type not in FORM_FIELD_TYPES:
                ck.problem(el, f"form field '{f.id}' has unsupported type '{f.type}' (supported: {', '.join(sorted(FORM_FIELD_TYPES))})")
            for cname, _cfg in f.constraints:
                if cname not in FORM_CONSTRAINTS:
                    ck.problem(el, f"form field '{f.id}' has unsupported constraint '{cname}'")
    return ck.problems


def _is_timeout_listener(listener: etree._Element) -> bool:
    owner = listener.getparent().getparent() if listener.getparent() is not None else None
    return (listener.tag == f"{C}taskListener" and listener.get("event") == "timeout" and owner is not None
            and owner.tag == f"{B}userTask")


def _check_timeout_listener(ck: _Checker, listener: etree._Element) -> None:
    """A timeout task listener needs an id, exactly one timer (timeDuration, timeDate or timeCycle) and an
    implementation: camunda:script (run) or a Java class/expression/delegateExpression (recorded, not run)."""
    name = listener.get("id")
    if not name:
        ck.problem(listener, "camunda:taskListener event=\"timeout\" needs an id (Camunda requires one: it names "
                             "the listener's job)")
        name = "?"
    timers = listener.findall(f"{B}timerEventDefinition")
    if len(timers) != 1:
        ck.problem(listener, f"timeout listener '{name}' needs exactly one nested timerEventDefinition, found "
                             f"{len(timers)}")
    else:
        kinds = [el for el in timers[0] if isinstance(el.tag, str) and etree.QName(el).localname in TIMER_TAGS]
        if len(kinds) != 1:
            ck.problem(listener, f"timeout listener '{name}' needs one of timeDuration, timeDate or timeCycle in its "
                                 "timerEventDefinition")
    implementations = [a for a in LISTENER_IMPLEMENTATIONS if listener.get(a)]
    if listener.find(f"{C}script") is not None:
        implementations.append("script")
    if not implementations:
        ck.problem(listener, f"timeout listener '{name}' names no implementation (camunda:script, class, expression "
                             "or delegateExpression)")
    elif len(implementations) > 1:
        ck.problem(listener, f"timeout listener '{name}' has more than one implementation: "
                             f"{', '.join(implementations)}")


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.title() for w in rest)
