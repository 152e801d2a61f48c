"""What the identity façade returns (frozen views) and the rules its input must follow (ids, roles, passwords)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import InvalidInput
from engine.persistence.models import ROLE_NAMES

ROLES: tuple[str, ...] = ROLE_NAMES  # clerk reviewer leader supervisor designer admin
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # hashing a megabyte per login attempt is a denial of service, not a password
# login names and group ids: letters (Chinese too), digits and _ . @ -, starting with a letter or digit; no comma
# (candidate groups and users are comma lists in BPMN), no space, no colon
_ID = re.compile(r"^[^\W_][\w.@-]{0,63}$")
_GROUP_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{3,30}$")


@dataclass(frozen=True)
class UserView:
    id: str
    name: str | None
    email: str | None
    groups: tuple[str, ...]  # group ids, sorted
    roles: tuple[str, ...]  # in the order of ROLES
    active: bool
    phone: str | None = None
    created: datetime | None = None
    password_changed: datetime | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone,
                "groups": list(self.groups), "roles": list(self.roles), "active": self.active,
                "created": self.created.isoformat() if self.created else None}


@dataclass(frozen=True)
class GroupView:
    id: str
    name: str
    type: str
    members: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "members": self.members}


def check_id(value: Any, what: str) -> str:
    """A user id (login name) or group id: 1-64 letters (Chinese too), digits, '_', '.', '@', '-'."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidInput(f"{what} '{value}' is not valid: use 1-64 letters, digits, '_', '.', '@' or '-', "
                           f"starting with a letter or digit (no spaces or commas)", field=what, value=str(value))
    return value


def check_roles(roles: Any) -> tuple[str, ...]:
    """Known roles, deduplicated, in the order of ROLES."""
    if isinstance(roles, str):
        roles = (roles,)
    given = list(roles or ())
    unknown = [r for r in given if r not in ROLES]
    if unknown:
        raise InvalidInput(f"unknown role{'s' if len(unknown) > 1 else ''} {', '.join(repr(r) for r in unknown)}: "
                           f"the roles are {', '.join(ROLES)}", field="role", unknown=unknown, valid=list(ROLES))
    return tuple(r for r in ROLES if r in given)


def check_groups(groups: Any) -> tuple[str, ...]:
    if isinstance(groups, str):
        groups = (groups,)
    return tuple(sorted({check_id(g, "group id") for g in groups or ()}))


def check_password(password: Any) -> str:
    if not isinstance(password, str) or not password:
        raise InvalidInput("a password is required", field="password")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password is too short: at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password is too long: at most {MAX_PASSWORD} characters", field="password")
    if password.strip() != password or not password.strip():
        raise InvalidInput("the password must not begin or end with white space", field="password")
    return password


def check_name(name: Any, what: str = "name", *, required: bool = False) -> str | None:
    if name is None or (isinstance(name, str) and not name.strip()):
        if required:
            raise InvalidInput(f"a {what} is required", field=what)
        return None
    if not isinstance(name, str) or len(name.strip()) > 255:
        raise InvalidInput(f"{what} must be 1-255 characters", field=what)
    return name.strip()


def check_email(email: Any) -> str | None:
    if email is None or email == "":
        return None
    if not isinstance(email, str) or len(email) > 255 or not _EMAIL.match(email):
        raise InvalidInput(f"'{email}' is not an e-mail address", field="email")
    return email


def check_phone(phone: Any) -> str | None:
    if phone is None or phone == "":
        return None
    if not isinstance(phone, str) or not _PHONE.match(phone):
        raise InvalidInput(f"'{phone}' is not a phone number", field="phone")
    return phone


def check_group_type(value: Any) -> str:
    if not isinstance(value, str) or not _GROUP_TYPE.match(value):
        raise InvalidInput(f"group type '{value}' is not valid: 1-32 lower-case letters, digits, '_' or '-' "
                           f"(e.g. department)", field="type")
    return value
