"""Identity and authorization: users, groups (departments), memberships, roles, logins and data scope.

The façade is ``engine.identity`` (an ``IdentityService``)::

    view = engine.identity.authenticate("wang", "s3cret-pass")   # UserView | None (unknown, wrong, inactive)
    view = engine.identity.user("wang")                          # UserView, NotFound if unknown
    access = Access.from_user(view)                              # or engine.identity.access("wang")
    engine.tasks.list(TaskQuery(candidate_group="fire", visible_to=access.task_scope))
    engine.tasks.count(access.restrict(TaskQuery(assignee="wang")))
    require_task_access(access, engine.tasks.task(task_id), "complete")   # Forbidden with a sentence
    access.require("deploy")                                     # Forbidden unless designer or admin

Changes: ``add_user(user_id, password, *, name, email, phone, groups, roles, create_groups, actor)``,
``set_password``, ``deactivate``/``activate``, ``set_roles``, ``add_group(group_id, name, type)``,
``add_membership``/``remove_membership``; reads: ``user``, ``users(group=, role=, active=)``, ``group``,
``groups(type=)``. ``UserView(id, name, email, groups, roles, active, phone, created, password_changed)``,
``GroupView(id, name, type, members)``. Roles: ``ROLES`` = clerk, reviewer, leader, supervisor, designer, admin.
The rules of access are in ``engine.identity.access`` and docs/security.md.
"""

from __future__ import annotations

from engine.identity.access import ACTIONS, CAPABILITIES, Access, require_case_access, require_task_access
from engine.identity.views import ROLES, GroupView, UserView

__all__ = ["ACTIONS", "CAPABILITIES", "ROLES", "Access", "GroupView", "UserView", "require_case_access",
           "require_task_access"]
