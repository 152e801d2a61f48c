"""The demo's data: departments, a user for every role, the diagrams in bpmn/ and cases in every state, created by
driving the real engine on a moved clock (no rows written by hand). ``onewindow demo`` (web/cli.py) seeds with
``seed`` and then serves the web app; ``--seed-only`` stops after seeding.

Seeding is idempotent: departments and users that exist are kept (their passwords too), the diagrams are deployed
again only when they changed, and the cases are created once (they are recognised by their business keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine.clock import FrozenClock
from engine.errors import NotFound
from engine.tasks.queries import TaskQuery

DEMO_PASSWORD = "onewindow-demo"

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("window", "综合窗口"),
    ("market", "市场监管局"),
    ("fire", "消防救援大队"),
    ("environment", "生态环境局"),
)


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    what: str


USERS: tuple[DemoUser, ...] = (
    DemoUser("clerk1", "王芳", ("window",), ("clerk",), "综合窗口 window clerk: 一窗受理, 出件"),
    DemoUser("market1", "李强", ("market",), ("reviewer",), "市场监管局 reviewer"),
    DemoUser("fire1", "张伟", ("fire",), ("reviewer",), "消防救援大队 reviewer"),
    DemoUser("env1", "刘洋", ("environment",), ("reviewer",), "生态环境局 reviewer"),
    DemoUser("leader1", "陈静", ("market",), ("leader",), "市场监管局 department leader"),
    DemoUser("super1", "赵敏", (), ("supervisor",), "效能监察 supervisor: every case, 催办, 延期, 挂起"),
    DemoUser("design1", "孙丽", (), ("designer",), "流程设计 designer"),
    DemoUser("admin", "系统管理员", (), ("admin",), "administrator: users, departments, calendar"),
)

SAMPLE_KEY = "sample_parallel_approval"


@dataclass(frozen=True)
class DemoCase:
    """One sample case: started ``days_ago`` working hours ago and driven to ``stage``."""

    number: int
    applicant: str
    days_ago: int
    stage: str  # intake | review | partial | approved | refused | rejected
    reviews: dict[str, bool] = field(default_factory=dict)

    @property
    def business_key(self) -> str:
        return f"DEMO-{self.number:04d}"


CASES: tuple[DemoCase, ...] = (
    DemoCase(1, "杭州示例科技有限公司", 0, "intake"),
    DemoCase(2, "西湖区小明餐饮店", 1, "intake"),
    DemoCase(3, "滨江云帆网络有限公司", 2, "review"),
    DemoCase(4, "拱墅区老街茶馆", 3, "partial", {"market": True}),
    DemoCase(5, "余杭绿野农业合作社", 9, "review"),  # its reviews are due after 5 days: overdue now
    DemoCase(6, "萧山恒通物流有限公司", 8, "partial", {"market": True, "fire": True}),
    DemoCase(7, "上城区晨光书店", 12, "approved", {"market": True, "fire": True, "environment": True}),
    DemoCase(8, "临平区金秋服装厂", 15, "approved", {"market": True, "fire": True, "environment": True}),
    DemoCase(9, "钱塘新区化工贸易有限公司", 10, "refused", {"market": True, "fire": False, "environment": True}),
    DemoCase(10, "富阳区山水民宿", 6, "rejected"),
)

_REVIEW_TASKS = {"market": ("review_market", "market1", "marketApproved"),
                 "fire": ("review_fire", "fire1", "fireApproved"),
                 "environment": ("review_env", "env1", "envApproved")}


def default_bpmn_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "bpmn"
    return here if here.is_dir() else Path.cwd() / "bpmn"


def seed_identity(engine: Any, say: Callable[[str], None] = lambda _m: None) -> list[DemoUser]:
    """Create the demo departments and users that do not exist yet; the list of users created now."""
    ident = engine.identity
    known_groups = {g.id for g in ident.groups()}
    for group_id, name in DEPARTMENTS:
        if group_id not in known_groups:
            ident.add_group(group_id, name, actor="demo")
    created = []
    for user in USERS:
        try:
            ident.user(user.id)
        except NotFound:
            ident.add_user(user.id, DEMO_PASSWORD, name=user.name, groups=user.groups, roles=user.roles,
                           actor="demo")
            created.append(user)
    say(f"departments: {len(DEPARTMENTS)}, users: {len(USERS)} ({len(created)} new)")
    return created


def deploy(engine: Any, bpmn_dir: str | Path | None = None, say: Callable[[str], None] = lambda _m: None) -> Any:
    root = Path(bpmn_dir) if bpmn_dir else default_bpmn_dir()
    files = sorted([*root.rglob("*.bpmn"), *root.rglob("*.dmn")])
    if not files:
        raise NotFound(f"no .bpmn files under {root}", path=str(root))
    result = engine.repository.deploy_files(files, name="demo", source="demo")
    for d in result.definitions:
        say(f"deployed {d.key} version {d.version}")
    return result


def seed_cases(build: Callable[[Any], Any], now: datetime, say: Callable[[str], None] = lambda _m: None) -> int:
    """Create the sample cases that do not exist yet, each on a clock moved back to when it happened.

    ``build(clock)`` returns an engine on the demo database reading ``clock`` (closed here afterwards); ``now`` is
    the real present. Returns the number of cases created."""
    clock = FrozenClock(now)
    engine = build(clock)
    created = 0
    try:
        existing = {i.business_key for i in engine.runtime.instances(definition_key=SAMPLE_KEY)}
        todo = [c for c in CASES if c.business_key not in existing]
        for n, case in enumerate(todo, 1):
            _drive(engine, clock, now, case)
            created += 1
            say(f"case {case.business_key} ({case.stage}) {n}/{len(todo)}")
    finally:
        engine.close()
    return created


def _one_task(engine: Any, instance_id: str, key: str) -> Any:
    tasks = [t for t in engine.tasks.list(TaskQuery(instance_id=instance_id)) if t.task_definition_key == key]
    if len(tasks) != 1:
        raise NotFound(f"demo case {instance_id}: expected one open task {key}, found {len(tasks)}",
                       instance_id=instance_id)
    return tasks[0]


def _drive(engine: Any, clock: FrozenClock, now: datetime, case: DemoCase) -> None:
    clock.set(now - timedelta(days=case.days_ago, hours=1))
    instance = engine.runtime.start(SAMPLE_KEY, business_key=case.business_key, started_by="clerk1",
                                    variables={"applicant": case.applicant})
    if case.stage == "intake":
        return
    clock.advance(hours=2)
    intake = _one_task(engine, instance.id, "intake")
    engine.tasks.claim(intake.id, "clerk1")
    if case.stage == "rejected":
        engine.tasks.complete(intake.id, "clerk1", {"accepted": False, "applicant": case.applicant})
        engine.tasks.comment(intake.id, "经营场所不在本辖区，告知向属地窗口申请。", "clerk1")
        return
    engine.tasks.complete(intake.id, "clerk1", {"accepted": True, "applicant": case.applicant})
    for day, (dept, approved) in enumerate(case.reviews.items(), 1):
        clock.set(min(now, now - timedelta(days=case.days_ago) + timedelta(days=day, hours=2)))
        key, user, variable = _REVIEW_TASKS[dept]
        task = _one_task(engine, instance.id, key)
        engine.tasks.claim(task.id, user)
        engine.tasks.complete(task.id, user, {variable: approved})
        if not approved:
            engine.tasks.comment(task.id, "消防设施设计不符合规范，不同意。", user)
    if case.stage in ("approved", "refused"):
        clock.advance(hours=3)
        last = _one_task(engine, instance.id, "deliver" if case.stage == "approved" else "notify_refusal")
        engine.tasks.claim(last.id, "clerk1")
        engine.tasks.complete(last.id, "clerk1", {})
