"""View types the façade returns: frozen dataclasses, never ORM rows or SpiffWorkflow objects.

``as_json()`` renders Camunda REST field names (dates ISO 8601 with offset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class DeploymentView:
    id: str
    name: str | None
    source: str | None
    deployment_time: datetime
    resources: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "source": self.source, "tenantId": None,
                "deploymentTime": iso(self.deployment_time), "resources": list(self.resources)}


@dataclass(frozen=True)
class DefinitionView:
    id: str
    key: str
    version: int
    name: str | None
    deployment_id: str
    resource: str
    version_tag: str | None
    suspended: bool
    description: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "category": "http://bpmn.io/schema/bpmn",
                "description": self.description, "name": self.name, "version": self.version,
                "resource": self.resource, "deploymentId": self.deployment_id, "diagram": None,
                "suspended": self.suspended, "tenantId": None, "versionTag": self.version_tag,
                "historyTimeToLive": None, "startableInTasklist": True}


@dataclass(frozen=True)
class DeployResult:
    deployment: DeploymentView | None
    definitions: tuple[DefinitionView, ...]
    unchanged: tuple[DefinitionView, ...]
    warnings: tuple[str, ...] = ()

    @property
    def is_new(self) -> bool:
        return self.deployment is not None


@dataclass(frozen=True)
class IncidentView:
    id: str
    instance_id: str
    activity_id: str | None
    incident_type: str
    message: str
    created: datetime


@dataclass(frozen=True)
class InstanceView:
    id: str
    definition_id: str
    definition_key: str
    business_key: str | None
    state: str
    suspended: bool
    ended: bool
    active_activity_ids: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None
    has_incident: bool = False
    incidents: tuple[IncidentView, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "definitionId": self.definition_id, "definitionKey": self.definition_key,
                "businessKey": self.business_key, "caseInstanceId": None, "ended": self.ended,
                "suspended": self.suspended, "tenantId": None, "links": [], "state": self.state,
                "activeActivityIds": list(self.active_activity_ids), "startTime": iso(self.started_at),
                "endTime": iso(self.ended_at), "hasIncident": self.has_incident,
                "incidents": [{"id": i.id, "activityId": i.activity_id, "incidentType": i.incident_type,
                               "incidentMessage": i.message} for i in self.incidents]}


@dataclass(frozen=True)
class FormFieldView:
    id: str
    label: str | None
    type: str
    default_value: Any
    required: bool
    constraints: tuple[tuple[str, str | None], ...]
    options: tuple[tuple[str, str], ...]
    properties: tuple[tuple[str, str], ...] = ()  # camunda:properties of the field (e.g. widget=textarea)


@dataclass(frozen=True)
class TaskView:
    id: str
    name: str | None
    task_definition_key: str
    assignee: str | None
    owner: str | None
    created: datetime
    due: datetime | None
    follow_up: datetime | None
    priority: int
    instance_id: str
    definition_id: str
    form_key: str | None
    state: str
    delegation_state: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    description: str | None = None
    business_key: str | None = None
    completed_by: str | None = None
    ended_at: datetime | None = None
    suspended: bool = False
    lane: str | None = None
    origin: str | None = None  # engine-made tasks: formal-opinion | escalation
    parent_task_id: str | None = None
    deemed: bool = False

    def signal(self, now: datetime) -> str:
        """ON_TIME, WARNING (now >= followUp) or OVERDUE (now > due) — for an open task; an ended one: whether it
        ended after its due time."""
        at = self.ended_at or now
        if self.due is not None and at > self.due:
            return "OVERDUE"
        if self.ended_at is None and self.follow_up is not None and now >= self.follow_up:
            return "WARNING"
        return "ON_TIME"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "assignee": self.assignee, "owner": self.owner,
                "created": iso(self.created), "lastUpdated": None, "due": iso(self.due),
                "followUp": iso(self.follow_up), "delegationState": self.delegation_state,
                "description": self.description, "executionId": self.instance_id, "parentTaskId": self.parent_task_id,
                "priority": self.priority, "processDefinitionId": self.definition_id,
                "processInstanceId": self.instance_id, "taskDefinitionKey": self.task_definition_key,
                "caseExecutionId": None, "caseInstanceId": None, "caseDefinitionId": None,
                "suspended": self.suspended, "formKey": self.form_key, "camundaFormRef": None, "tenantId": None,
                "candidateGroups": list(self.candidate_groups), "candidateUsers": list(self.candidate_users),
                "state": self.state, "businessKey": self.business_key, "origin": self.origin,
                "deemed": self.deemed}


@dataclass(frozen=True)
class ExternalTaskView:
    id: str
    topic: str
    activity_id: str
    instance_id: str
    definition_id: str
    worker_id: str | None
    lock_expiration: datetime | None
    retries: int | None
    error_message: str | None
    state: str
    business_key: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    error_details: str | None = None
    priority: int = 0
    definition_key: str | None = None
    definition_version_tag: str | None = None
    suspended: bool = False
    extension_properties: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None


@dataclass(frozen=True)
class CommentView:
    id: str
    task_id: str | None
    instance_id: str | None
    user_id: str | None
    time: datetime
    message: str


@dataclass(frozen=True)
class HistoryEventView:
    seq: int
    event_type: str
    actor: str | None
    timestamp: datetime
    instance_id: str | None
    task_id: str | None
    activity_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class JobView:
    id: str
    job_type: str
    instance_id: str | None
    activity_id: str | None
    due: datetime
    state: str
    attempts: int
    last_error: str | None
    executed_by: str | None
    executed_at: datetime | None
    retry_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        # Camunda's job resource field names where they exist
        return {"id": self.id, "jobType": self.job_type, "processInstanceId": self.instance_id,
                "activityId": self.activity_id, "dueDate": iso(self.due), "state": self.state,
                "retries": max(0, 3 - self.attempts) if self.state != "DONE" else 0, "attempts": self.attempts,
                "exceptionMessage": self.last_error, "executedBy": self.executed_by,
                "executedAt": iso(self.executed_at), "retryAt": iso(self.retry_at)}


@dataclass(frozen=True)
class ActivityInstanceView:
    """A node of a case's activity instance tree (Camunda's ActivityInstance); the root is the case itself."""
    id: str
    activity_id: str
    activity_name: str | None
    activity_type: str
    instance_id: str
    definition_id: str
    parent_id: str | None
    children: tuple["ActivityInstanceView", ...] = ()
    incident_ids: tuple[str, ...] = ()
    incidents: tuple[IncidentView, ...] = ()
    task_id: str | None = None


@dataclass(frozen=True)
class HistoricInstanceView:
    id: str
    business_key: str | None
    definition_id: str
    definition_key: str
    definition_name: str | None
    definition_version: int | None
    start_time: datetime
    end_time: datetime | None
    start_user: str | None
    delete_reason: str | None
    state: str  # ACTIVE SUSPENDED COMPLETED EXTERNALLY_TERMINATED


@dataclass(frozen=True)
class HistoricActivityView:
    id: str
    activity_id: str
    activity_name: str | None
    activity_type: str
    instance_id: str
    definition_id: str | None
    definition_key: str | None
    task_id: str | None
    assignee: str | None
    start_time: datetime
    end_time: datetime | None
    canceled: bool
    completed: bool


@dataclass(frozen=True)
class IdentityLinkView:
    type: str  # assignee | owner | candidate
    user_id: str | None
    group_id: str | None


@dataclass(frozen=True)
class IncidentRecordView:
    id: str
    incident_type: str
    message: str
    created: datetime
    instance_id: str
    definition_id: str | None
    activity_id: str | None
    resolved_at: datetime | None = None
