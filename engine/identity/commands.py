"""Identity commands (one transaction each, run by the executor) and reads. Every change is recorded in the
engine-wide history chain with its actor; passwords, their hashes, e-mail addresses and phone numbers never are
(the history is append-only and cannot forget personal data)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.identity.views import ROLES, GroupView, UserView
from engine.persistence.models import Group, Membership, User, UserRole


# --- reads ----------------------------------------------------------------------------------------------------
def _views(session: Session, rows: list[User]) -> list[UserView]:
    ids = [u.id for u in rows]
    groups: dict[str, list[str]] = {i: [] for i in ids}
    roles: dict[str, set[str]] = {i: set() for i in ids}
    if ids:
        for user_id, group_id in session.execute(
                select(Membership.user_id, Membership.group_id).where(Membership.user_id.in_(ids))):
            groups[user_id].append(group_id)
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids))):
            roles[user_id].add(role)
    return [UserView(id=u.id, name=u.name, email=u.email, groups=tuple(sorted(groups[u.id])),
                     roles=tuple(r for r in ROLES if r in roles[u.id]), active=bool(u.active), phone=u.phone,
                     created=u.created, password_changed=u.password_changed) for u in rows]


def _row(session: Session, user_id: str) -> User:
    row = session.get(User, user_id) if isinstance(user_id, str) else None
    if row is None:
        raise NotFound(f"user '{user_id}' does not exist", user_id=str(user_id))
    return row


def _one(session: Session, user_id: Any) -> tuple[UserView, str] | None:
    """One user with its groups, roles and password hash in ONE statement (outer joins; a user has a handful of
    groups and roles, so the product of the two stays tiny): the read behind every login and every request's
    ``Access`` (REST Basic authentication, the pages' session user), where three round trips showed up."""
    if not isinstance(user_id, str):
        return None
    rows = session.execute(
        select(User.id, User.name, User.email, User.active, User.phone, User.created, User.password_changed,
               User.password_hash, Membership.group_id, UserRole.role)
        .outerjoin(Membership, Membership.user_id == User.id)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.id == user_id)).all()
    if not rows:
        return None
    first = rows[0]
    groups = sorted({r.group_id for r in rows if r.group_id is not None})
    roles = {r.role for r in rows if r.role is not None}
    view = UserView(id=first.id, name=first.name, email=first.email, groups=tuple(groups),
                    roles=tuple(r for r in ROLES if r in roles), active=bool(first.active), phone=first.phone,
                    created=first.created, password_changed=first.password_changed)
    return view, first.password_hash


def get_user(session: Session, user_id: str) -> UserView:
    found = _one(session, user_id)
    if found is None:
        raise NotFound(f"user '{user_id}' does not exist", user_id=str(user_id))
    return found[0]


def find_user(session: Session, user_id: str) -> tuple[UserView, str] | None:
    """The user and its stored password hash (for a login), or None."""
    return _one(session, user_id)


def list_users(session: Session, *, group: str | None = None, role: str | None = None,
               active: bool | None = None) -> list[UserView]:
    stmt = select(User).order_by(User.id)
    if group is not None:
        stmt = stmt.where(User.id.in_(select(Membership.user_id).where(Membership.group_id == group)))
    if role is not None:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return _views(session, list(session.scalars(stmt)))


def list_groups(session: Session, type: str | None = None) -> list[GroupView]:  # noqa: A002 - Camunda's name
    members = (select(Membership.group_id, func.count().label("n")).group_by(Membership.group_id)).subquery()
    stmt = (select(Group, func.coalesce(members.c.n, 0)).outerjoin(members, members.c.group_id == Group.id)
            .order_by(Group.id))
    if type is not None:
        stmt = stmt.where(Group.type == type)
    return [GroupView(g.id, g.name, g.type, int(n)) for g, n in session.execute(stmt)]


def get_group(session: Session, group_id: str) -> GroupView:
    row = session.get(Group, group_id) if isinstance(group_id, str) else None
    if row is None:
        raise NotFound(f"group '{group_id}' does not exist", group_id=str(group_id))
    n = session.scalar(select(func.count()).select_from(Membership).where(Membership.group_id == group_id))
    return GroupView(row.id, row.name, row.type, int(n or 0))


# --- commands -------------------------------------------------------------------------------------------------
def _missing_groups(session: Session, groups: Iterable[str]) -> list[str]:
    wanted = list(groups)
    if not wanted:
        return []
    known = set(session.scalars(select(Group.id).where(Group.id.in_(wanted))))
    return [g for g in wanted if g not in known]


def _active_admins(session: Session) -> set[str]:
    return set(session.scalars(select(UserRole.user_id).join(User, User.id == UserRole.user_id)
                               .where(UserRole.role == "admin", User.active.is_(True))))


def _keep_an_admin(session: Session, user_id: str, what: str) -> None:
    if _active_admins(session) == {user_id}:
        raise Conflict(f"{what}: '{user_id}' is the last active admin; make another user admin first",
                       user_id=user_id)


def add_user(uow: Any, *, user_id: str, password_hash: str, name: str | None, email: str | None, phone: str | None,
             groups: tuple[str, ...], roles: tuple[str, ...], create_groups: bool, actor: str | None) -> UserView:
    session: Session = uow.session
    if session.get(User, user_id) is not None:
        raise Conflict(f"user '{user_id}' already exists", user_id=user_id)
    missing = _missing_groups(session, groups)
    if missing and not create_groups:
        raise InvalidInput(f"unknown group{'s' if len(missing) > 1 else ''} {', '.join(missing)}: add "
                           f"{'them' if len(missing) > 1 else 'it'} first (onewindow groups add ID --name NAME)",
                           field="group", unknown=missing)
    for group_id in missing:
        session.add(Group(id=group_id, name=group_id, type="department", created=uow.now))
        uow.record("GroupCreated", actor=actor, groupId=group_id, name=group_id, type="department")
    session.add(User(id=user_id, name=name, password_hash=password_hash, email=email, phone=phone, active=True,
                     created=uow.now, password_changed=uow.now))
    session.flush()  # the user row before the rows that refer to it
    session.add_all([Membership(user_id=user_id, group_id=g) for g in groups])
    session.add_all([UserRole(user_id=user_id, role=r) for r in roles])
    session.flush()
    uow.record("UserCreated", actor=actor, userId=user_id, name=name, groups=list(groups), roles=list(roles))
    return get_user(session, user_id)


def set_password(uow: Any, *, user_id: str, password_hash: str, actor: str | None) -> None:
    row = _row(uow.session, user_id)
    row.password_hash = password_hash
    row.password_changed = uow.now
    uow.record("UserPasswordChanged", actor=actor, userId=user_id)


def set_active(uow: Any, *, user_id: str, active: bool, actor: str | None) -> UserView:
    session: Session = uow.session
    row = _row(session, user_id)
    if bool(row.active) != active:
        if not active:
            _keep_an_admin(session, user_id, "cannot deactivate")
        row.active = active
        session.flush()
        uow.record("UserActivated" if active else "UserDeactivated", actor=actor, userId=user_id)
    return get_user(session, user_id)


def set_roles(uow: Any, *, user_id: str, roles: tuple[str, ...], actor: str | None) -> UserView:
    session: Session = uow.session
    before = get_user(session, user_id)
    if set(before.roles) == set(roles):
        return before
    if "admin" in before.roles and "admin" not in roles:
        _keep_an_admin(session, user_id, "cannot take the admin role away")
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    session.add_all([UserRole(user_id=user_id, role=r) for r in roles])
    session.flush()
    uow.record("UserRolesChanged", actor=actor, userId=user_id, before=list(before.roles), after=list(roles))
    return get_user(session, user_id)


def add_group(uow: Any, *, group_id: str, name: str, type: str, actor: str | None) -> GroupView:  # noqa: A002
    session: Session = uow.session
    if session.get(Group, group_id) is not None:
        raise Conflict(f"group '{group_id}' already exists", group_id=group_id)
    session.add(Group(id=group_id, name=name, type=type, created=uow.now))
    session.flush()
    uow.record("GroupCreated", actor=actor, groupId=group_id, name=name, type=type)
    return GroupView(group_id, name, type, 0)


def set_membership(uow: Any, *, user_id: str, group_id: str, member: bool, actor: str | None) -> UserView:
    session: Session = uow.session
    _row(session, user_id)
    get_group(session, group_id)
    present = session.get(Membership, (user_id, group_id)) is not None
    if member and not present:
        session.add(Membership(user_id=user_id, group_id=group_id))
    elif not member and present:
        session.execute(delete(Membership).where(Membership.user_id == user_id, Membership.group_id == group_id))
    if member != present:
        session.flush()
        uow.record("MembershipCreated" if member else "MembershipDeleted", actor=actor, userId=user_id,
                   groupId=group_id)
    return get_user(session, user_id)


# --- the admin pages' changes (web /admin): a user's details and departments at once, a department's name -------
def search_users(session: Session, text: str | None, *, group: str | None = None, role: str | None = None,
                 active: bool | None = None, limit: int = 500) -> list[UserView]:
    """Users whose id or name contains ``text`` (case-insensitive; all when empty), by id, at most ``limit``."""
    stmt = select(User).order_by(User.id).limit(limit)
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(User.id).like(pattern, escape="\\")
                          | func.lower(func.coalesce(User.name, "")).like(pattern, escape="\\"))
    if group is not None:
        stmt = stmt.where(User.id.in_(select(Membership.user_id).where(Membership.group_id == group)))
    if role is not None:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return _views(session, list(session.scalars(stmt)))


def update_user(uow: Any, *, user_id: str, name: str | None, email: str | None, phone: str | None,
                groups: tuple[str, ...], actor: str | None) -> UserView:
    """Replace a user's display name, e-mail, phone and departments (groups, which must exist) in one step; one
    ``UserUpdated`` event names what changed (the name and departments; e-mail and phone only as changed, never
    their values)."""
    session: Session = uow.session
    row = _row(session, user_id)
    missing = _missing_groups(session, groups)
    if missing:
        raise InvalidInput(f"unknown group{'s' if len(missing) > 1 else ''} {', '.join(missing)}: add "
                           f"{'them' if len(missing) > 1 else 'it'} first", field="group", unknown=missing)
    before = get_user(session, user_id)
    changed: dict[str, Any] = {}
    if before.name != name:
        changed.update(nameBefore=before.name, name=name)
        row.name = name
    if before.email != email:
        changed["emailChanged"] = True
        row.email = email
    if before.phone != phone:
        changed["phoneChanged"] = True
        row.phone = phone
    if set(before.groups) != set(groups):
        gone = [g for g in before.groups if g not in groups]
        new = [g for g in groups if g not in before.groups]
        if gone:
            session.execute(delete(Membership).where(Membership.user_id == user_id, Membership.group_id.in_(gone)))
        session.add_all([Membership(user_id=user_id, group_id=g) for g in new])
        changed.update(groupsBefore=list(before.groups), groups=list(groups))
    if changed:
        session.flush()
        uow.record("UserUpdated", actor=actor, userId=user_id, **changed)
    return get_user(session, user_id)


def rename_group(uow: Any, *, group_id: str, name: str, actor: str | None) -> GroupView:
    session: Session = uow.session
    row = session.get(Group, group_id) if isinstance(group_id, str) else None
    if row is None:
        raise NotFound(f"group '{group_id}' does not exist", group_id=str(group_id))
    if row.name != name:
        before, row.name = row.name, name
        session.flush()
        uow.record("GroupRenamed", actor=actor, groupId=group_id, nameBefore=before, name=name)
    return get_group(session, group_id)
