"""Deploy: validate everything, then version what changed. Identical content deploys nothing new; changed content
gets version n+1; running cases stay on their version. An invalid deployment changes nothing."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.errors import DeploymentError, NotFound, Problem
from engine.persistence.models import Deployment, ProcessDefinition, Resource
from engine.types import DefinitionView, DeploymentView, DeployResult

from .loader import ParsedResources, ProcessModel, build_model, parse_resources, validate_processes


def definition_view(row: ProcessDefinition) -> DefinitionView:
    return DefinitionView(id=row.id, key=row.key, version=row.version, name=row.name,
                          deployment_id=row.deployment_id, resource=row.resource_name,
                          version_tag=row.version_tag, suspended=row.suspended, description=row.description)


def deployment_view(row: Deployment, resources: list[str]) -> DeploymentView:
    return DeploymentView(id=row.id, name=row.name, source=row.source, deployment_time=row.deployment_time,
                          resources=tuple(resources))


_LATEST = (select(ProcessDefinition).where(ProcessDefinition.key == bindparam("key"))
           .order_by(ProcessDefinition.version.desc()).limit(1))


def _latest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(_LATEST, {"key": key}).first()


def deploy(uow: Any, resources: list[tuple[str, bytes]], *, name: str | None = None, source: str | None = None,
           deployed_by: str | None = None, duplicate_filtering: bool = True, lenient: bool = False,
           changed_only: bool = True) -> DeployResult:
    """Validate and deploy. With ``duplicate_filtering``, a process whose content equals its latest version is
    not versioned again; ``changed_only`` False (Camunda's duplicate filtering without deploy-changed-only):
    when any process changed, every process of the deployment gets a new version. ``lenient`` (opt-in, for
    Camunda 7 migrations) drops listeners and turns Java delegates into external tasks, reporting each change as a
    warning; the deployment remembers it."""
    session: Session = uow.session
    if not resources:
        raise DeploymentError([Problem("no resources given: upload at least one .bpmn file")])
    sandbox = uow.services.sandbox
    parsed = parse_resources(resources, sandbox.check_expression, sandbox.check_script, lenient=lenient)
    resources = _with_missing_dependencies(session, parsed, resources)
    if parsed.problems:
        raise DeploymentError(parsed.problems)
    validate_processes(parsed)
    if parsed.problems:
        raise DeploymentError(parsed.problems)

    changed, unchanged = [], []
    for key, info in parsed.processes.items():
        latest = _latest(session, key)
        if duplicate_filtering and latest is not None and latest.content_hash == info.content_hash:
            unchanged.append(definition_view(latest))
        else:
            changed.append((info, latest.version + 1 if latest else 1))
    if changed and unchanged and not changed_only:
        changed += [(parsed.processes[v.key], v.version + 1) for v in unchanged]
        unchanged = []
    warnings = tuple(str(w) for w in parsed.warnings)
    if not changed:
        return DeployResult(deployment=None, definitions=(), unchanged=tuple(unchanged), warnings=warnings)

    dep = Deployment(id=str(uuid.uuid4()), name=name, source=source, deployment_time=uow.now, deployed_by=deployed_by,
                     lenient=lenient)
    session.add(dep)
    for res_name, content in resources:
        session.add(Resource(id=str(uuid.uuid4()), deployment_id=dep.id, name=res_name,
                             kind=parsed.kinds.get(res_name, "bpmn"), sha256=hashlib.sha256(content).hexdigest(),
                             content=content))
    views = []
    for info, version in changed:
        row = ProcessDefinition(
            id=_definition_id(info.key, version), key=info.key, version=version, name=info.name,
            deployment_id=dep.id, resource_name=info.resource_name, content_hash=info.content_hash,
            version_tag=info.version_tag, description=info.description, suspended=False,
            startable_by_message=",".join(info.message_starts) or None,
        )
        session.add(row)
        views.append(definition_view(row))
        if info.timer_starts:
            from engine.jobs.starts import schedule

            schedule(uow, row.id, row.key, info.timer_starts)
        uow.record("ProcessDefinitionDeployed", actor=deployed_by, definitionId=row.id, key=row.key,
                   version=row.version, deploymentId=dep.id)
    uow.record("DeploymentCreated", actor=deployed_by, deploymentId=dep.id, name=name,
               resources=[n for n, _ in resources], lenient=lenient, warnings=list(warnings))
    return DeployResult(deployment=deployment_view(dep, [n for n, _ in resources]), definitions=tuple(views),
                        unchanged=tuple(unchanged), warnings=warnings)


def _with_missing_dependencies(session: Session, parsed: ParsedResources,
                               resources: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Called processes and DMN decisions not in this deployment are taken from the latest deployed version
    (Camunda's default 'latest' binding): their documents are added to the parse and stored with the deployment,
    so a definition's deployment always holds everything it needs to run."""
    parser = parsed.parser
    missing_procs = {p for p in parser.get_process_dependencies() if p and p not in parser.process_parsers}
    missing_dmn = {d for d in parser.get_dmn_dependencies() if d and d not in parser.dmn_parsers}
    if not missing_procs and not missing_dmn:
        return resources
    extra: list[tuple[str, bytes]] = []
    names = {n for n, _ in resources}
    for key in sorted(missing_procs):
        latest = _latest(session, key)
        if latest is None:
            continue
        res = session.scalars(select(Resource).where(Resource.deployment_id == latest.deployment_id,
                                                     Resource.name == latest.resource_name)).first()
        if res is not None and res.name not in names:
            extra.append((res.name, res.content))
            names.add(res.name)
    if missing_dmn:
        for res in session.scalars(select(Resource).where(Resource.kind == "dmn").order_by(Resource.id)).all():
            if res.name not in names and any(d.encode() in res.content for d in missing_dmn):
                extra.append((res.name, res.content))
                names.add(res.name)
    if not extra:
        return resources
    # re-parse everything together (the extra documents' expressions were checked when they were deployed)
    reparsed = parse_resources(resources + extra, _noop, _noop, lenient=bool(parsed.warnings))
    parsed.parser = reparsed.parser
    parsed.kinds.update(reparsed.kinds)
    parsed.meta.update({k: v for k, v in reparsed.meta.items() if k not in parsed.meta})
    parsed.async_before |= reparsed.async_before
    parsed.async_after |= reparsed.async_after
    parsed.problems.extend(p for p in reparsed.problems if p.file in {n for n, _ in extra})
    return resources + extra


def _noop(_src: str) -> None:
    return None


class ModelCache:
    """Parsed specs per definition id (specs are immutable once parsed; parsing is done once per process)."""

    def __init__(self, sandbox: Any, size: int = 256) -> None:
        self._sandbox = sandbox
        self._cache: OrderedDict[str, ProcessModel] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, session: Session, definition_id: str) -> ProcessModel:
        with self._lock:
            model = self._cache.get(definition_id)
            if model is not None:
                self._cache.move_to_end(definition_id)
                return model
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"process definition '{definition_id}' does not exist")
        resources = [(r.name, r.content) for r in session.scalars(
            select(Resource).where(Resource.deployment_id == row.deployment_id).order_by(Resource.name)).all()]
        dep = session.get(Deployment, row.deployment_id)
        parsed = parse_resources(resources, self._sandbox.check_expression, self._sandbox.check_script,
                                 lenient=bool(dep and dep.lenient))
        model = build_model(parsed, row.key)
        with self._lock:
            self._cache[definition_id] = model
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return model


def resolve_definition(session: Session, *, key: str | None = None, definition_id: str | None = None) -> ProcessDefinition:
    if definition_id:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"process definition '{definition_id}' does not exist")
        return row
    if not key:
        raise NotFound("no process definition key given")
    row = _latest(session, key)
    if row is None:
        known = session.scalars(select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)).all()
        hint = f"; deployed keys: {', '.join(known)}" if known else "; nothing is deployed yet"
        raise NotFound(f"no process definition with key '{key}'{hint}")
    return row


def count_definitions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0)


def _definition_id(key: str, version: int) -> str:
    """Camunda's ``key:version:uuid``; like Camunda, just the uuid when that would exceed the 64-character column."""
    generated = str(uuid.uuid4())
    full = f"{key}:{version}:{generated}"
    return full if len(full) <= 64 else generated


# --- deployments: read and delete ------------------------------------------------------------------------------
def _resource_names(session: Session, deployment_id: str) -> list[str]:
    return list(session.scalars(select(Resource.name).where(Resource.deployment_id == deployment_id)
                                .order_by(Resource.name)))


def get_deployment(session: Session, deployment_id: str) -> DeploymentView:
    row = session.get(Deployment, deployment_id)
    if row is None:
        raise NotFound(f"deployment '{deployment_id}' does not exist")
    return deployment_view(row, _resource_names(session, row.id))


def list_deployments(session: Session, *, deployment_id: str | None = None, name: str | None = None,
                     name_like: str | None = None, source: str | None = None,
                     after: Any = None, before: Any = None) -> list[DeploymentView]:
    stmt = select(Deployment).order_by(Deployment.deployment_time, Deployment.id)
    if deployment_id:
        stmt = stmt.where(Deployment.id == deployment_id)
    if name:
        stmt = stmt.where(Deployment.name == name)
    if name_like:
        stmt = stmt.where(Deployment.name.like(name_like))
    if source:
        stmt = stmt.where(Deployment.source == source)
    if after is not None:
        stmt = stmt.where(Deployment.deployment_time > after)
    if before is not None:
        stmt = stmt.where(Deployment.deployment_time < before)
    rows = session.scalars(stmt).all()
    names: dict[str, list[str]] = {}
    if rows:
        for dep_id, res in session.execute(select(Resource.deployment_id, Resource.name)
                                           .where(Resource.deployment_id.in_([r.id for r in rows]))
                                           .order_by(Resource.name)):
            names.setdefault(dep_id, []).append(res)
    return [deployment_view(r, names.get(r.id, [])) for r in rows]


def deployment_resources(session: Session, deployment_id: str) -> list[tuple[str, str, bytes]]:
    """(resource id, name, content) of a deployment's stored documents."""
    get_deployment(session, deployment_id)
    return [(r.id, r.name, bytes(r.content)) for r in session.scalars(
        select(Resource).where(Resource.deployment_id == deployment_id).order_by(Resource.name))]


def delete_deployment(uow: Any, deployment_id: str, *, cascade: bool = False, actor: str | None = None) -> None:
    """Delete a deployment with its resources and definitions (Camunda's semantics): without ``cascade`` it is
    refused while a case of one of its definitions exists (running or ended: an ended case keeps its definition
    here); with ``cascade`` those cases are deleted too (their tasks, jobs, variables, incidents and comments; the
    hash-chained history events stay). Timer-start jobs of the definitions are removed."""
    from sqlalchemy import delete

    from engine.errors import Conflict
    from engine.persistence.models import Comment, Job, ProcessInstance, Task

    session: Session = uow.session
    dep = session.get(Deployment, deployment_id)
    if dep is None:
        raise NotFound(f"deployment '{deployment_id}' does not exist")
    def_ids = list(session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.deployment_id == dep.id)))
    instances = list(session.execute(select(ProcessInstance.id, ProcessInstance.state)
                                     .where(ProcessInstance.definition_id.in_(def_ids)))) if def_ids else []
    if instances and not cascade:
        running = sum(1 for _id, state in instances if state in ("ACTIVE", "SUSPENDED"))
        raise Conflict(f"Deletion of process definition without cascading failed. There are {len(instances)} "
                       f"cases of deployment '{deployment_id}' ({running} running); delete with cascade=true",
                       deployment_id=deployment_id, instances=len(instances), running=running)
    ids = [i for i, _s in instances]
    if ids:
        task_ids = list(session.scalars(select(Task.id).where(Task.instance_id.in_(ids))))
        session.execute(delete(Comment).where(Comment.instance_id.in_(ids)))
        if task_ids:
            session.execute(delete(Comment).where(Comment.task_id.in_(task_ids)))
        session.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(ids)))  # the rest cascades
        for iid in ids:
            uow.cases.pop(iid, None)
            uow.loaded.pop(iid, None)
    if def_ids:
        session.execute(delete(Job).where(Job.definition_id.in_(def_ids)))
        session.execute(delete(ProcessDefinition).where(ProcessDefinition.id.in_(def_ids)))
    session.execute(delete(Resource).where(Resource.deployment_id == dep.id))
    session.execute(delete(Deployment).where(Deployment.id == dep.id))
    session.expunge_all()
    uow.record("DeploymentDeleted", actor=actor, deploymentId=deployment_id, name=dep.name, cascade=cascade,
               definitions=def_ids, deletedInstances=ids)
