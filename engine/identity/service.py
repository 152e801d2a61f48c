"""``engine.identity``: users, groups (departments), memberships and roles, and the check of a login."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from engine.identity import commands
from engine.identity.access import Access
from engine.identity.passwords import Passwords
from engine.identity.views import (
    GroupView,
    UserView,
    check_email,
    check_group_type,
    check_groups,
    check_id,
    check_name,
    check_password,
    check_phone,
    check_roles,
)


class IdentityService:
    """Camunda's IdentityService, with roles. Every change is one transaction and one history event (actor =
    ``actor``); bad input raises ``InvalidInput`` (naming the field), an existing id ``Conflict``, an unknown one
    ``NotFound``. Passwords are hashed (argon2id) before the transaction begins and never leave this class."""

    def __init__(self, ex: Any, passwords: Passwords | None = None, *, cache_seconds: float | None = None) -> None:
        self._ex = ex
        self.passwords = passwords or Passwords()
        if cache_seconds is None:
            settings = getattr(getattr(ex, "services", None), "settings", None)
            cache_seconds = float(getattr(settings, "identity_cache_seconds", 5.0))
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, tuple[UserView, str] | None]] = {}
        self._cache_lock = threading.Lock()

    def _run(self, command: Callable[..., Any]) -> Any:
        """A change: its own transaction; this process's cached logins are dropped (they may be affected)."""
        try:
            return self._ex.run(command)
        finally:
            with self._cache_lock:
                self._cache.clear()

    def _find(self, user_id: str) -> tuple[UserView, str] | None:
        """The user and their stored hash for a login or a request's ``Access``, kept ``cache_seconds``: one read
        per user and interval instead of one per request (REST clients authenticate every request)."""
        if self.cache_seconds <= 0:
            return self._ex.read(lambda s: commands.find_user(s, user_id))  # type: ignore[no-any-return]
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._ex.read(lambda s: commands.find_user(s, user_id))
        with self._cache_lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user_id] = (now + self.cache_seconds, found)
        return found  # type: ignore[no-any-return]

    # --- users ----------------------------------------------------------------------------------------------
    def add_user(self, user_id: str, password: str, *, name: str | None = None, email: str | None = None,
                 phone: str | None = None, groups: Iterable[str] = (), roles: Iterable[str] = (),
                 create_groups: bool = False, actor: str | None = None) -> UserView:
        """Create an active user. ``groups`` must exist unless ``create_groups`` (then missing ones are created as
        departments named by their id, in the same transaction)."""
        check_id(user_id, "user id")
        fields = dict(name=check_name(name), email=check_email(email), phone=check_phone(phone),
                      groups=check_groups(groups), roles=check_roles(roles))
        digest = self.passwords.hash(check_password(password))
        return self._run(partial(commands.add_user, user_id=user_id, password_hash=digest,
                                    create_groups=create_groups, actor=actor, **fields))

    def set_password(self, user_id: str, password: str, *, actor: str | None = None) -> None:
        check_id(user_id, "user id")
        digest = self.passwords.hash(check_password(password))
        self._run(partial(commands.set_password, user_id=user_id, password_hash=digest, actor=actor))
        self.passwords.forget(user_id)

    def deactivate(self, user_id: str, *, actor: str | None = None) -> UserView:
        """The user can no longer log in (``authenticate`` fails, ``access`` is refused); their history stays.
        The last active admin cannot be deactivated."""
        view = self._run(partial(commands.set_active, user_id=user_id, active=False, actor=actor))
        self.passwords.forget(user_id)
        return view

    def activate(self, user_id: str, *, actor: str | None = None) -> UserView:
        return self._run(partial(commands.set_active, user_id=user_id, active=True, actor=actor))

    def set_roles(self, user_id: str, roles: Iterable[str], *, actor: str | None = None) -> UserView:
        """Replace the user's roles (any of ROLES). The last active admin keeps the admin role."""
        return self._run(partial(commands.set_roles, user_id=user_id, roles=check_roles(roles), actor=actor))

    def update_user(self, user_id: str, *, name: str | None, email: str | None = None, phone: str | None = None,
                    groups: Iterable[str] = (), actor: str | None = None) -> UserView:
        """Replace the display name, e-mail, phone and departments (existing groups) of a user, in one transaction
        (``UserUpdated``); roles change with ``set_roles``, the password with ``set_password``."""
        check_id(user_id, "user id")
        fields = dict(name=check_name(name), email=check_email(email), phone=check_phone(phone),
                      groups=check_groups(groups))
        return self._run(partial(commands.update_user, user_id=user_id, actor=actor, **fields))

    def user(self, user_id: str) -> UserView:
        return self._ex.read(lambda s: commands.get_user(s, user_id))

    def users(self, *, group: str | None = None, role: str | None = None,
              active: bool | None = None) -> list[UserView]:
        """Users by id; of one group, with one role, or only the (in)active ones."""
        if role is not None:
            check_roles((role,))
        return self._ex.read(lambda s: commands.list_users(s, group=group, role=role, active=active))

    def search(self, text: str | None = None, *, group: str | None = None, role: str | None = None,
               active: bool | None = None, limit: int = 500) -> list[UserView]:
        """Users whose login name or display name contains ``text`` (case-insensitive), by id, at most ``limit``."""
        if role is not None:
            check_roles((role,))
        text = (text or "").strip()[:64]
        return self._ex.read(lambda s: commands.search_users(s, text, group=group, role=role, active=active,
                                                             limit=limit))

    # --- groups ---------------------------------------------------------------------------------------------
    def add_group(self, group_id: str, name: str, type: str = "department",  # noqa: A002 - Camunda's name
                  *, actor: str | None = None) -> GroupView:
        check_id(group_id, "group id")
        return self._run(partial(commands.add_group, group_id=group_id, name=check_name(name, required=True),
                                    type=check_group_type(type), actor=actor))

    def rename_group(self, group_id: str, name: str, *, actor: str | None = None) -> GroupView:
        """Give a department (group) a new display name (``GroupRenamed``); its id, which BPMN candidate groups
        name, never changes."""
        return self._run(partial(commands.rename_group, group_id=group_id, name=check_name(name, required=True),
                                    actor=actor))

    def group(self, group_id: str) -> GroupView:
        return self._ex.read(lambda s: commands.get_group(s, group_id))

    def groups(self, type: str | None = None) -> list[GroupView]:  # noqa: A002
        return self._ex.read(lambda s: commands.list_groups(s, type))

    def add_membership(self, user_id: str, group_id: str, *, actor: str | None = None) -> UserView:
        """Make ``user_id`` a member of ``group_id`` (nothing happens if it already is)."""
        return self._run(partial(commands.set_membership, user_id=user_id, group_id=group_id, member=True,
                                    actor=actor))

    def remove_membership(self, user_id: str, group_id: str, *, actor: str | None = None) -> UserView:
        return self._run(partial(commands.set_membership, user_id=user_id, group_id=group_id, member=False,
                                    actor=actor))

    # --- logins ---------------------------------------------------------------------------------------------
    def authenticate(self, user_id: str, password: str) -> UserView | None:
        """The user when ``password`` is theirs and they are active; else None (unknown user, wrong password,
        deactivated user, malformed input), after about the same time in every case."""
        if not isinstance(password, str) or len(password) > 1024:
            return None
        found = None
        if isinstance(user_id, str) and 0 < len(user_id) <= 64:
            found = self._find(user_id)
        if found is None or not found[0].active:
            self.passwords.verify(str(user_id), None, password)
            return None
        view, stored = found
        return view if self.passwords.verify(user_id, stored, password) else None

    def session_user(self, user_id: str) -> UserView:
        """The user of a signed-in session (each page request), read through the login cache
        (``cache_seconds``); NotFound for an unknown user."""
        found = self._find(user_id) if isinstance(user_id, str) and 0 < len(user_id) <= 64 else None
        return found[0] if found is not None else self.user(user_id)

    def access(self, user_id: str) -> Access:
        """The ``Access`` of a user already authenticated (e.g. the user id kept in a web session): NotFound for an
        unknown user, Forbidden for a deactivated one. Read through the login cache (``cache_seconds``)."""
        found = self._find(user_id) if isinstance(user_id, str) and 0 < len(user_id) <= 64 else None
        if found is None:
            return Access.from_user(self.user(user_id))  # NotFound, with the usual sentence
        return Access.from_user(found[0])
