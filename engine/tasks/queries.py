"""Inbox queries (read side)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.persistence import models
from engine.persistence.models import (
    Comment,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskIdentityLink,
    Variable,
)
from engine.types import CommentView, TaskView

# Queries are Core statements on the tables (no ORM entities): the inbox is read far more often than written,
# and Core rows skip the ORM's identity map and instrumentation.
T = Task.__table__.c
PI = ProcessInstance.__table__.c
LINK = TaskIdentityLink.__table__.c
VAR = Variable.__table__.c
# the case variables ``TaskQuery.search`` looks in next to the business key (the applicant's name, as the intake
# pages and the sample diagrams store it)
SEARCH_VARIABLES = models.SEARCH_VARIABLES
SORT_FIELDS = {"created": T.created, "dueDate": T.due, "followUpDate": T.follow_up,
               "priority": T.priority, "name": T.name, "assignee": T.assignee, "id": T.id}


@dataclass(frozen=True)
class TaskQuery:
    state: str | None = "ACTIVE"
    assignee: str | None = None
    unassigned: bool = False
    candidate_group: str | None = None
    candidate_groups: tuple[str, ...] = ()
    candidate_user: str | None = None
    instance_id: str | None = None
    business_key: str | None = None
    task_definition_key: str | None = None
    lane: str | None = None
    definition_key: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    follow_up_before: datetime | None = None
    owner: str | None = None
    completed_by: str | None = None
    # free-text search (the inbox's search box): the business key or an applicant variable (SEARCH_VARIABLES)
    # contains this text, case-insensitively where the database allows
    search: str | None = None
    # data scope (engine.identity.Access.task_scope): (user id, group ids) keeps the tasks whose assignee, owner or
    # completer is the user, or that name the user or one of the groups as candidates; None = no restriction
    visible_to: tuple[str, tuple[str, ...]] | None = None
    sort_by: str = "created"
    sort_order: str = "asc"
    first_result: int = 0
    max_results: int | None = None


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(v for v in (text or "").split(",") if v)


def _view(row: Any, business_key: str | None, suspended: bool) -> TaskView:
    return TaskView(id=row.id, name=row.name, task_definition_key=row.task_definition_key, assignee=row.assignee,
                    owner=row.owner, created=row.created, due=row.due, follow_up=row.follow_up,
                    priority=row.priority, instance_id=row.instance_id, definition_id=row.definition_id,
                    form_key=row.form_key, state=row.state, delegation_state=row.delegation_state,
                    candidate_groups=_split(row.candidate_groups), candidate_users=_split(row.candidate_users),
                    description=row.description, business_key=business_key, completed_by=row.completed_by,
                    ended_at=row.ended_at, suspended=suspended, lane=row.lane, origin=row.origin,
                    parent_task_id=row.parent_task_id, deemed=bool(row.deemed))


def task_view(session: Session, row: Task, instance: ProcessInstance | None = None) -> TaskView:
    instance = instance or session.get(ProcessInstance, row.instance_id)
    return _view(row, instance.business_key if instance else None, bool(instance and instance.state == "SUSPENDED"))


def get_task(session: Session, task_id: str) -> TaskView:
    row = session.get(Task, task_id)
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    return task_view(session, row)


# (condition builder, parameter getter) per filter; statements are built once per combination of filters used
_FILTERS: dict[str, tuple[Any, Any]] = {
    "state": (lambda: T.state == bindparam("state"), lambda q: q.state),
    "assignee": (lambda: T.assignee == bindparam("assignee"), lambda q: q.assignee),
    "unassigned": (lambda: T.assignee.is_(None), lambda q: q.unassigned or None),
    "groups": (lambda: T.id.in_(select(LINK.task_id).where(
        LINK.group_id.in_(bindparam("groups", expanding=True)))),
        lambda q: (list(q.candidate_groups) + ([q.candidate_group] if q.candidate_group else [])) or None),
    "candidate_user": (lambda: or_(T.assignee == bindparam("candidate_user"), T.id.in_(
        select(LINK.task_id).where(LINK.user_id == bindparam("candidate_user")))),
        lambda q: q.candidate_user),
    "instance_id": (lambda: T.instance_id == bindparam("instance_id"), lambda q: q.instance_id),
    "business_key": (lambda: PI.business_key == bindparam("business_key"), lambda q: q.business_key),
    "task_definition_key": (lambda: T.task_definition_key == bindparam("task_definition_key"),
                            lambda q: q.task_definition_key),
    "lane": (lambda: T.lane == bindparam("lane"), lambda q: q.lane),
    # the service item by the task's own definition (the versions of that key), not the joined case's key: the
    # counts then need no join with the cases (a task's definition is its case's; cases never change definition)
    "definition_key": (lambda: T.definition_id.in_(select(ProcessDefinition.id).where(
        ProcessDefinition.key == bindparam("definition_key"))),
                       lambda q: q.definition_key),
    "due_before": (lambda: T.due < bindparam("due_before", type_=T.due.type), lambda q: q.due_before),
    "due_after": (lambda: T.due > bindparam("due_after", type_=T.due.type), lambda q: q.due_after),
    "follow_up_before": (lambda: T.follow_up < bindparam("follow_up_before", type_=T.follow_up.type),
                         lambda q: q.follow_up_before),
    "owner": (lambda: T.owner == bindparam("owner"), lambda q: q.owner),
    "completed_by": (lambda: T.completed_by == bindparam("completed_by"), lambda q: q.completed_by),
    # EXISTS per candidate row (the (instance_id, name) key of the case's variables), not IN over every case's
    # variables: an inbox tab's rows are few, the cases many (docs/performance.md, Web pages)
    "search": (lambda: or_(
        PI.business_key.ilike(bindparam("search"), escape="\\"),
        exists().where(VAR.instance_id == T.instance_id, VAR.name.in_(SEARCH_VARIABLES),
                       VAR.value_json.ilike(bindparam("search"), escape="\\"))),
        lambda q: _like(q.search)),
    # two IN subqueries, not one with OR inside: each one is an index search (user_id / group_id), where the OR
    # made SQLite read the whole identity-link table for every list and count (docs/performance.md, Web pages)
    "visible_to": (lambda: or_(
        T.assignee == bindparam("visible_user"), T.owner == bindparam("visible_user"),
        T.completed_by == bindparam("visible_user"),
        T.id.in_(select(LINK.task_id).where(LINK.user_id == bindparam("visible_user"))),
        T.id.in_(select(LINK.task_id).where(LINK.group_id.in_(bindparam("visible_groups", expanding=True))))),
        lambda q: _visible(q.visible_to)),
    # the same scope per candidate row (an EXISTS on the task's own links) where another filter already narrows
    # the rows to a few (one case's tasks: what an API client asks between completions); the IN form above reads
    # every link of the user's groups, ended tasks' included, which grows with the history
    "visible_narrow": (lambda: or_(
        T.assignee == bindparam("visible_user"), T.owner == bindparam("visible_user"),
        T.completed_by == bindparam("visible_user"),
        exists().where(LINK.task_id == T.id, or_(
            LINK.user_id == bindparam("visible_user"),
            LINK.group_id.in_(bindparam("visible_groups", expanding=True))))),
        lambda q: None),
}
# filters that keep the rows of one case (or a few): the scope is then checked per row (``visible_narrow``)
_NARROW = ("instance_id", "business_key")
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _like(text: str | None) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _visible(scope: tuple[str, tuple[str, ...]] | None) -> tuple[str, list[str]] | None:
    if scope is None:
        return None
    user, groups = scope
    if not isinstance(user, str) or not user or isinstance(groups, str):
        raise InvalidInput("visible_to is (user id, (group id, ...))", visible_to=str(scope))
    return user, list(groups)  # no group: SQLAlchemy renders IN () as an always-false condition


def _in_scope_already(q: TaskQuery, user: str, groups: list[str]) -> bool:
    """The other filters keep only tasks the scope ``visible_to`` allows anyway (the inbox tabs: my tasks, tasks I
    delegated or completed, my departments' tasks): the scope condition is left out of the SQL, which is then a
    plain index search."""
    if user in (q.assignee, q.owner, q.completed_by):
        return True
    wanted = list(q.candidate_groups) + ([q.candidate_group] if q.candidate_group else [])
    return bool(wanted) and set(wanted) <= set(groups)


def _params(q: TaskQuery) -> dict[str, Any]:
    params = {name: value for name, (_cond, get) in _FILTERS.items() if (value := get(q)) not in (None, "", [])}
    if "visible_to" in params:
        user, groups = params["visible_to"]
        if _in_scope_already(q, user, groups):
            del params["visible_to"]
        else:
            params["visible_user"], params["visible_groups"] = user, groups
            if any(name in params for name in _NARROW):
                params["visible_narrow"] = params.pop("visible_to")
    return params


def _names(params: dict[str, Any]) -> tuple[str, ...]:
    """The filters a query uses (the key of its statement); removes the parameters that are not bound."""
    names = tuple(n for n in _FILTERS if n in params)
    for flag in ("unassigned", "visible_to", "visible_narrow"):
        params.pop(flag, None)
    return names


def _groups_any() -> Any:
    """PostgreSQL: "candidate of one of these groups" as ``task.id = ANY(<the ids, aggregated once>)``: the
    planner then fetches the department's tasks by primary key; with ``IN (subquery)`` it read every open task
    (a hash semi join, or the due-date index probing the links of each task) — docs/performance.md, Web pages."""
    from sqlalchemy import ARRAY, String, any_, cast

    ids = select(func.array_agg(LINK.task_id)).where(
        LINK.group_id.in_(bindparam("groups", expanding=True))).scalar_subquery()
    return T.id == any_(cast(ids, ARRAY(String)))  # an array expression (ANY(subquery) would compare rows)


def _search_pg() -> Any:
    """PostgreSQL: the search as two ``EXISTS`` on the task's case — its business key (looked up by the case id) or
    an applicant variable — with no reference to the case joined by the outer query. The planner then tests a tab's
    few thousand tasks against the matching cases, found once by the trigram indexes (pg_trgm, migration 0012; a
    "hashed SubPlan"), or looks each task's case up when the text matches most cases; a count needs no join with
    the cases at all. With the condition on the joined case (``_FILTERS["search"]``) the planner hashed every case
    (a scan of the whole process_instance table) to test it on a tab's 2,100 rows: 50-75 ms per count, now 2-15 ms
    (docs/performance.md, Web pages). The variable names are constants in the SQL so that the partial index
    (``name IN (...)``) is provably usable in any plan, also in a prepared statement's generic plan."""
    from sqlalchemy import literal_column

    cases = ProcessInstance.__table__.alias("search_case")
    names = [literal_column("'" + n.replace("'", "''") + "'") for n in SEARCH_VARIABLES]
    return or_(
        exists().where(cases.c.id == T.instance_id, cases.c.business_key.ilike(bindparam("search"), escape="\\")),
        exists().where(VAR.instance_id == T.instance_id, VAR.name.in_(names),
                       VAR.value_json.ilike(bindparam("search"), escape="\\")))


def _condition(name: str, dialect: str) -> Any:
    if dialect == "postgresql":
        if name == "groups":
            return _groups_any()
        if name == "search":
            return _search_pg()
    return _FILTERS[name][0]()


def _base(names: tuple[str, ...], dialect: str = "") -> Any:
    stmt = select(Task.__table__, PI.business_key, PI.state.label("instance_state")).join_from(
        Task.__table__, ProcessInstance.__table__, PI.id == T.instance_id)
    for name in names:
        stmt = stmt.where(_condition(name, dialect))
    return stmt


def _count_statement(names: tuple[str, ...], dialect: str) -> Any:
    """``count(*)`` of the tasks the filters keep; the cases are joined only when a condition is on the case (every
    task has its case: a foreign key), else the count reads the task table and its indexes alone."""
    on_case = {"business_key"} | ({"search"} if dialect != "postgresql" else set())
    if on_case & set(names):
        return select(func.count()).select_from(_base(names, dialect).subquery())
    return select(func.count()).select_from(Task.__table__).where(*(_condition(n, dialect) for n in names))


def list_tasks(conn: Connection, q: TaskQuery) -> list[TaskView]:
    params = _params(q)
    names = _names(params)
    dialect = conn.dialect.name
    key = ("list", names, q.sort_by, q.sort_order, q.max_results is not None, dialect)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        col = SORT_FIELDS.get(q.sort_by, T.created)
        stmt = _base(names, dialect).order_by(col.desc() if q.sort_order == "desc" else col.asc(), Task.id)
        stmt = stmt.offset(bindparam("first_result"))
        if q.max_results is not None:
            stmt = stmt.limit(bindparam("max_results"))
        _STATEMENTS[key] = stmt
    params["first_result"] = q.first_result
    if q.max_results is not None:
        params["max_results"] = q.max_results
    return [_view(r, r.business_key, r.instance_state == "SUSPENDED") for r in conn.execute(stmt, params).all()]


def count_tasks(conn: Connection, q: TaskQuery) -> int:
    params = _params(q)
    names = _names(params)
    dialect = conn.dialect.name
    key = ("count", names, dialect)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = _count_statement(names, dialect)
    return int(conn.execute(stmt, params).scalar() or 0)


def comments(session: Session, *, task_id: str | None = None, instance_id: str | None = None) -> list[CommentView]:
    stmt = select(Comment).order_by(Comment.time, Comment.id)
    if task_id:
        stmt = stmt.where(Comment.task_id == task_id)
    if instance_id:
        stmt = stmt.where(Comment.instance_id == instance_id)
    return [CommentView(c.id, c.task_id, c.instance_id, c.user_id, c.time, c.message) for c in session.scalars(stmt)]


def instance_variables(conn: Connection, instance_ids: list[str] | tuple[str, ...],
                       names: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The variables ``names`` of several cases in one query (a list page's extra columns, e.g. the applicant):
    {instance id: {name: value}}; a case without such a variable has no entry for it."""
    import json

    out: dict[str, dict[str, Any]] = {}
    ids = sorted(set(instance_ids))
    if not ids or not names:
        return out
    stmt = select(VAR.instance_id, VAR.name, VAR.value_json).where(VAR.instance_id.in_(ids),
                                                                   VAR.name.in_(list(names)))
    for instance_id, name, value_json in conn.execute(stmt):
        try:
            out.setdefault(instance_id, {})[name] = json.loads(value_json)
        except ValueError:
            out.setdefault(instance_id, {})[name] = value_json
    return out
