"""The engine façade. Services carry Camunda's names; every state-changing method is one command in one
transaction (``Executor.run``); reads run in their own read-only transaction (``Executor.read``)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from engine import historic, history
from engine._executor import Executor
from engine.calendar.service import CalendarService
from engine.caseclock.service import CaseService, NotificationService
from engine.definitions import deployment as deployments
from engine.errors import InvalidInput, NotFound
from engine.identity.service import IdentityService
from engine.jobs import executor as job_executor
from engine.persistence.models import Deployment, HistoryEvent, Job, ProcessDefinition, ProcessInstance, Resource
from engine.runtime import activities, external, instances
from engine.tasks import commands as task_commands
from engine.tasks import queries as task_queries
from engine.tasks import returns as task_returns
from engine.types import (
    ActivityInstanceView,
    DeploymentView,
    FormFieldView,
    HistoricActivityView,
    HistoricInstanceView,
    IdentityLinkView,
    IncidentRecordView,
    JobView,
    ChainReport,
    CommentView,
    DefinitionView,
    DeployResult,
    ExternalTaskView,
    HistoryEventView,
    InstanceView,
    TaskView,
)


class RepositoryService:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    def deploy(self, resources: list[tuple[str, bytes]], *, name: str | None = None, source: str | None = None,
               deployed_by: str | None = None, duplicate_filtering: bool = True, lenient: bool = False,
               changed_only: bool = True) -> DeployResult:
        """Validate and deploy BPMN/DMN documents given as (file name, bytes). Raises DeploymentError."""
        return self._ex.run(partial(deployments.deploy, resources=resources, name=name, source=source,
                                    deployed_by=deployed_by, duplicate_filtering=duplicate_filtering,
                                    lenient=lenient, changed_only=changed_only))

    def deploy_files(self, paths: list[str | Path], **kwargs: Any) -> DeployResult:
        resources = []
        for p in paths:
            path = Path(p)
            if not path.is_file():
                raise InvalidInput(f"{path}: no such file")
            resources.append((path.name, path.read_bytes()))
        return self.deploy(resources, **kwargs)

    def definitions(self, key: str | None = None, latest_only: bool = False) -> list[DefinitionView]:
        def q(session: Any) -> list[DefinitionView]:
            stmt = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
            if key:
                stmt = stmt.where(ProcessDefinition.key == key)
            rows = session.scalars(stmt).all()
            if latest_only:
                latest: dict[str, ProcessDefinition] = {}
                for r in rows:
                    latest[r.key] = r
                rows = list(latest.values())
            return [deployments.definition_view(r) for r in rows]
        return self._ex.read(q)

    def definition(self, *, key: str | None = None, definition_id: str | None = None) -> DefinitionView:
        return self._ex.read(lambda s: deployments.definition_view(
            deployments.resolve_definition(s, key=key, definition_id=definition_id)))

    def definition_xml(self, definition_id: str) -> bytes:
        def q(session: Any) -> bytes:
            row = deployments.resolve_definition(session, definition_id=definition_id)
            res = session.scalars(select(Resource).where(Resource.deployment_id == row.deployment_id,
                                                         Resource.name == row.resource_name)).first()
            if res is None:
                raise NotFound(f"resource of '{definition_id}' is missing")
            return bytes(res.content)
        return self._ex.read(q)

    def deployments(self) -> list[dict[str, Any]]:
        return self._ex.read(lambda s: [
            {"id": d.id, "name": d.name, "source": d.source, "deploymentTime": d.deployment_time}
            for d in s.scalars(select(Deployment).order_by(Deployment.deployment_time))])

    def deployment(self, deployment_id: str) -> DeploymentView:
        return self._ex.read(lambda s: deployments.get_deployment(s, deployment_id))

    def deployment_list(self, **filters: Any) -> list[DeploymentView]:
        """Filters: deployment_id, name, name_like, source, after, before."""
        return self._ex.read(lambda s: deployments.list_deployments(s, **filters))

    def deployment_resources(self, deployment_id: str) -> list[tuple[str, str, bytes]]:
        return self._ex.read(lambda s: deployments.deployment_resources(s, deployment_id))

    def delete_deployment(self, deployment_id: str, *, cascade: bool = False, actor: str | None = None) -> None:
        """Delete a deployment, its resources and definitions; refused (Conflict) while cases of them exist unless
        ``cascade``, which deletes those cases too."""
        self._ex.run(partial(deployments.delete_deployment, deployment_id=deployment_id, cascade=cascade,
                             actor=actor))


class RuntimeService:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    def start(self, key: str | None = None, *, definition_id: str | None = None, business_key: str | None = None,
              variables: dict[str, Any] | None = None, started_by: str | None = None) -> InstanceView:
        """Start a case of the latest version of ``key`` (or of ``definition_id``)."""
        return self._ex.run(partial(instances.start_instance, key=key, definition_id=definition_id,
                                    business_key=business_key, variables=variables, started_by=started_by),
                            optimistic=True)

    def correlate(self, message: str, *, business_key: str | None = None,
                  correlation_keys: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                  all_matches: bool = False, actor: str | None = None) -> list[InstanceView]:
        return self._ex.run(partial(instances.correlate_message, name=message, business_key=business_key,
                                    correlation_keys=correlation_keys, variables=variables,
                                    all_matches=all_matches, actor=actor))

    def suspend(self, instance_id: str, actor: str | None = None) -> InstanceView:
        return self._ex.run(partial(instances.set_suspended, instance_id=instance_id, suspended=True, actor=actor))

    def resume(self, instance_id: str, actor: str | None = None) -> InstanceView:
        return self._ex.run(partial(instances.set_suspended, instance_id=instance_id, suspended=False, actor=actor))

    def terminate(self, instance_id: str, *, reason: str | None = None, actor: str | None = None) -> InstanceView:
        return self._ex.run(partial(instances.terminate, instance_id=instance_id, reason=reason, actor=actor))

    def set_variables(self, instance_id: str, variables: dict[str, Any], actor: str | None = None) -> InstanceView:
        return self._ex.run(partial(instances.set_variables, instance_id=instance_id, variables=variables,
                                    actor=actor))

    def variables(self, instance_id: str) -> dict[str, Any]:
        """The case's current variables as plain values (the full data, read from the workflow itself)."""
        return self._ex.read(lambda s: instances.case_variables(s, self._ex.services, instance_id))

    def instance(self, instance_id: str) -> InstanceView:
        return self._ex.read(lambda s: instances.get_instance(s, instance_id))

    def delete_variables(self, instance_id: str, names: list[str], actor: str | None = None) -> None:
        self._ex.run(partial(activities.delete_variables, instance_id=instance_id, names=names, actor=actor))

    def activity_instance(self, instance_id: str) -> ActivityInstanceView:
        """The case's activity instance tree: the case at the root, its active activities below."""
        return self._ex.read(lambda s: activities.activity_tree(s, self._ex.services, instance_id))

    def incidents(self, **filters: Any) -> list[IncidentRecordView]:
        """Open incidents. Filters: incident_id, instance_id, incident_type, activity_id, definition_id."""
        return self._ex.read(lambda s: historic.incidents(s, **filters))

    def instances(self, *, business_key: str | None = None, definition_key: str | None = None,
                  state: str | None = None) -> list[InstanceView]:
        def q(session: Any) -> list[InstanceView]:
            stmt = select(ProcessInstance).order_by(ProcessInstance.started_at, ProcessInstance.id)
            if business_key:
                stmt = stmt.where(ProcessInstance.business_key == business_key)
            if definition_key:
                stmt = stmt.where(ProcessInstance.definition_key == definition_key)
            if state:
                stmt = stmt.where(ProcessInstance.state == state)
            return [instances.instance_view(session, r) for r in session.scalars(stmt)]
        return self._ex.read(q)


class TaskService:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    def claim(self, task_id: str, user_id: str) -> TaskView:
        return self._ex.run(partial(task_commands.claim, task_id=task_id, user_id=user_id))

    def unclaim(self, task_id: str, user_id: str | None = None) -> TaskView:
        return self._ex.run(partial(task_commands.unclaim, task_id=task_id, user_id=user_id))

    def set_assignee(self, task_id: str, assignee: str | None, actor: str | None = None) -> TaskView:
        return self._ex.run(partial(task_commands.set_assignee, task_id=task_id, assignee=assignee, actor=actor))

    def delegate(self, task_id: str, user_id: str, actor: str | None = None) -> TaskView:
        return self._ex.run(partial(task_commands.delegate, task_id=task_id, user_id=user_id, actor=actor))

    def resolve(self, task_id: str, user_id: str | None = None, variables: dict[str, Any] | None = None) -> TaskView:
        return self._ex.run(partial(task_commands.resolve, task_id=task_id, user_id=user_id, variables=variables))

    def complete(self, task_id: str, user_id: str | None = None, variables: dict[str, Any] | None = None, *,
                 access: Any = None) -> TaskView:
        """``access``: check that this caller may complete the task, in the completion's own transaction."""
        return self._ex.run(partial(task_commands.complete, task_id=task_id, user_id=user_id, variables=variables,
                                    access=access), optimistic=True)

    def return_to(self, task_id: str, target_activity_id: str, reason: str, user_id: str | None = None) -> TaskView:
        """退回: end the task and make the earlier step ``target_activity_id`` active again (see
        engine/tasks/returns.py for where the diagram allows it); returns the ended task."""
        return self._ex.run(partial(task_returns.return_to, task_id=task_id, target_activity_id=target_activity_id,
                                    reason=reason, user_id=user_id), optimistic=True)

    def return_targets(self, task_id: str, *, include_refused: bool = False) -> list[task_returns.ReturnTarget]:
        """The earlier steps the task may be returned to, nearest first (``include_refused``: also the ones it may
        not, each with why)."""
        return self._ex.read(lambda s: task_returns.return_targets(s, self._ex.services, task_id,
                                                                   include_refused=include_refused))

    def request_correction(self, task_id: str, *, materials: Any = None, reason: str | None = None,
                           expected_days: int | None = None, user_id: str | None = None) -> Any:
        """要求补正 from a task: the case clock stops (kind supplement) until ``correction_received``."""
        return self._ex.run(partial(task_returns.request_correction, task_id=task_id, materials=materials,
                                    reason=reason, expected_days=expected_days, user_id=user_id))

    def correction_received(self, task_id: str | None = None, *, case: str | None = None,
                            user_id: str | None = None, note: str | None = None) -> Any:
        """补正已收到 (at a task of the case, or for the case by id/business key): the clock runs again."""
        return self._ex.run(partial(task_returns.correction_received, task_id=task_id, case=case,
                                    user_id=user_id, note=note))

    def corrections_pending(self, *, search: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Accepted cases waiting for 补正 (a reviewer's 要求补正), oldest first: for the window, which records the
        materials' arrival (``correction_received``). One query."""
        return self._ex.read(lambda s: task_returns.corrections_pending(s, search=search, limit=limit))

    def pending_correction(self, instance_id: str) -> dict[str, Any] | None:
        """The open 补正 of a case (id, reason, since, by), or None."""
        def q(session: Any) -> dict[str, Any] | None:
            s = task_returns.pending_correction(session, instance_id)
            return None if s is None else {"id": s.id, "reason": s.reason, "startedAt": s.started_at,
                                           "startedBy": s.started_by, "expectedWorkingDays": s.expected_days}
        return self._ex.read(q)

    def comment(self, task_id: str, message: str, user_id: str | None = None) -> CommentView:
        return self._ex.run(partial(task_commands.add_comment, task_id=task_id, instance_id=None, user_id=user_id,
                                    message=message))

    def comments(self, task_id: str) -> list[CommentView]:
        return self._ex.read(lambda s: task_queries.comments(s, task_id=task_id))

    def variables(self, task_id: str) -> dict[str, Any]:
        """The data a task sees (its local scope: for a multi-instance task, its own element variable too)."""
        return self._ex.read(lambda s: instances.task_variables(s, self._ex.services, task_id))

    def task(self, task_id: str) -> TaskView:
        return self._ex.read(lambda s: task_queries.get_task(s, task_id))

    def list(self, query: task_queries.TaskQuery | None = None, **kwargs: Any) -> list[TaskView]:
        q = query or task_queries.TaskQuery(**kwargs)
        return self._ex.read_rows(lambda s: task_queries.list_tasks(s, q))

    def count(self, query: task_queries.TaskQuery | None = None, **kwargs: Any) -> int:
        q = query or task_queries.TaskQuery(**kwargs)
        return self._ex.read_rows(lambda s: task_queries.count_tasks(s, q))

    def case_variables(self, instance_ids: list[str] | tuple[str, ...],
                       names: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """The variables ``names`` of the cases of a page of tasks, in one query: {instance id: {name: value}}."""
        return self._ex.read_rows(lambda s: task_queries.instance_variables(s, instance_ids, names))

    def identity_links(self, task_id: str, link_type: str | None = None) -> list[IdentityLinkView]:
        return self._ex.read(lambda s: activities.identity_links(s, task_id, link_type))

    def add_identity_link(self, task_id: str, *, user_id: str | None = None, group_id: str | None = None,
                          link_type: str = "candidate", actor: str | None = None) -> None:
        self._ex.run(partial(activities.add_identity_link, task_id=task_id, user_id=user_id, group_id=group_id,
                             link_type=link_type, actor=actor))

    def delete_identity_link(self, task_id: str, *, user_id: str | None = None, group_id: str | None = None,
                             link_type: str = "candidate", actor: str | None = None) -> None:
        self._ex.run(partial(activities.delete_identity_link, task_id=task_id, user_id=user_id,
                             group_id=group_id, link_type=link_type, actor=actor))

    def form_fields(self, task_id: str) -> list[tuple[FormFieldView, Any]]:
        """The task's ``camunda:formField``s, each with its current value."""
        return self._ex.read(lambda s: activities.form_fields(s, self._ex.services, task_id))

    def candidate_group_counts(self) -> list[tuple[str | None, int]]:
        return self._ex.read(activities.candidate_group_counts)


class ExternalTaskService:
    """External service tasks as work items: fetch and lock (at most one worker holds a task until its lock
    expires on the engine clock), then complete, failure, BPMN error, extend lock; unlock and retries by an
    operator. ``topics``: ``external.TopicRequest`` or (name, lock duration ms[, variable names])."""

    TopicRequest = external.TopicRequest
    Query = external.ExternalTaskQuery

    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    def fetch_and_lock(self, worker_id: str, topics: list[Any], max_tasks: int = 1,
                       use_priority: bool = False) -> list[ExternalTaskView]:
        return self._ex.run(partial(external.fetch_and_lock, worker_id=worker_id, topics=topics,
                                    max_tasks=max_tasks, use_priority=use_priority))

    def has_fetchable(self, worker_id: str, topics: list[Any]) -> bool:
        """Read-only: would a fetch of these topics lock something now? (no write lock taken)"""
        return self._ex.read(lambda s: external.has_fetchable(s, self._ex.clock.now(), worker_id, topics))

    def complete(self, task_id: str, worker_id: str, variables: dict[str, Any] | None = None,
                 local_variables: dict[str, Any] | None = None) -> None:
        self._ex.run(partial(external.complete, task_id=task_id, worker_id=worker_id, variables=variables,
                             local_variables=local_variables))

    def failure(self, task_id: str, worker_id: str, *, error_message: str | None = None,
                error_details: str | None = None, retries: int = 0, retry_timeout: int = 0,
                variables: dict[str, Any] | None = None, local_variables: dict[str, Any] | None = None) -> None:
        self._ex.run(partial(external.failure, task_id=task_id, worker_id=worker_id, error_message=error_message,
                             error_details=error_details, retries=retries, retry_timeout=retry_timeout,
                             variables=variables, local_variables=local_variables))

    def bpm_error(self, task_id: str, worker_id: str, error_code: str, error_message: str | None = None,
                  variables: dict[str, Any] | None = None) -> str | None:
        """Returns the id of the boundary event that caught the error (None: uncaught, now an incident)."""
        return self._ex.run(partial(external.bpm_error, task_id=task_id, worker_id=worker_id,
                                    error_code=error_code, error_message=error_message, variables=variables))

    def extend_lock(self, task_id: str, worker_id: str, new_duration: int) -> None:
        self._ex.run(partial(external.extend_lock, task_id=task_id, worker_id=worker_id,
                             new_duration=new_duration))

    def unlock(self, task_id: str, actor: str | None = None) -> None:
        self._ex.run(partial(external.unlock, task_id=task_id, actor=actor))

    def set_retries(self, task_id: str, retries: int, actor: str | None = None) -> None:
        self._ex.run(partial(external.set_retries, task_id=task_id, retries=retries, actor=actor))

    def get(self, task_id: str) -> ExternalTaskView:
        return self._ex.read(lambda s: external.get(s, task_id))

    def error_details(self, task_id: str) -> str | None:
        return self._ex.read(lambda s: external.error_details(s, task_id))

    def query(self, query: external.ExternalTaskQuery | None = None, **kwargs: Any) -> list[ExternalTaskView]:
        q = query or external.ExternalTaskQuery(**kwargs)
        return self._ex.read(lambda s: external.query(s, self._ex.clock.now(), q))

    def count(self, query: external.ExternalTaskQuery | None = None, **kwargs: Any) -> int:
        q = query or external.ExternalTaskQuery(**kwargs)
        return self._ex.read(lambda s: external.count(s, self._ex.clock.now(), q))

    def list(self, **kwargs: Any) -> list[ExternalTaskView]:
        """Every row (ended ones too) of a ``topic`` or a case (``instance_id``)."""
        return self._ex.read(lambda s: external.list_external(s, **kwargs))

    def wait_for_work(self, worker_id: str, topics: list[Any], timeout: float, *, poll: float = 0.2) -> bool:
        """Block (no transaction open) until a task of ``topics`` is fetchable or ``timeout`` seconds pass. Woken
        at once by tasks made available in this process, and re-checks the database every ``poll`` seconds for
        those of other processes (and for expiring locks and retry timeouts). True if work seems available."""
        import time

        deadline = time.monotonic() + max(0.0, timeout)
        generation = external.AVAILABLE.generation
        while True:
            if self.has_fetchable(worker_id, topics):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            generation = external.AVAILABLE.wait(generation, min(poll, remaining))


class JobService:
    """Jobs (BPMN timers and the registered job types): list them, fire the due ones (each at most once, under a
    lease), retry a failed one. ``lease_seconds``: how long an acquired job stays this caller's (wall time);
    ``batch_size``: timers fired per transaction."""

    def __init__(self, ex: Executor, *, lease_seconds: float | None = None, batch_size: int = 20) -> None:
        self._ex = ex
        self.lease_seconds = job_executor.DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.batch_size = batch_size

    def list(self, states: tuple[str, ...] = ("PENDING", "FAILED"), instance_id: str | None = None) -> list[JobView]:
        def q(session: Any) -> list[JobView]:
            stmt = select(Job).where(Job.state.in_(states)).order_by(Job.due, Job.id)
            if instance_id:
                stmt = stmt.where(Job.instance_id == instance_id)
            return [job_executor.LeasedJobView(j.id, j.job_type, j.instance_id, j.activity_id, j.due, j.state,
                                               j.attempts, j.last_error, j.executed_by, j.executed_at, j.retry_at,
                                               j.lock_owner, j.lock_expires) for j in session.scalars(stmt)]
        return self._ex.read(q)

    def next_due(self) -> Any:
        return self._ex.read(job_executor.next_due)

    def acquire(self, now: Any = None, *, limit: int = 1000, worker_id: str | None = None,
                lease_seconds: float | None = None) -> tuple[str, list[Any]]:
        """Lease up to ``limit`` jobs due at ``now`` (default: the engine clock): (lease owner, jobs)."""
        at = now if now is not None else self._ex.clock.now()
        owner = job_executor.lease_owner(worker_id)
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        return owner, self._ex.run(partial(job_executor.acquire, at=at, limit=limit, owner=owner,
                                           lease_seconds=lease))

    def execute_due(self, now: Any = None, *, limit: int = 1000, worker_id: str | None = None,
                    lease_seconds: float | None = None) -> list[Any]:
        """Acquire the jobs due at or before ``now`` (default: the engine clock) and fire them, each at most once:
        timers several per transaction, other job types one per transaction."""
        from engine.clock import FrozenClock

        base = FrozenClock(now) if now is not None else self._ex.clock
        owner, acquired = self.acquire(base.now(), limit=limit, worker_id=worker_id, lease_seconds=lease_seconds)
        return self.fire(acquired, owner, worker_id=worker_id, base=base)

    def fire(self, acquired: list[Any], owner: str, *, worker_id: str | None = None, base: Any = None) -> list[Any]:
        """Fire jobs acquired under ``owner``'s lease."""
        base = base or self._ex.clock
        results: list[Any] = []
        for group, batched in job_executor.plan(acquired, self.batch_size):
            results.extend(self._fire_group(group, batched, base, worker_id, owner))
        return results

    def _fire_group(self, group: list[Any], batched: bool, base: Any, worker_id: str | None,
                    owner: str) -> list[Any]:
        from engine.errors import EngineError

        clock = job_executor.NotBefore(base, max(a.due for a in group) + timedelta(microseconds=1))
        try:
            return self._ex.run(partial(job_executor.fire_batch, jobs=group, worker_id=worker_id, owner=owner),
                                optimistic=batched, clock=clock)
        except job_executor.JobFailed as failed:  # rolled back: record the failing job, fire the others again
            i = next(k for k, a in enumerate(group) if a.id == failed.job_id)
            error = failed.error
        except Exception as exc:  # noqa: BLE001 - e.g. too many conflicts: each job on its own, then count it
            if len(group) > 1:
                return [r for a in group for r in self._fire_group([a], batched, base, worker_id, owner)]
            i, error = 0, exc
        out = self._fire_group(group[:i], batched, base, worker_id, owner) if i else []
        message = str(error) if isinstance(error, EngineError) else f"{type(error).__name__}: {error}"
        out.append(self._ex.run(partial(job_executor.record_failure, job_id=group[i].id, error=message,
                                        worker_id=worker_id, owner=owner), clock=base))
        if i + 1 < len(group):
            out.extend(self._fire_group(group[i + 1:], batched, base, worker_id, owner))
        return out

    def retry(self, job_id: str, actor: str | None = None) -> None:
        self._ex.run(partial(job_executor.retry, job_id=job_id, actor=actor))

    def execute(self, job_id: str, worker_id: str | None = None, *, lease_seconds: float | None = None) -> Any:
        """Execute one job now, whatever its due date (Camunda's ``POST /job/{id}/execute``): lease it to this
        caller in a short transaction (NotFound: unknown, done or cancelled; SuspendedEntity: its case is
        suspended; Conflict: failed - retry it first - or leased by a worker firing it right now), then fire it on
        the path of ``fire`` (the engine clock at max(now, due), effect and DONE in one transaction, a failure
        recorded as an attempt). Returns the ``JobResult`` (outcome ``failed`` or ``incident``: it did not
        succeed). At most once: a second call finds the job done (NotFound)."""
        owner = job_executor.lease_owner(worker_id)
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        acquired = self._ex.run(partial(_lease_job, job_id=job_id, owner=owner, lease_seconds=lease))
        results = self.fire([acquired], owner, worker_id=worker_id)
        return results[0] if results else job_executor.JobResult(job_id, "skipped")


def _lease_job(uow: Any, job_id: str, owner: str, lease_seconds: float) -> Any:
    """Lease one job to ``owner`` whatever its due date (``JobService.execute``)."""
    from engine.errors import Conflict, SuspendedEntity

    job = uow.session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.state in ("DONE", "CANCELLED"):
        raise NotFound(f"No job found with id '{job_id}'" + (f" (it is {job.state.lower()})" if job else ""))
    if job.state == "FAILED":
        raise Conflict(f"job '{job_id}' failed after {job.attempts} attempts: set its retries first")
    if job.state != "PENDING":
        raise SuspendedEntity(f"job '{job_id}' is {job.state.lower()} (its case is suspended)")
    wall = job_executor.wall_now()
    if job.lock_owner is not None and job.lock_expires is not None and job.lock_expires > wall:
        raise Conflict(f"job '{job_id}' is being executed by {job.lock_owner.rsplit('/', 1)[0]}")
    job.lock_owner, job.lock_expires = owner, wall + timedelta(seconds=lease_seconds)
    uow.session.flush()
    return job_executor.Acquired(job.id, job.due, job.job_type, job.instance_id, job.definition_id)


class HistoryService:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    def events(self, instance_id: str | None = None, *, types: tuple[str, ...] | list[str] | None = None,
               last: int | None = None) -> list[HistoryEventView]:
        """The events of one case's chain (or of the engine-wide chain: users, departments, calendar, ...) in
        order; only those of ``types`` when given; only the ``last`` n (still oldest first) when given."""
        import json

        def q(session: Any) -> list[HistoryEventView]:
            stmt = select(HistoryEvent).where(HistoryEvent.chain == (instance_id or ""))
            if types is not None:
                stmt = stmt.where(HistoryEvent.event_type.in_(list(types)))
            if last is not None:
                stmt = stmt.order_by(HistoryEvent.seq.desc()).limit(max(0, int(last)))
            rows = sorted(session.scalars(stmt), key=lambda e: e.seq) if last is not None \
                else session.scalars(stmt.order_by(HistoryEvent.seq))
            return [HistoryEventView(e.seq, e.event_type, e.actor, e.timestamp, e.instance_id, e.task_id,
                                     e.activity_id, json.loads(e.payload)) for e in rows]
        return self._ex.read(q)

    def process_instances(self, **filters: Any) -> list[HistoricInstanceView]:
        """Cases running and ended (``engine.historic.historic_instances`` filters)."""
        return self._ex.read(lambda s: historic.historic_instances(s, **filters))

    def process_instance(self, instance_id: str) -> HistoricInstanceView:
        return self._ex.read(lambda s: historic.historic_instance(s, instance_id))

    def activity_instances(self, **filters: Any) -> list[HistoricActivityView]:
        """User and external task activity instances rebuilt from the history events."""
        return self._ex.read(lambda s: historic.historic_activities(s, **filters))

    def verify(self, instance_id: str | None = None) -> list[ChainReport]:
        """Verify the hash chain of one case (by id or business key), or of every chain when none is given."""
        def q(session: Any) -> list[ChainReport]:
            if instance_id is None:
                chains = session.scalars(select(HistoryEvent.chain).distinct().order_by(HistoryEvent.chain)).all()
                return [history.verify_chain(session, c) for c in chains]
            row = session.get(ProcessInstance, instance_id) or session.scalars(
                select(ProcessInstance).where(ProcessInstance.business_key == instance_id)).first()
            if row is None:
                raise NotFound(f"no case with id or business key '{instance_id}'")
            return [history.verify_chain(session, row.id)]
        return self._ex.read(q)


class Engine:
    """The one public entry point: ``engine.repository``, ``.runtime``, ``.tasks``, ``.external_tasks``,
    ``.history``, ``.jobs``, ``.calendar``."""

    def __init__(self, db: Engine, executor: Executor, services: Any) -> None:
        self.db = db
        self.services = services
        self.executor = executor
        self.repository = RepositoryService(executor)
        self.runtime = RuntimeService(executor)
        self.tasks = TaskService(executor)
        self.external_tasks = ExternalTaskService(executor)
        self.history = HistoryService(executor)
        self.jobs = JobService(executor)
        self.calendar = CalendarService(executor)
        self.cases = CaseService(executor)
        self.notifications = NotificationService(executor)
        self.identity = IdentityService(executor)
        from engine.intake import IntakeService

        self.intake = IntakeService(executor)
        from engine.supervision import SupervisionService

        self.supervision = SupervisionService(executor)

    @property
    def clock(self) -> Any:
        return self.executor.clock

    def close(self) -> None:
        self.db.dispose()
