"""Turn a set of BPMN/DMN documents into SpiffWorkflow specs plus our Camunda metadata, collecting every problem."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.caseclock import config as clock_config
from engine.errors import Problem

from .camunda import (
    ActivityMeta,
    check_supported,
    collect_metadata,
    relax,
    rewrite_expressions,
    strip_data_stores,
)
from .dmn import evaluation_order, split_decisions, translate_feel
from .spiff_parser import OneWindowParser, apply_metadata
from .xml import BPMN_NS, CAMUNDA_NS, document_kind, parse_document

Checker = Callable[[str], None]


@dataclass(frozen=True)
class ProcessInfo:
    key: str
    name: str | None
    resource_name: str
    content_hash: str
    version_tag: str | None
    description: str | None
    message_starts: tuple[str, ...]
    # (timeDate | timeCycle | timeDuration, expression) of each timer start event of the process (top level)
    timer_starts: tuple[tuple[str, str], ...] = ()


@dataclass
class ParsedResources:
    parser: OneWindowParser
    processes: dict[str, ProcessInfo] = field(default_factory=dict)
    meta: dict[str, ActivityMeta] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dmn_requirements: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    # BPMN resource -> ids of the processes in it that are marked isExecutable="false"
    non_executable: dict[str, list[str]] = field(default_factory=dict)
    # asynchronous continuations: "scope:element id" of activities with camunda:asyncBefore (or async) /
    # camunda:asyncAfter = true
    async_before: set[str] = field(default_factory=set)
    async_after: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ProcessModel:
    """What the runtime needs to run one definition: its spec, the specs it calls, our metadata."""

    spec: Any
    subprocess_specs: dict[str, Any]
    meta: dict[str, ActivityMeta]


def _problem_from(exc: Exception, filename: str | None) -> Problem:
    if isinstance(exc, ValidationException):
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
        return Problem(exc.args[0] if exc.args else str(exc), file=exc.file_name or filename,
                       element_id=exc.id or None, line=line)
    if isinstance(exc, SpiffWorkflowException):
        return Problem(str(exc), file=filename)
    return Problem(f"{type(exc).__name__}: {exc}", file=filename)


def _doc_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def parse_resources(resources: list[tuple[str, bytes]], check_expression: Checker, check_script: Checker,
                    *, validate: bool = True, lenient: bool = False) -> ParsedResources:
    parser = OneWindowParser(validate=validate)
    result = ParsedResources(parser=parser)
    bpmn_trees: list[tuple[str, bytes, etree._ElementTree]] = []
    names = [n for n, _ in resources]
    for name in {n for n in names if names.count(n) > 1}:
        result.problems.append(Problem("two resources have the same name", file=name))
    for name, content in resources:
        tree, problems = parse_document(content, name)
        result.problems.extend(problems)
        if tree is None:
            continue
        kind = document_kind(tree)
        if kind is None:
            result.problems.append(Problem("not a BPMN 2.0 or DMN document (root element must be definitions)", file=name))
            continue
        result.kinds[name] = kind
        if kind == "dmn":
            docs, requirements = split_decisions(tree.getroot())
            result.dmn_requirements.update(requirements)
            for doc in docs:
                translate_feel(doc)
                try:
                    parser.add_dmn_xml(doc, filename=name)
                except Exception as exc:  # SpiffWorkflow raises many types here
                    result.problems.append(_problem_from(exc, name))
            continue
        strip_data_stores(tree)
        _name_anonymous_flows(tree)
        if lenient:
            result.warnings.extend(relax(tree, name))
        meta = collect_metadata(tree)
        for key in meta.keys() & result.meta.keys():
            if ":" not in key:  # same element id in two documents: only the scoped key stays usable
                meta.pop(key)
                result.meta.pop(key, None)
        result.meta.update(meta)
        result.problems.extend(check_supported(tree, name, meta, check_expression))
        # the time limits of each process (camunda:properties of bpmn:process), checked with the tasks' policies
        for proc in tree.getroot().findall(f"{{{BPMN_NS}}}process"):
            result.meta[f"@process:{proc.get('id', '')}"] = meta[f"@process:{proc.get('id', '')}"] = ActivityMeta(
                element_id=proc.get("id", ""), kind="process", name=proc.get("name"), properties={
                    p.get("name", ""): p.get("value", "") for p in proc.findall(
                        f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property")
                    if p.get("name")})
        # event sub-processes: whether each start event interrupts its scope (SpiffWorkflow ignores isInterrupting)
        for sub in tree.getroot().iter(f"{{{BPMN_NS}}}subProcess"):
            if sub.get("triggeredByEvent") != "true":
                continue
            for start in sub.findall(f"{{{BPMN_NS}}}startEvent"):
                result.meta[f"@event-start:{start.get('id', '')}"] = ActivityMeta(
                    element_id=start.get("id", ""), kind="eventSubProcessStart", name=sub.get("id"),
                    properties={"interrupting": "false" if start.get("isInterrupting") == "false" else "true"})
        ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
        result.problems.extend(clock_config.check(meta, name, ids))
        _collect_async(tree, result)
        result.problems.extend(rewrite_expressions(tree, name, check_expression, check_script))
        bpmn_trees.append((name, content, tree))
    for name, content, tree in bpmn_trees:
        try:
            parser.add_bpmn_xml(tree, filename=name)
        except Exception as exc:
            result.problems.append(_problem_from(exc, name))
            continue
        result.non_executable[name] = []
        for proc in tree.getroot().findall(f"{{{BPMN_NS}}}process"):
            if proc.get("isExecutable", "true") != "true":  # absent = executable, as SpiffWorkflow reads it
                result.non_executable[name].append(proc.get("id", "?"))
                continue
            pid = proc.get("id", "")
            doc = proc.find(f"{{{BPMN_NS}}}documentation")
            starts = tuple(
                m.get("messageRef", "") for m in proc.findall(f"{{{BPMN_NS}}}startEvent/{{{BPMN_NS}}}messageEventDefinition")
            )
            result.processes[pid] = ProcessInfo(
                key=pid, name=proc.get("name"), resource_name=name, content_hash=_doc_hash(content),
                version_tag=proc.get(f"{{{CAMUNDA_NS}}}versionTag"),
                description=(doc.text or "").strip() if doc is not None else None,
                message_starts=_message_names(tree, starts),
                timer_starts=_timer_starts(proc),
            )
    return result


def _collect_async(tree: etree._ElementTree, result: ParsedResources) -> None:
    c = f"{{{CAMUNDA_NS}}}"
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        before = (el.get(c + "asyncBefore") or el.get(c + "async") or "").strip().lower() == "true"
        after = (el.get(c + "asyncAfter") or "").strip().lower() == "true"
        if not (before or after):
            continue
        node, scope = el.getparent(), ""
        while node is not None:
            if isinstance(node.tag, str) and etree.QName(node).localname in ("process", "subProcess", "transaction"):
                scope = node.get("id", "")
                break
            node = node.getparent()
        (result.async_before.add(f"{scope}:{el.get('id')}") if before else None)
        (result.async_after.add(f"{scope}:{el.get('id')}") if after else None)


def _apply_async(specs: list[Any], parsed: ParsedResources) -> None:
    if not parsed.async_before and not parsed.async_after:
        return
    found = False
    for s in specs:
        for ts in s.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if not bpmn_id:
                continue
            key = f"{s.name}:{bpmn_id}"
            if key in parsed.async_before and not getattr(ts, "manual", False):
                ts.async_before = found = True
            if key in parsed.async_after:
                ts.async_after = found = True
    specs[0].has_async = found


def _timer_starts(proc: etree._Element) -> tuple[tuple[str, str], ...]:
    out = []
    for timer in proc.findall(f"{{{BPMN_NS}}}startEvent/{{{BPMN_NS}}}timerEventDefinition"):
        for tag in ("timeDate", "timeCycle", "timeDuration"):
            el = timer.find(f"{{{BPMN_NS}}}{tag}")
            if el is not None and (el.text or "").strip():
                out.append((tag, el.text.strip()))
    return tuple(out)


def _name_anonymous_flows(tree: etree._ElementTree) -> None:
    """Give id-less sequence flows an id (the XSD allows them and Camunda runs them; SpiffWorkflow drops them)."""
    taken = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in tree.getroot().iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"Flow_{flow.get('sourceRef', 'source')}_to_{flow.get('targetRef', 'target')}"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        flow.set("id", candidate)


def _message_names(tree: etree._ElementTree, refs: tuple[str, ...]) -> tuple[str, ...]:
    names = []
    for ref in refs:
        msg = tree.getroot().find(f"{{{BPMN_NS}}}message[@id='{ref}']")
        names.append(msg.get("name", ref) if msg is not None else ref)
    return tuple(names)


def build_model(parsed: ParsedResources, process_id: str) -> ProcessModel:
    """Build the spec of one executable process (raises SpiffWorkflow errors; callers collect them)."""
    spec = parsed.parser.get_spec(process_id)
    subs = parsed.parser.get_subprocess_specs(process_id)
    apply_metadata([spec, *[s for s in subs.values() if s is not None]], parsed.meta,
                   lambda ref: [parsed.parser.get_engine(r, None) for r in evaluation_order(ref, parsed.dmn_requirements)])
    _apply_async([spec, *[s for s in subs.values() if s is not None]], parsed)
    return ProcessModel(spec=spec, subprocess_specs=subs, meta=parsed.meta)


def validate_processes(parsed: ParsedResources) -> None:
    """Build every executable process once so that reference and structure errors surface at deploy time."""
    if not parsed.processes and not parsed.problems:
        bpmn_files = [name for name, kind in parsed.kinds.items() if kind == "bpmn"]
        for name in bpmn_files:
            ids = parsed.non_executable.get(name, [])
            if ids:
                parsed.problems.append(Problem(
                    "no executable process: " + ", ".join(f"'{pid}'" for pid in ids) + " is marked "
                    "isExecutable=\"false\"; set isExecutable=\"true\" to deploy it", file=name,
                    element_id=ids[0]))
            else:
                parsed.problems.append(Problem("no executable process: the document defines no process", file=name))
        if not bpmn_files:
            parsed.problems.append(Problem("no executable process: the deployment holds no BPMN document"))
    for pid, info in parsed.processes.items():
        try:
            build_model(parsed, pid)
        except Exception as exc:
            parsed.problems.append(_problem_from(exc, info.resource_name))
