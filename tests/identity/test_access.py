"""Data scope: who sees which tasks (in SQL: lists, counts, paging) and who may act on them (Forbidden)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import Forbidden
from engine.identity import Access, require_case_access, require_task_access
from engine.tasks.queries import TaskQuery

BPMN = Path(__file__).parent / "fixtures" / "identity_scope.bpmn"


@pytest.fixture
def scoped(engine):  # type: ignore[no-untyped-def]
    """Two cases, each with a market task, a fire task, a task for candidate users expert1/expert2 and one assigned
    to inspector; users of each role."""
    engine.repository.deploy([(BPMN.name, BPMN.read_bytes())])
    cases = [engine.runtime.start("identity_scope", business_key=f"SCOPE-{i}") for i in (1, 2)]
    ident = engine.identity
    ident.add_group("market", "市场监管局")
    ident.add_group("fire", "消防救援大队")
    ident.add_user("m1", "password-1", groups=["market"], roles=["reviewer"])
    ident.add_user("m2", "password-1", groups=["market"], roles=["leader"])
    ident.add_user("f1", "password-1", groups=["fire"], roles=["reviewer"])
    ident.add_user("expert1", "password-1", roles=["reviewer"])
    ident.add_user("inspector", "password-1", roles=["clerk"])
    ident.add_user("boss", "password-1", roles=["supervisor"])
    ident.add_user("root", "password-1", roles=["admin"])
    return engine, cases


def _names(engine, access: Access, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in engine.tasks.list(TaskQuery(visible_to=access.task_scope, sort_by="name", **kwargs))]


def test_a_reviewer_sees_and_counts_only_their_department(scoped):
    engine, _ = scoped
    m1, f1 = engine.identity.access("m1"), engine.identity.access("f1")
    assert _names(engine, m1) == ["市场监管审查", "市场监管审查"]
    assert engine.tasks.count(TaskQuery(visible_to=m1.task_scope)) == 2
    assert _names(engine, f1) == ["消防审查", "消防审查"]
    # filters combine with the scope: asking for another department's group gives nothing, not a leak
    assert engine.tasks.count(TaskQuery(candidate_group="fire", visible_to=m1.task_scope)) == 0
    assert engine.tasks.list(TaskQuery(candidate_group="fire", visible_to=m1.task_scope)) == []
    assert engine.tasks.count(m1.restrict(TaskQuery(business_key="SCOPE-1"))) == 1


def test_paging_is_applied_after_the_scope(scoped):
    engine, _ = scoped
    m1 = engine.identity.access("m1")
    pages = [engine.tasks.list(TaskQuery(visible_to=m1.task_scope, first_result=i, max_results=1)) for i in (0, 1, 2)]
    assert [len(p) for p in pages] == [1, 1, 0]
    assert {p[0].candidate_groups for p in pages[:2]} == {("market",)}


def test_admin_and_supervisor_see_everything(scoped):
    engine, _ = scoped
    for who in ("root", "boss"):
        access = engine.identity.access(who)
        assert access.task_scope is None
        assert engine.tasks.count(TaskQuery(visible_to=access.task_scope)) == 8
        assert engine.tasks.count(access.restrict(TaskQuery())) == 8


def test_candidate_user_and_assignee_see_their_tasks(scoped):
    engine, _ = scoped
    assert _names(engine, engine.identity.access("expert1")) == ["专家意见", "专家意见"]
    assert _names(engine, engine.identity.access("inspector")) == ["现场核查", "现场核查"]
    assert _names(engine, Access("nobody")) == []  # in no group, no role: nothing


def test_claimed_tasks_stay_visible_to_the_department_and_follow_the_assignee(scoped):
    engine, cases = scoped
    (task,) = engine.tasks.list(TaskQuery(instance_id=cases[0].id, candidate_group="market"))
    engine.tasks.claim(task.id, "m1")
    assert task.id in [t.id for t in engine.tasks.list(TaskQuery(visible_to=engine.identity.access("m2").task_scope))]
    engine.tasks.delegate(task.id, "expert1")  # owner m1, assignee expert1
    expert = engine.identity.access("expert1")
    assert engine.tasks.count(TaskQuery(visible_to=expert.task_scope)) == 3
    require_task_access(expert, engine.tasks.task(task.id), "resolve")
    engine.tasks.resolve(task.id, "expert1")
    engine.tasks.complete(task.id, "m1")
    done = TaskQuery(state="COMPLETED", visible_to=engine.identity.access("m1").task_scope)
    assert [t.id for t in engine.tasks.list(done)] == [task.id]  # 已办: what I completed
    assert engine.tasks.count(TaskQuery(state="COMPLETED", visible_to=engine.identity.access("f1").task_scope)) == 0


def test_forbidden_names_user_departments_action_and_task(scoped):
    engine, _ = scoped
    fire = engine.tasks.list(TaskQuery(candidate_group="fire"))[0]
    m1 = engine.identity.access("m1")
    with pytest.raises(Forbidden) as err:
        require_task_access(m1, fire, "complete")
    assert str(err.value) == "user m1 (departments: market) may not complete task 消防审查 of department fire"
    assert err.value.details == {"user_id": "m1", "task_id": fire.id, "action": "complete"}
    with pytest.raises(Forbidden, match=r"^user inspector \(departments: none\) may not claim task 消防审查"):
        require_task_access(engine.identity.access("inspector"), fire, "claim")
    site = engine.tasks.list(TaskQuery(task_definition_key="site_visit"))[0]
    with pytest.raises(Forbidden, match="may not read task 现场核查 assigned to inspector$"):
        require_task_access(m1, site, "read")
    expert = engine.tasks.list(TaskQuery(task_definition_key="expert_opinion"))[0]
    with pytest.raises(Forbidden, match="may not complete task 专家意见 of expert1, expert2$"):
        require_task_access(m1, expert, "complete")
    with pytest.raises(ValueError, match="unknown task action 'approve'"):
        require_task_access(m1, fire, "approve")


def test_what_each_role_may_do_on_another_departments_task(scoped):
    engine, _ = scoped
    fire = engine.tasks.list(TaskQuery(candidate_group="fire"))[0]
    boss, root, f1 = (engine.identity.access(u) for u in ("boss", "root", "f1"))
    for action in ("read", "claim", "unclaim", "complete", "resolve", "delegate", "assign", "comment"):
        require_task_access(root, fire, action)
        require_task_access(f1, fire, action)
    require_task_access(boss, fire, "read")
    require_task_access(boss, fire, "assign")  # the supervisor reassigns (转办) ...
    with pytest.raises(Forbidden, match="user boss .* may not complete task 消防审查"):
        require_task_access(boss, fire, "complete")  # ... but does not decide for the department


def test_case_access(scoped):
    engine, cases = scoped
    m1 = engine.identity.access("m1")
    visible = engine.tasks.count(TaskQuery(instance_id=cases[0].id, state=None, visible_to=m1.task_scope))
    require_case_access(m1, "SCOPE-1", visible)
    with pytest.raises(Forbidden, match="user nobody .* may not read case SCOPE-1: none of its tasks"):
        require_case_access(Access("nobody"), "SCOPE-1", 0)
    with pytest.raises(Forbidden, match="may not suspend case SCOPE-1: that needs the role supervisor or admin"):
        require_case_access(m1, "SCOPE-1", visible, "suspend")
    require_case_access(engine.identity.access("boss"), "SCOPE-1", 0, "suspend")


def test_capabilities_by_role(scoped):
    engine, _ = scoped
    m1, boss, root = (engine.identity.access(u) for u in ("m1", "boss", "root"))
    assert not m1.may("deploy") and not boss.may("deploy") and root.may("deploy")
    assert boss.may("supervise") and boss.may("read_all") and not boss.may("manage_identity")
    with pytest.raises(Forbidden, match=r"^user m1 \(roles: reviewer\) may not manage identity: that needs the "
                                        r"role admin$"):
        m1.require("manage_identity")
    assert Access.unrestricted().may("operate")
