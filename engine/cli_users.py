"""``onewindow users`` and ``onewindow groups``: accounts, departments and roles from the command line.

Groups named by ``--group`` must exist (``onewindow groups add``), as in Camunda, which creates nothing implicitly;
``--create-groups`` creates the missing ones as departments named by their id, in the same transaction. Passwords
come from ``--password`` or, when it is left out, from a hidden prompt (or standard input); they are never
printed and never recorded in the history."""

from __future__ import annotations

import getpass
from typing import Any

import click

from engine.cli import _echo_json, _engine, handle_errors
from engine.identity.views import ROLES


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name for this uid (containers)
        return "cli"


def _user_line(u: Any) -> str:
    flags = "" if u.active else "  (deactivated)"
    name = f"  {u.name}" if u.name else ""
    return (f"{u.id}{name}  groups: {', '.join(u.groups) or '-'}  roles: {', '.join(u.roles) or '-'}"
            f"{flags}")


def _show_user(view: Any, as_json: bool, prefix: str = "") -> None:
    if as_json:
        _echo_json(view.as_json())
    else:
        click.echo(prefix + _user_line(view))


_password = click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                         help="at least 8 characters (prompted, hidden, when left out)")
_actor_option = click.option("--actor", help="who does this, for the history (default: cli:<login name>)")
_json = click.option("--json", "as_json", is_flag=True)


@click.group("users", help="Accounts: add, list, show, passwd, roles, deactivate, activate.")
def users() -> None:
    pass


@users.command("add", help="Add user NAME (the login name).")
@click.argument("user_id", metavar="NAME")
@_password
@click.option("--name", "display", help="display name, e.g. 王五")
@click.option("--email")
@click.option("--phone")
@click.option("--group", "groups", multiple=True, help="a department (group id); repeat for several")
@click.option("--role", "roles", multiple=True, help=f"one of {', '.join(ROLES)}; repeat for several")
@click.option("--create-groups", is_flag=True, help="create missing --group departments (named by their id)")
@_actor_option
@_json
@handle_errors
def add(user_id: str, password: str, display: str | None, email: str | None, phone: str | None,
        groups: tuple[str, ...], roles: tuple[str, ...], create_groups: bool, actor: str | None,
        as_json: bool) -> None:
    view = _engine().identity.add_user(user_id, password, name=display, email=email, phone=phone, groups=groups,
                                       roles=roles, create_groups=create_groups, actor=_actor(actor))
    _show_user(view, as_json, "added ")


@users.command("list", help="List users.")
@click.option("--group", help="only members of this group")
@click.option("--role", type=click.Choice(ROLES), help="only users with this role")
@_json
@handle_errors
def list_(group: str | None, role: str | None, as_json: bool) -> None:
    views = _engine().identity.users(group=group, role=role)
    if as_json:
        _echo_json([v.as_json() for v in views])
    elif not views:
        click.echo("no users")
    else:
        for v in views:
            click.echo(_user_line(v))


@users.command("show", help="Show user NAME.")
@click.argument("user_id", metavar="NAME")
@_json
@handle_errors
def show(user_id: str, as_json: bool) -> None:
    _show_user(_engine().identity.user(user_id), as_json)


@users.command("passwd", help="Set the password of user NAME.")
@click.argument("user_id", metavar="NAME")
@_password
@_actor_option
@handle_errors
def passwd(user_id: str, password: str, actor: str | None) -> None:
    _engine().identity.set_password(user_id, password, actor=_actor(actor))
    click.echo(f"password of {user_id} changed")


@users.command("roles", help="Replace the roles of user NAME with the --role options (none: no role).")
@click.argument("user_id", metavar="NAME")
@click.option("--role", "roles", multiple=True, help=f"one of {', '.join(ROLES)}; repeat for several")
@_actor_option
@_json
@handle_errors
def roles_(user_id: str, roles: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    _show_user(_engine().identity.set_roles(user_id, roles, actor=_actor(actor)), as_json)


@users.command("deactivate", help="User NAME can no longer log in (their history stays).")
@click.argument("user_id", metavar="NAME")
@_actor_option
@_json
@handle_errors
def deactivate(user_id: str, actor: str | None, as_json: bool) -> None:
    _show_user(_engine().identity.deactivate(user_id, actor=_actor(actor)), as_json)


@users.command("activate", help="User NAME may log in again.")
@click.argument("user_id", metavar="NAME")
@_actor_option
@_json
@handle_errors
def activate(user_id: str, actor: str | None, as_json: bool) -> None:
    _show_user(_engine().identity.activate(user_id, actor=_actor(actor)), as_json)


@click.group("groups", help="Groups (departments): add, list, add-member, remove-member.")
def groups() -> None:
    pass


@groups.command("add", help="Add group ID (a department's id is its tasks' candidate group).")
@click.argument("group_id", metavar="ID")
@click.option("--name", required=True, help="e.g. 市场监管局")
@click.option("--type", "type_", default="department", show_default=True)
@_actor_option
@_json
@handle_errors
def group_add(group_id: str, name: str, type_: str, actor: str | None, as_json: bool) -> None:
    view = _engine().identity.add_group(group_id, name, type_, actor=_actor(actor))
    if as_json:
        _echo_json(view.as_json())
    else:
        click.echo(f"added group {view.id}  {view.name}  ({view.type})")


@groups.command("list", help="List groups with their number of members.")
@click.option("--type", "type_", help="only groups of this type, e.g. department")
@_json
@handle_errors
def group_list(type_: str | None, as_json: bool) -> None:
    views = _engine().identity.groups(type_)
    if as_json:
        _echo_json([v.as_json() for v in views])
    elif not views:
        click.echo("no groups")
    else:
        for g in views:
            click.echo(f"{g.id}  {g.name}  ({g.type}, {g.members} member{'' if g.members == 1 else 's'})")


def _membership(name: str, member: bool) -> None:
    verb = "Add USER to" if member else "Remove USER from"

    @groups.command(name, help=f"{verb} group ID.")
    @click.argument("group_id", metavar="ID")
    @click.argument("user_id", metavar="USER")
    @_actor_option
    @_json
    @handle_errors
    def command(group_id: str, user_id: str, actor: str | None, as_json: bool) -> None:
        identity = _engine().identity
        change = identity.add_membership if member else identity.remove_membership
        _show_user(change(user_id, group_id, actor=_actor(actor)), as_json)


_membership("add-member", True)
_membership("remove-member", False)


def register(cli: click.Group) -> None:
    cli.add_command(users)
    cli.add_command(groups)
