"""Two months of a service centre's work, simulated on the real engine with a moved clock (``onewindow demo``).

Every service item of the registry takes part. The clock starts ``days`` calendar days before the present and moves
through the office hours of every working day (the engine's calendar); at each step:

* new applications come to the window and are decided through ``engine.intake`` (受理, 一次性告知 then 补正 and
  受理 a few days later, 容缺受理, 不予受理), with the item module's ``application(seed)`` as the form data;
* due jobs fire (``engine.jobs.execute_due``: BPMN timers, warnings, overdue marks, timeout policies);
* the automatic steps run (each item module's ``HANDLERS``, through ``processes.worker``, as an external worker);
* the people work: each open task is taken by a person of its department with a chance per hour that depends on
  the department (some are slow, so some tasks and cases go overdue), the task's generated form is filled in
  (approvals mostly, some refusals) and completed; now and then a reviewer asks for 补正 (the case clock stops) and
  the window records its arrival a few days later;
* a finished case waiting for its 好差评 rating gets one (some bad ones start a rectification).

Nothing is written to the database by hand: every row comes from the engine. The outcome is repeatable for a given
``seed`` and present instant. The people are the demo users of ``engine.demo`` plus one reviewer ``<group>1`` for
every department that has none (created on first need, same demo password).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.clock import FrozenClock
from engine.errors import EngineError, NotFound
from engine.tasks.queries import TaskQuery

from . import modules, registry
from .worker import drain

Say = Callable[[str], None]

APPROVE_IDS = ("approve", "approved", "agree", "pass", "passed", "yes", "accept", "accepted", "ok", "同意", "通过")
REFUSE_IDS = ("reject", "rejected", "refuse", "refused", "disagree", "deny", "denied", "no", "不同意", "不予")


def item_modules() -> list[Any]:
    """The modules of the registry's items (``processes.modules()``), those whose item is registered."""
    keys = {item.key for item in registry()}
    return [m for m in modules() if getattr(m, "KEY", None) in keys]


def all_handlers() -> dict[str, Any]:
    handlers: dict[str, Any] = {}
    for module in item_modules():
        handlers.update(getattr(module, "HANDLERS", {}) or {})
    return handlers


PEOPLE = ("周杰", "吴静", "郑伟", "孙丽娟", "马超", "朱敏", "胡军", "郭芳", "何强", "高洁", "林涛", "罗霞", "梁勇",
          "宋佳", "谢磊", "韩梅")
WINDOW_GROUPS = ("window", "delivery")


def departments() -> dict[str, str]:
    """Every department (candidate group) the registry's items name, with its display name (first one wins)."""
    out: dict[str, str] = {}
    for module in item_modules():
        for group, name in (getattr(module, "DEPARTMENTS", None) or {}).items():
            out.setdefault(group, name)
    return out


def seed_people(engine: Any, password: str, say: Say = lambda _m: None) -> list[str]:
    """The items' departments that do not exist yet, and one person in each department that has nobody: a window
    clerk for the window groups, the demo supervisors for the supervision group, a reviewer elsewhere. Returns the
    users created."""
    ident = engine.identity
    known = {g.id for g in ident.groups()}
    created = []
    for n, (group, name) in enumerate(sorted(departments().items())):
        if group not in known:
            ident.add_group(group, name, actor="demo")
        if ident.users(group=group, active=True):
            continue
        if group == "supervisor":
            for user in ident.users(role="supervisor", active=True):
                ident.add_membership(user.id, group, actor="demo")
            continue
        user_id = f"{group}1"[:64]
        try:
            ident.user(user_id)
            ident.add_membership(user_id, group, actor="demo")
        except NotFound:
            ident.add_user(user_id, password, name=PEOPLE[n % len(PEOPLE)], groups=[group],
                           roles=["clerk"] if group in WINDOW_GROUPS else ["reviewer"], actor="demo")
            created.append(user_id)
    if created:
        say(f"people of the items' departments: {', '.join(created)}")
    return created


class Simulation:
    def __init__(self, engine: Any, clock: FrozenClock, *, seed: int = 7, password: str = "onewindow-demo",
                 say: Say = lambda _m: None) -> None:
        self.engine = engine
        self.clock = clock
        self.rng = random.Random(seed)
        self.password = password
        self.say = say
        self.tz = engine.services.tz
        self.handlers = all_handlers()
        self.items = [i for i in registry() if i.materials]
        self.modules = {getattr(m, "KEY", None): m for m in item_modules()}
        self.speed: dict[str, float] = {}
        self.users: dict[str, str] = {}
        self.pending_notices: list[tuple[date, str]] = []  # (day the 补正 comes, application number)
        self.pending_corrections: list[tuple[date, str]] = []  # (day the 补正 comes, case business key)
        self.rated: set[str] = set()
        self._pending_data: dict[str, dict[str, Any]] = {}
        self.started = 0
        self.seq = 0

    # --- people ------------------------------------------------------------------------------------------------
    def person_of(self, group: str) -> str:
        if group in self.users:
            return self.users[group]
        ident = self.engine.identity
        members = ident.users(group=group, active=True)
        if members:
            self.users[group] = members[0].id
            return members[0].id
        try:
            ident.group(group)
        except NotFound:
            ident.add_group(group, group, actor="demo")
        user_id = f"{group}1"[:64]
        try:
            ident.user(user_id)
        except NotFound:
            ident.add_user(user_id, self.password, name=f"{group} 审批员", groups=[group], roles=["reviewer"],
                           actor="demo")
        self.users[group] = user_id
        return user_id

    def chance(self, group: str) -> float:
        """A department's chance per office hour to take up a waiting task: most are brisk, a few are slow."""
        if group not in self.speed:
            self.speed[group] = self.rng.choice((0.2, 0.15, 0.12, 0.1, 0.07, 0.04))
        return self.speed[group]

    # --- the window --------------------------------------------------------------------------------------------
    def _materials(self, item: Any, missing: str | None = None) -> dict[str, dict[str, Any]]:
        return {m.key: {"status": "missing" if m.key == missing else "received",
                        "form": "original" if getattr(m, "form", "original") != "copy" else "copy"}
                for m in item.materials}

    def _applicant(self, n: int, item: Any, data: dict[str, Any]) -> dict[str, Any]:
        name = str(data.get("companyName") or data.get("applicantName") or data.get("applicant")
                   or f"示例申请人{n:03d}")
        return {"name": name[:100], "idNumber": f"91330106MA2{n:07d}", "phone": f"1390571{n:04d}",
                "address": f"杭州市西湖区文三路{100 + n % 300}号", "delivery": self.rng.choice(("pickup", "pickup", "mail"))}

    def new_application(self) -> None:
        self.seq += 1
        item = self.rng.choice(self.items)
        module = self.modules.get(item.key)
        maker = getattr(module, "application", None) or getattr(module, "demo_application", None)
        data = dict(maker(self.seq)) if callable(maker) else {}
        applicant = self._applicant(self.seq, item, data)
        required = [m for m in item.materials if m.required]
        roll = self.rng.random()
        intake = self.engine.intake
        try:
            if roll < 0.03:
                intake.reject(item.key, reason="申请事项不属于本中心受理范围，已告知向有权机关申请。",
                              materials=self._materials(item), applicant=applicant, actor="clerk1")
            elif roll < 0.12 and required:
                missing = self.rng.choice(required).key
                view = intake.notify(item.key, materials=self._materials(item, missing), applicant=applicant,
                                     actor="clerk1")
                self.pending_notices.append((self._day_after(self.rng.randint(1, 4)), view.number))
                self._pending_data[view.number] = data
            elif roll < 0.16 and any(m.gap_allowed and m.required for m in item.materials):
                gap = self.rng.choice([m for m in item.materials if m.gap_allowed and m.required]).key
                intake.accept_with_gap(item.key, commitment_due=self._day_after(5).isoformat(),
                                       materials=self._materials(item, gap), applicant=applicant,
                                       actor="clerk1", variables=data)
                self.started += 1
            else:
                intake.accept(item.key, materials=self._materials(item), applicant=applicant, actor="clerk1",
                              variables=data)
                self.started += 1
        except EngineError as exc:
            self.say(f"intake of {item.key} refused: {exc}")

    def supplements_due(self, today: date) -> None:
        due = [(d, n) for d, n in self.pending_notices if d <= today]
        self.pending_notices = [(d, n) for d, n in self.pending_notices if d > today]
        for _, number in due:
            app = self.engine.intake.application(number)
            item = self.engine.intake.item(app.item_key)
            try:
                self.engine.intake.accept(application=number, materials=self._materials(item), actor="clerk1",
                                          variables=self._pending_data.pop(number, {}))
                self.started += 1
            except EngineError as exc:
                self.say(f"补正 of {number} refused: {exc}")
        back = [(d, k) for d, k in self.pending_corrections if d <= today]
        self.pending_corrections = [(d, k) for d, k in self.pending_corrections if d > today]
        for _, key in back:
            try:
                self.engine.tasks.correction_received(case=key, user_id="clerk1", note="申请人已补齐材料")
            except EngineError as exc:
                self.say(f"补正已收到 for {key} refused: {exc}")

    # --- the departments ---------------------------------------------------------------------------------------
    def _value(self, field: Any, refuse: bool) -> Any:
        if field.type == "boolean":
            return not refuse
        if field.type == "enum" and field.options:
            ids = [o[0] for o in field.options]
            wanted = REFUSE_IDS if refuse else APPROVE_IDS
            for option_id, label in field.options:
                if option_id.lower() in wanted or any(w in (label or "") for w in wanted if not w.isascii()):
                    return option_id
            return ids[0]
        if field.type in ("long", "double"):
            limits = dict(field.constraints)
            low = limits.get("min")
            return int(float(low)) if low not in (None, "") else 1
        if field.type == "date":
            return self.clock.now().astimezone(self.tz).date().isoformat()
        if field.default_value not in (None, ""):
            return field.default_value
        return "不同意：材料与现场情况不符" if refuse else "同意"

    def work_on(self, task: Any) -> None:
        group = task.candidate_groups[0] if task.candidate_groups else None
        if task.assignee is None and group is None:
            return
        if self.rng.random() > self.chance(group or task.assignee or ""):
            return
        user = task.assignee or self.person_of(group)  # type: ignore[arg-type]
        tasks = self.engine.tasks
        try:
            if task.business_key and tasks.pending_correction(task.instance_id) is not None:
                return  # the case waits for 补正: nothing to decide until the materials come
            if task.assignee is None:
                tasks.claim(task.id, user)
            if task.business_key and self.rng.random() < 0.03 and self._may_request_correction(task):
                tasks.request_correction(task.id, reason="申请材料与现场情况不一致，请补正相关证明材料",
                                         materials=["补充说明材料"], user_id=user)
                self.pending_corrections.append((self._day_after(self.rng.randint(1, 5)), task.business_key))
                return
            refuse = self.rng.random() < 0.05
            values = {}
            for field, current in tasks.form_fields(task.id):
                if field.type == "file" or dict(field.properties).get("widget") == "file":
                    continue
                invalid_choice = field.type == "enum" and current not in [o[0] for o in field.options]
                if current in (None, "") or field.type == "boolean" or invalid_choice:
                    values[field.id] = self._value(field, refuse)
            tasks.complete(task.id, user, values)
            if refuse:
                tasks.comment(task.id, "经审查，申请材料不符合法定条件，不同意。", user)
        except EngineError as exc:
            self.say(f"task {task.name} of {task.business_key}: {exc}")

    def _may_request_correction(self, task: Any) -> bool:
        try:
            clock = self.engine.cases.clock(task.instance_id)
            return clock is not None and clock.state == "RUNNING" and \
                self.engine.tasks.pending_correction(task.instance_id) is None
        except EngineError:
            return False

    def rate_finished(self) -> None:
        for key, module in self.modules.items():
            message = getattr(module, "RATING_MESSAGE", None)
            ratings = getattr(module, "RATINGS", None)
            if not message or not ratings:
                continue
            for inst in self.engine.runtime.instances(definition_key=key, state="ACTIVE"):
                if inst.business_key in self.rated or not inst.business_key:
                    continue
                rating = self.rng.choices(ratings, weights=(60, 25, 10, 4, 1)[:len(ratings)])[0]
                try:
                    self.engine.runtime.correlate(message, business_key=inst.business_key, actor="applicant",
                                                  variables={"rating": rating, "ratingComment": ""})
                    self.rated.add(inst.business_key)
                except EngineError:
                    pass  # not waiting for its rating yet

    # --- time --------------------------------------------------------------------------------------------------
    def _day_after(self, workdays: int) -> date:
        day = self.clock.now().astimezone(self.tz).date()
        calendar = self.engine.calendar.calendar()
        n = 0
        while n < workdays:
            day += timedelta(days=1)
            if calendar.is_working_day(day):
                n += 1
        return day

    def step(self) -> None:
        self.engine.jobs.execute_due()
        drain(self.engine, self.handlers)
        for task in self.engine.tasks.list(TaskQuery(max_results=5000)):
            self.work_on(task)
        drain(self.engine, self.handlers)

    def run(self, *, start: datetime, end: datetime, cases: int) -> int:
        calendar = self.engine.calendar.calendar()
        days = []
        day = start.astimezone(self.tz).date()
        while day <= end.astimezone(self.tz).date():
            if calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        hours = [time(h, 30) for h in range(9, 17)]
        slots = [datetime.combine(d, h, self.tz) for d in days for h in hours]
        slots = [s for s in slots if s < end]
        arrivals: dict[int, int] = {}
        for _ in range(cases):
            index = self.rng.randrange(len(slots))
            arrivals[index] = arrivals.get(index, 0) + 1
        last_day = None
        for index, slot in enumerate(slots):
            self.clock.set(slot)
            today = slot.date()
            if today != last_day:
                self.supplements_due(today)
                if last_day is not None and today.day in (1, 11, 21):
                    self.say(f"{today.isoformat()}: {self.started} cases so far")
                last_day = today
            for _ in range(arrivals.get(index, 0)):
                self.new_application()
            self.step()
            if slot.hour == 16:
                self.rate_finished()
        self.clock.set(end)
        self.engine.jobs.execute_due()
        drain(self.engine, self.handlers)
        return self.started


# A believable bottleneck: the fire-design review of the construction permit (a department known for its queue) takes
# a task up about once in two weeks of office hours, so some construction cases are late at the end (red on the
# supervisor's dashboard) — the other departments' pace is drawn by chance (``Simulation.chance``).
BOTTLENECKS = {"housing_fire": 0.008}


def simulate(build: Callable[[Any], Any], now: datetime, *, days: int = 60, cases: int = 200, seed: int = 7,
             password: str = "onewindow-demo", say: Say = lambda _m: None) -> int:
    """Run the simulation on an engine from ``build(clock)`` (closed afterwards), ending at ``now``; the number of
    cases started. Skipped (0) when the database already holds applications (the demo was seeded before)."""
    clock = FrozenClock(now - timedelta(days=days))
    engine = build(clock)
    try:
        if engine.intake.count() > 0:
            say("the simulated months are there already")
            return 0
        seed_people(engine, password, say)
        sim = Simulation(engine, clock, seed=seed, password=password, say=say)
        sim.speed.update(BOTTLENECKS)
        return sim.run(start=clock.now(), end=now, cases=cases)
    finally:
        engine.close()
