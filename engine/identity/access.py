"""Authorization: what a user may see and do, decided from their roles and departments (groups).

Rules (docs/security.md says the same for people):

* ``admin`` sees and may do everything (Camunda's camunda-admin group).
* ``supervisor`` sees every task and case, and may reassign any task (``assign``: set or clear its assignee);
  anything else only on the tasks in their own scope, like everybody.
* everybody else (``clerk``, ``reviewer``, ``leader``, ``designer``, or no role) sees and acts only on the tasks
  *in their scope*: they are its assignee, its owner (they delegated it), the user who completed it, a candidate
  user, or a member of one of its candidate groups (their departments). A case is visible when one of its tasks is.
* capabilities beyond tasks (``Access.may``): ``deploy`` designer/admin; ``start`` clerk/admin (intake);
  ``supervise`` (case clock suspend/resume/extend, urge, terminate) and ``read_all`` supervisor/admin;
  ``manage_identity``, ``manage_calendar`` and ``operate`` (jobs, incidents, external-task retries and unlocks,
  variables of any case) admin only; ``external_work`` (act as an external-task worker: fetch and lock, complete,
  fail, BPMN error, extend lock, on any topic) admin only - a worker runs as a technical account with the role
  admin (a dedicated worker role would need a migration of the role check).

Lists and counts apply the scope in SQL: ``TaskQuery(visible_to=access.task_scope)`` (None = no restriction), or
``access.restrict(query)``. One object is checked with ``require_task_access(access, task_view, action)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from engine.errors import Forbidden
from engine.identity.views import ROLES, UserView

ACTIONS = ("read", "claim", "unclaim", "complete", "resolve", "delegate", "assign", "comment")
SUPERVISOR_ANYWHERE = frozenset({"read", "assign"})
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "deploy": ("designer", "admin"),
    "start": ("clerk", "admin"),
    "supervise": ("supervisor", "admin"),
    "read_all": ("supervisor", "admin"),
    "manage_identity": ("admin",),
    "manage_calendar": ("admin",),
    "operate": ("admin",),
    "external_work": ("admin",),
}


@dataclass(frozen=True)
class Access:
    """Who is asking: a user id, their groups (departments) and roles. Build it with ``Access.from_user(view)``
    (``engine.identity.authenticate``/``user`` give the view) or ``engine.identity.access(user_id)``."""

    user_id: str
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @classmethod
    def from_user(cls, user: UserView) -> Access:
        """Forbidden for a deactivated user: they may do nothing, whatever their roles."""
        if not user.active:
            raise Forbidden(f"user {user.id} is deactivated", user_id=user.id)
        return cls(user.id, tuple(user.groups), tuple(r for r in ROLES if r in user.roles))

    @classmethod
    def unrestricted(cls, user_id: str = "system") -> Access:
        """Everything allowed (the engine's own work, or authentication switched off)."""
        return cls(user_id, (), ("admin",))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def sees_all(self) -> bool:
        """Every task and case is visible (admin, supervisor)."""
        return self.is_admin or "supervisor" in self.roles

    @property
    def task_scope(self) -> tuple[str, tuple[str, ...]] | None:
        """The ``visible_to`` value of a TaskQuery: (user id, group ids), or None when everything is visible."""
        return None if self.sees_all else (self.user_id, self.groups)

    def restrict(self, query: Any) -> Any:
        """``query`` (a TaskQuery) limited to what this user may see."""
        return dataclasses.replace(query, visible_to=self.task_scope)

    def may(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability '{capability}' (known: {', '.join(CAPABILITIES)})")
        return any(r in self.roles for r in CAPABILITIES[capability])

    def require(self, capability: str) -> None:
        if not self.may(capability):
            needed = " or ".join(CAPABILITIES[capability])
            raise Forbidden(f"user {self.user_id} ({_roles(self)}) may not {capability.replace('_', ' ')}: "
                            f"that needs the role {needed}", user_id=self.user_id, capability=capability)

    def in_scope(self, task: Any) -> bool:
        """The task is the user's or their departments' (the same rule as the SQL filter ``visible_to``)."""
        me = self.user_id
        return (me in (task.assignee, task.owner, getattr(task, "completed_by", None))
                or me in task.candidate_users or any(g in self.groups for g in task.candidate_groups))

    def may_task(self, task: Any, action: str) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown task action '{action}' (known: {', '.join(ACTIONS)})")
        if self.is_admin or self.in_scope(task):
            return True
        return "supervisor" in self.roles and action in SUPERVISOR_ANYWHERE


def _roles(access: Access) -> str:
    return "roles: " + (", ".join(access.roles) or "none")


def _departments(access: Access) -> str:
    return "departments: " + (", ".join(access.groups) or "none")


def _task_place(task: Any) -> str:
    if task.candidate_groups:
        return f"of department{'s' if len(task.candidate_groups) > 1 else ''} {', '.join(task.candidate_groups)}"
    if task.assignee:
        return f"assigned to {task.assignee}"
    if task.candidate_users:
        return f"of {', '.join(task.candidate_users)}"
    return "of no department"


def require_task_access(access: Access, task: Any, action: str) -> None:
    """Raise Forbidden unless ``access`` may do ``action`` (one of ACTIONS) on ``task`` (a TaskView), e.g.
    "user u1 (departments: market) may not complete task 消防审查 of department fire"."""
    if not access.may_task(task, action):
        raise Forbidden(f"user {access.user_id} ({_departments(access)}) may not {action} task "
                        f"{task.name or task.id} {_task_place(task)}", user_id=access.user_id, task_id=task.id,
                        action=action)


def require_case_access(access: Access, case: str, visible_tasks: int, action: str = "read") -> None:
    """Raise Forbidden unless ``access`` may ``action`` the case ``case`` (business key or id), of which
    ``visible_tasks`` tasks (any state) are in the user's scope: count them with
    ``engine.tasks.count(TaskQuery(instance_id=..., state=None, visible_to=access.task_scope))``. Reading needs
    one visible task (or a supervisor/admin); any other action on a whole case needs supervise (supervisor/admin)."""
    if access.is_admin:
        return
    if action == "read" and (access.sees_all or visible_tasks > 0):
        return
    if action != "read" and access.may("supervise"):
        return
    reason = ("none of its tasks is theirs or their departments'" if action == "read"
              else "that needs the role supervisor or admin")
    raise Forbidden(f"user {access.user_id} ({_departments(access)}) may not {action} case {case}: {reason}",
                    user_id=access.user_id, case=case, action=action)
