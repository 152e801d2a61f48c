"""TaskQuery with a data scope (``visible_to``): when the other filters only keep tasks the scope allows anyway
(the inbox tabs), the scope condition is left out of the SQL (docs/performance.md, Web pages) — with the same
answer; a filter outside the scope still gets it."""

from __future__ import annotations

from sqlalchemy import event

from engine.tasks.queries import TaskQuery
from tests.engine.test_supervision import PARALLEL, SIMPLE, at


def _sql(engine, query):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(engine.db, "before_cursor_execute", listener)
    try:
        rows = engine.tasks.list(query)
    finally:
        event.remove(engine.db, "before_cursor_execute", listener)
    return rows, seen[-1]


def test_scope_left_out_only_where_it_changes_nothing(engine, clock):
    engine.repository.deploy([(p.name, p.read_bytes()) for p in (SIMPLE, PARALLEL)])
    clock.set(at(2026, 3, 2, 9, 30))
    case = engine.runtime.start("case_view", business_key="V-1")
    (intake,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(intake.id, "c1")
    tasks = {t.task_definition_key: t for t in engine.tasks.list(instance_id=case.id)}
    engine.tasks.claim(tasks["review_fire"].id, "u1")
    engine.tasks.delegate(tasks["review_fire"].id, "u2", actor="u1")
    engine.tasks.claim(tasks["review_civil"].id, "u3")
    scope = ("u1", ("market",))

    group, sql = _sql(engine, TaskQuery(candidate_groups=("market",), unassigned=True, visible_to=scope))
    assert [t.task_definition_key for t in group] == ["review_market"] and "task_identity_link.user_id" not in sql
    delegated, sql = _sql(engine, TaskQuery(owner="u1", visible_to=scope))
    assert [t.task_definition_key for t in delegated] == ["review_fire"] and "task_identity_link.user_id" not in sql
    # another department's tasks, or somebody else's: the scope stays and keeps them out
    other, sql = _sql(engine, TaskQuery(candidate_groups=("civil",), visible_to=scope))
    assert other == [] and "task_identity_link.user_id" in sql
    assert engine.tasks.list(TaskQuery(candidate_groups=("civil",))) != []
    theirs, sql = _sql(engine, TaskQuery(assignee="u3", visible_to=scope))
    assert theirs == [] and "task_identity_link.user_id" in sql
    assert [t.task_definition_key for t in engine.tasks.list(TaskQuery(assignee="u3"))] == ["review_civil"]
    # delegated by u1 to u2: u2's task is still u1's to see (owner)
    assert [t.task_definition_key for t in engine.tasks.list(TaskQuery(assignee="u2", visible_to=scope))] == [
        "review_fire"]


def test_scope_of_one_case_checked_per_row(engine, clock):
    """The tasks of one case (what an API client asks between completions) get the scope as an EXISTS on each
    task's own links, not an IN over every link of the user's groups: the same answer."""
    engine.repository.deploy([(p.name, p.read_bytes()) for p in (SIMPLE, PARALLEL)])
    clock.set(at(2026, 3, 2, 9, 30))
    case = engine.runtime.start("case_view", business_key="V-2")
    (intake,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(intake.id, "c1")
    tasks = {t.task_definition_key: t for t in engine.tasks.list(instance_id=case.id)}
    engine.tasks.claim(tasks["review_civil"].id, "u1")
    engine.tasks.delegate(tasks["review_fire"].id, "u2", actor="u9")

    def keys(query: TaskQuery) -> tuple[list[str], str]:
        rows, sql = _sql(engine, query)
        return sorted(t.task_definition_key for t in rows), sql

    # market by department, civil as its assignee; not fire (another department, delegated to somebody else)
    mine, sql = keys(TaskQuery(instance_id=case.id, visible_to=("u1", ("market",))))
    assert mine == ["review_civil", "review_market"]
    assert "EXISTS" in sql.upper() and "task_identity_link.task_id = task.id" in sql
    by_key, sql = keys(TaskQuery(business_key="V-2", visible_to=("u1", ("market",))))
    assert by_key == mine and "EXISTS" in sql.upper()
    # the owner of a delegated task and a user named as candidate see it; nobody else does
    assert keys(TaskQuery(instance_id=case.id, visible_to=("u9", ())))[0] == ["review_fire"]
    engine.tasks.add_identity_link(tasks["review_market"].id, user_id="u7")
    assert keys(TaskQuery(instance_id=case.id, visible_to=("u7", ())))[0] == ["review_market"]
    assert keys(TaskQuery(instance_id=case.id, visible_to=("u8", ("fire",))))[0] == ["review_fire"]
    assert keys(TaskQuery(instance_id=case.id, visible_to=("u8", ("nobody",))))[0] == []
    # the same scope over all cases (no narrowing filter) keeps the IN form, with the same answer
    wide, sql = keys(TaskQuery(visible_to=("u1", ("market",))))
    assert wide == mine and "EXISTS" not in sql.upper()
