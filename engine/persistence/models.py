"""Tables. Every field the inbox, dashboard or REST queries filter or sort on is an indexed column.

JSON is stored as order-preserving TEXT (SpiffWorkflow's delta-encoded task data depends on key order).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime

ID = String(64)
# the case variables the inbox search looks in next to the business key (the applicant's name, as the intake pages
# and the sample diagrams store it): engine.tasks.queries.TaskQuery.search; PostgreSQL indexes them for it
SEARCH_VARIABLES = ("applicant", "applicantName", "applicant_name")
# a case clock that runs or is suspended (the condition of case_clock's partial deadline indexes)
OPEN_CLOCK = "state IN ('RUNNING', 'SUSPENDED')"


def _trigram(name: str, column: str, where: str | None = None) -> Index:
    """PostgreSQL only: a GIN trigram index (extension pg_trgm, migration 0012) for ``ILIKE '%text%'`` on ``column``
    (the inbox search, docs/performance.md, Web pages)."""
    extra = {"postgresql_where": text(where)} if where else {}
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                 **extra).ddl_if(dialect="postgresql")


class Deployment(Base):
    __tablename__ = "deployment"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    deployment_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    deployed_by: Mapped[str | None] = mapped_column(String(128))
    lenient: Mapped[bool] = mapped_column(Boolean, default=False)


class Resource(Base):
    __tablename__ = "resource"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # bpmn | dmn
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    version_tag: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    startable_by_message: Mapped[str | None] = mapped_column(String(255))  # message start event names, comma list


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_state_definition", "state", "definition_id"),
                      Index("ix_process_instance_started_at", "started_at"),  # supervision: received in a period
                      # supervision: the open cases without a deadline, in receipt order (migration 0013)
                      Index("ix_process_instance_state_started", "state", "started_at", "id"),
                      _trigram("ix_process_instance_business_key_trgm", "business_key"))
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255), index=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16))  # ACTIVE SUSPENDED COMPLETED TERMINATED
    has_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    workflow_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(16))
    active_activity_ids: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(128))
    end_reason: Mapped[str | None] = mapped_column(Text)
    # head of the case's history chain (saves a query per command; the unique (chain, seq) still guards)
    history_seq: Mapped[int] = mapped_column(Integer, default=0)
    history_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    variables_digest: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class Task(Base):
    """The human-task projection the inbox queries (one row per user/manual task instance)."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_state_due", "state", "due"),
        Index("ix_task_state_created", "state", "created"),
        Index("ix_task_definition_state", "definition_id", "state"),  # the tasks of a service item's versions
        # the inbox tabs (my tasks, delegated by me, 已办): partial indexes of the rows that have a holder, so the
        # planners see how selective "assignee = ?" is (most rows are NULL there) and read the page in due order
        # (docs/performance.md, Web pages)
        Index("ix_task_assignee_state_due", "assignee", "state", "due", sqlite_where=text("assignee IS NOT NULL"),
              postgresql_where=text("assignee IS NOT NULL")),
        Index("ix_task_owner_state", "owner", "state", sqlite_where=text("owner IS NOT NULL"),
              postgresql_where=text("owner IS NOT NULL")),
        Index("ix_task_completed_by_due", "completed_by", "due", sqlite_where=text("completed_by IS NOT NULL"),
              postgresql_where=text("completed_by IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    task_definition_key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(128))
    delegation_state: Mapped[str | None] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=50, index=True)
    form_key: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))  # ACTIVE COMPLETED CANCELLED
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(128))
    lane: Mapped[str | None] = mapped_column(String(255))
    # denormalised copies of the identity links for display (queries use task_identity_link)
    candidate_groups: Mapped[str] = mapped_column(Text, default="")
    candidate_users: Mapped[str] = mapped_column(Text, default="")
    # tasks the engine creates outside the diagram (a deemed approval's 出具正式意见, an escalation's 督办 task):
    # origin says why, parent_task_id the task they come from; NULL for a task of the diagram
    origin: Mapped[str | None] = mapped_column(String(32))
    parent_task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # completed by the system under the DEEMED_APPROVED timeout policy (超时默认同意)
    deemed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # optimistic locking: a claim and a completion of the same task racing each other cannot both win
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class TaskIdentityLink(Base):
    __tablename__ = "task_identity_link"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # candidate
    user_id: Mapped[str | None] = mapped_column(String(128), index=True)
    group_id: Mapped[str | None] = mapped_column(String(128), index=True)


class ExternalTask(Base):
    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_state_topic", "state", "topic"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))  # ACTIVE COMPLETED CANCELLED
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expiration: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retries: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class Variable(Base):
    __tablename__ = "variable"
    __table_args__ = (UniqueConstraint("instance_id", "name"),
                      _trigram("ix_variable_search_trgm", "value_json",
                               "name IN (" + ", ".join(f"'{n}'" for n in SEARCH_VARIABLES) + ")"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # indexed by unique (instance_id, name)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(32))
    value_json: Mapped[str] = mapped_column(Text)


class Incident(Base):
    __tablename__ = "incident"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    incident_type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Comment(Base):
    __tablename__ = "comment"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text)


class HistoryEvent(Base):
    """Append-only audit trail. Each event of a chain (one chain per case; '' for engine-wide events)
    carries the hash of the previous one, so an edit or deletion is detectable."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(64))  # indexed by unique (chain, seq)
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- jobs ---------------------------------------------------------------------------------------------------
class Job(Base):
    """Work the engine must do at a time: a BPMN timer firing (later also deadline actions and retries).

    A job is executed, its effect committed and the job marked DONE in ONE transaction: a crash before the commit
    leaves it PENDING (it runs again), a commit means it never runs again."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_state_due", "state", "due"),
        UniqueConstraint("task_id", "job_type", "due"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_type: Mapped[str] = mapped_column(String(32))  # timer
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(64))  # the waiting SpiffWorkflow task
    definition_id: Mapped[str | None] = mapped_column(String(64), index=True)  # timer start: the definition
    payload: Mapped[str | None] = mapped_column(Text)  # timer start: {"kind", "expression", "cycles", ...}
    due: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))  # PENDING DONE CANCELLED FAILED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    executed_by: Mapped[str | None] = mapped_column(String(128))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # after a failed attempt: not before this
    lock_owner: Mapped[str | None] = mapped_column(String(128))  # the worker that acquired the job ...
    lock_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())  # ... until then; after it, anyone may
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


# --- working-day calendar -------------------------------------------------------------------------------------
from datetime import date  # noqa: E402

from sqlalchemy import Date  # noqa: E402


class CalendarDay(Base):
    """An override of the official working-day schedule (engine/calendar/data/cn.json): ``kind`` holiday or
    workday on ``day``, nationally (``region`` NULL) or for one region. One row per (day, region): the id is
    ``YYYY-MM-DD`` or ``YYYY-MM-DD@region``."""

    __tablename__ = "calendar_day"
    __table_args__ = (Index("ix_calendar_day_day_region", "day", "region"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime())


# --- the case clock (办理时限) ---------------------------------------------------------------------------------
class CaseClock(Base):
    """The deadline clock of one case: accepted at ``accepted_at`` with a promised (承诺) and a legal (法定) limit;
    closed suspensions (挂起) and approved extensions (延期) move the deadlines. ``promised_due``/``legal_due`` are
    the effective deadlines (limit + extensions + suspended working days); ``warn_at`` the yellow threshold."""

    __tablename__ = "case_clock"
    __table_args__ = (Index("ix_case_clock_state_due", "state", "promised_due"),
                      Index("ix_case_clock_state_stopped", "state", "stopped_at"),  # supervision: closed in a period
                      Index("ix_case_clock_state_warn", "state", "warn_at"),  # supervision: the warning list
                      # supervision: the received cases in deadline order (0013)
                      Index("ix_case_clock_due", "promised_due", "accepted_at", "instance_id"),
                      # supervision: the open cases in deadline order, coalesce(promised_due, legal_due) — the
                      # running and suspended clocks by promised_due, those without one by legal_due (0013); the
                      # states are constants, as the queries state them (engine.supervision._clock_runs)
                      Index("ix_case_clock_open_promised", "promised_due", "accepted_at", "instance_id",
                            sqlite_where=text(OPEN_CLOCK), postgresql_where=text(OPEN_CLOCK)),
                      Index("ix_case_clock_open_legal", "legal_due", "accepted_at", "instance_id",
                            sqlite_where=text(f"{OPEN_CLOCK} AND promised_due IS NULL"),
                            postgresql_where=text(f"{OPEN_CLOCK} AND promised_due IS NULL")))
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # WAITING RUNNING SUSPENDED STOPPED
    region: Mapped[str | None] = mapped_column(String(48))
    promised_limit: Mapped[str | None] = mapped_column(String(16))  # e.g. 5wd, 0.5wd, 4h
    legal_limit: Mapped[str | None] = mapped_column(String(16))
    warn_before: Mapped[str | None] = mapped_column(String(16))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_days: Mapped[int] = mapped_column(Integer, default=0)  # working days of closed suspensions
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    promised_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class CaseSuspension(Base):
    """挂起: time that does not count (补正 after acceptance, expert review, public notice, site inspection...)."""

    __tablename__ = "case_suspension"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    expected_days: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(128))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(128))
    working_days: Mapped[int | None] = mapped_column(Integer)  # set on resume: what the deadlines moved by


class CaseExtension(Base):
    """延期: approved before expiry by the agency head; moves the deadlines by ``days`` working days."""

    __tablename__ = "case_extension"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- outbox: notifications leave the engine once ---------------------------------------------------------------
class OutboxMessage(Base):
    """A notification written in the transaction that decided it; a job delivers it (idempotency key = id)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_created", "state", "created"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(32))  # notice (the notifier decides mail/SMS/IM)
    recipients: Mapped[str] = mapped_column(Text)  # comma list: user:x, group:y, role:z
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # PENDING SENT
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- identity: users, groups (departments), memberships, roles -------------------------------------------------
from sqlalchemy import CheckConstraint  # noqa: E402

ROLE_NAMES = ("clerk", "reviewer", "leader", "supervisor", "designer", "admin")


class User(Base):
    """A person who logs in (Camunda's ACT_ID_USER). ``id`` is the login name; the password is stored only as an
    argon2id hash (``password_hash``, PHC string with its own parameters and salt). Users are deactivated, never
    deleted: the history names them."""

    __tablename__ = "identity_user"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed: Mapped[datetime] = mapped_column(UTCDateTime())  # sessions older than this are void


class Group(Base):
    """A group of users (Camunda's ACT_ID_GROUP); ``type`` 'department' is a department (科室/部门): its id is the
    candidate group of that department's tasks."""

    __tablename__ = "identity_group"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32), default="department")
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    __tablename__ = "identity_membership"
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_user.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("identity_group.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)


class UserRole(Base):
    """One of the six roles of a user (engine/identity/access.py says what each may see and do)."""

    __tablename__ = "identity_user_role"
    __table_args__ = (CheckConstraint("role IN ('" + "', '".join(ROLE_NAMES) + "')", name="role"),)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


# --- window intake (一窗受理): applications and their 办件编号 -------------------------------------------------------
class CaseNumberCounter(Base):
    """The sequence of 办件编号 per scope (the number with its sequence left out, e.g. ``330100-20260302-#``: a
    daily sequence per region). Taken with ``UPDATE ... SET value = value + 1 RETURNING value`` in the command that
    records the application, so two clerks never get the same number (engine/intake/numbers.py)."""

    __tablename__ = "case_number_counter"
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class IntakeApplication(Base):
    """An application received at the window (一窗受理), before and after it becomes a case: NOTIFIED (一次性告知,
    waiting for 补正; no case, no clock), ACCEPTED (受理 or 容缺受理: ``instance_id`` is the case, its business key
    is ``number``), REJECTED (不予受理, ``reason``). JSON columns: the applicant, the materials checklist, the notice,
    the 容缺 commitment, the application's own log of actions."""

    __tablename__ = "intake_application"
    __table_args__ = (Index("ix_intake_application_state_created", "state", "created"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    item_key: Mapped[str] = mapped_column(String(255), index=True)
    item_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))  # NOTIFIED ACCEPTED REJECTED
    outcome: Mapped[str] = mapped_column(String(16))  # accept gap notify reject (the last decision)
    applicant_name: Mapped[str] = mapped_column(String(255), index=True)
    applicant_phone: Mapped[str | None] = mapped_column(String(32))
    applicant_json: Mapped[str] = mapped_column(Text)
    materials_json: Mapped[str] = mapped_column(Text)
    notice_json: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    commitment_json: Mapped[str | None] = mapped_column(Text)
    log_json: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    follow_up_task_id: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promised_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(128))
    updated: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


# --- in-app notifications (the bell): one row per message and user, with its read state ---------------------------
class Notification(Base):
    """A notification of the outbox (``message_id``) for one user, fanned out in the transaction that queued the
    message (``engine.notifications``: ``user:x`` is x, ``group:g`` its members, ``role:supervisor`` the
    supervisors, ``role:leader`` the leaders of the departments concerned). ``read_at`` is the user's read state:
    the bell counts the rows of a user with ``read_at IS NULL`` (index ``user_id, read_at``)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the outbox channel: notice urge assignment ...
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
