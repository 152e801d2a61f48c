"""Web pages benchmark (not a test): GET /inbox (tabs and filters) and GET /supervision (效能监察) with ~100,000 open
tasks of 50 departments in the database, p50/p95 per page, Flask's test client in this process (no HTTP: the
time is the app's, the database's and the templates').

How the database is filled (``fill``): the rows are what the engine writes, because the engine writes them.

1. The engine, on a moved clock, drives *template cases* of five generated service items (``bench_item_1..5``:
   promised 10 wd, legal 20 wd, 窗口受理 → two parallel department reviews due in 3 and 5 working days → 决定):
   for each of the 25 department pairs (dept01+dept02, ...) one case accepted on each of the last 14 working days
   (open: two review tasks each; the oldest are past their 10-day promise), one suspended for 补正 (open), one closed on time and one closed late. The reviewer
   ``bench-rev`` (dept07) has claimed a few of the templates' tasks.
2. Each template is copied ``copies`` times (open ones; closed ones a tenth of that) by reading *every* row the
   engine wrote for it — ``process_instance``, ``case_clock``, ``case_suspension``, ``task``,
   ``task_identity_link``, ``variable``, ``job``, ``history_event`` — and inserting them again in bulk with new
   identities: the case id, the task ids and every other UUID private to the case (SpiffWorkflow's task ids inside
   ``workflow_json``, job ids) are replaced consistently in every column (so a copy can be worked on like its
   template), the business key becomes ``BW-nnnnnnn``, and the copy's history hash chain is recomputed
   (``engine.history.event_hash``), so ``engine.history.verify`` accepts it. Shared ids (definitions, deployment)
   stay. Not copied: the templates' outbox/notification rows (messages already sent; no page here reads them).

Then the pages are requested as a reviewer of dept07 (about 4,000 open tasks in their department), a leader of
dept07 and a supervisor (every department): warm-up, then ``--runs`` requests of each URL.

    python benchmarks/bench_web.py [--tasks 100000] [--runs 30] [--postgres-url postgresql+psycopg://...]
        [--sqlite-path FILE] [--reuse] [--keep-postgres | --reuse-postgres NAME] [--json out.json]

``--sqlite-path FILE --reuse`` measures a database filled by an earlier run (keep it with ``--sqlite-path``);
``--postgres-url`` (a server URL) also runs on PostgreSQL in a scratch database that is dropped afterwards
(``--keep-postgres`` keeps it and prints its name; ``--reuse-postgres NAME`` measures that database again, after
upgrading its schema like any start of the engine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 6, 30, 15, 0, tzinfo=CST)  # a Tuesday; the templates are accepted on the 14 working days before
PASSWORD = "bench-password-1"
ITEMS = 5
DEPARTMENTS = 50
DAYS = 14
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COPIED = ("process_instance", "case_clock", "case_suspension", "task", "task_identity_link", "variable", "job",
          "history_event")


def diagram(n: int) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_bench_{n}" targetNamespace="bench">
  <bpmn:process id="bench_item_{n}" name="基准事项 {n}（承诺 10 个工作日）" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="promisedLimit" value="10wd"/><camunda:property name="legalLimit" value="20wd"/>
      <camunda:property name="clockStart" value="intake"/>
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="intake" name="窗口受理" camunda:candidateGroups="window">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>a1</bpmn:outgoing><bpmn:outgoing>b1</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="review_a" name="主办部门审查" camunda:candidateGroups="${{deptA}}" camunda:dueDate="${{workdays(3)}}">
      <bpmn:extensionElements><camunda:properties><camunda:property name="warnBefore" value="1wd"/></camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>a1</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="review_b" name="协办部门审查" camunda:candidateGroups="${{deptB}}" camunda:dueDate="${{workdays(5)}}">
      <bpmn:extensionElements><camunda:properties><camunda:property name="warnBefore" value="1wd"/></camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>b1</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>a2</bpmn:incoming><bpmn:incoming>b2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="decide" name="审批决定" camunda:candidateGroups="${{deptA}}">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="intake"/>
    <bpmn:sequenceFlow id="f2" sourceRef="intake" targetRef="fork"/>
    <bpmn:sequenceFlow id="a1" sourceRef="fork" targetRef="review_a"/>
    <bpmn:sequenceFlow id="b1" sourceRef="fork" targetRef="review_b"/>
    <bpmn:sequenceFlow id="a2" sourceRef="review_a" targetRef="join"/>
    <bpmn:sequenceFlow id="b2" sourceRef="review_b" targetRef="join"/>
    <bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="decide"/>
    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def dept(i: int) -> str:
    return f"dept{i:02d}"


# --- filling ----------------------------------------------------------------------------------------------------
def _working_days_back(cal: Any, n: int) -> list[datetime]:
    """The last n working days before NOW's day, oldest first, at 10:00."""
    out, day = [], NOW.date()
    while len(out) < n:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            out.append(datetime.combine(day, datetime.min.time(), CST).replace(hour=10))
    return out[::-1]


def drive_templates(engine: Any, clock: Any) -> tuple[list[str], list[str]]:
    """The template cases, driven through the engine: (open case ids, closed case ids)."""
    engine.repository.deploy([(f"bench_item_{n}.bpmn", diagram(n)) for n in range(1, ITEMS + 1)])
    ident = engine.identity
    ident.add_group("window", "综合窗口")
    for i in range(1, DEPARTMENTS + 1):
        ident.add_group(dept(i), f"部门{i:02d}")
    ident.add_user("bench-rev", PASSWORD, groups=[dept(7)], roles=["reviewer"])
    ident.add_user("bench-lead", PASSWORD, groups=[dept(7)], roles=["leader"])
    ident.add_user("bench-sup", PASSWORD, roles=["supervisor"])
    days = _working_days_back(engine.calendar.calendar(), DAYS + 12)
    open_ids, closed_ids, n = [], [], 0

    def start(pair: int, at: datetime) -> Any:
        nonlocal n
        n += 1
        clock.set(at)
        case = engine.runtime.start(f"bench_item_{(pair + n) % ITEMS + 1}", business_key=f"TPL-{n:05d}", variables={
            "applicant": f"基准企业{n:05d}", "applicantPhone": f"1380000{n:04d}", "deptA": dept(2 * pair + 1),
            "deptB": dept(2 * pair + 2)})
        (intake,) = engine.tasks.list(instance_id=case.id)
        engine.tasks.complete(intake.id, "window-clerk")
        return case

    def tasks(case: Any) -> dict[str, Any]:
        return {t.task_definition_key: t for t in engine.tasks.list(instance_id=case.id)}

    for pair in range(DEPARTMENTS // 2):
        for d, at in enumerate(days[-DAYS:]):
            case = start(pair, at)
            if pair == 3 and d in (2, 7):  # dept07's reviewer holds a few tasks ("mine")
                engine.tasks.claim(tasks(case)["review_a"].id, "bench-rev")
            open_ids.append(case.id)
        case = start(pair, days[-DAYS])  # 补正: suspended since the next day
        clock.set(days[-DAYS + 1])
        engine.cases.suspend(case.id, reason="补正材料", kind="supplement", actor="bench-rev")
        open_ids.append(case.id)
        for late in (False, True):  # closed: 4 or 12 working days after acceptance
            case = start(pair, days[0])
            clock.set(days[4 if not late else 12])
            for key in ("review_a", "review_b"):
                engine.tasks.complete(tasks(case)[key].id, "bench-rev")
            engine.tasks.complete(tasks(case)["decide"].id, "bench-rev")
            closed_ids.append(case.id)
    clock.set(NOW)
    return open_ids, closed_ids


def _rows(conn: Any, tables: dict[str, Any], instance_ids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every row of each template case, per table: {case id: {table: [row, ...]}}."""
    from sqlalchemy import select

    out: dict[str, dict[str, list[dict[str, Any]]]] = {i: {t: [] for t in COPIED} for i in instance_ids}
    t = tables
    for name in COPIED:
        table = t[name]
        if name == "process_instance":
            q = select(table).where(table.c.id.in_(instance_ids))
            key = "id"
        elif name == "task_identity_link":
            q = select(table, t["task"].c.instance_id).join(t["task"], t["task"].c.id == table.c.task_id).where(
                t["task"].c.instance_id.in_(instance_ids))
            key = "instance_id"
        elif name == "history_event":
            q = select(table).where(table.c.chain.in_(instance_ids)).order_by(table.c.seq)
            key = "chain"
        else:
            q = select(table).where(table.c.instance_id.in_(instance_ids))
            key = "instance_id"
        for row in conn.execute(q).mappings():
            row = dict(row)
            owner = row[key]
            if name == "task_identity_link":
                row.pop("instance_id")
            out[owner][name].append(row)
    return out


def _private_uuids(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    found: set[str] = set()
    for table_rows in rows.values():
        for row in table_rows:
            for value in row.values():
                if isinstance(value, str):
                    found.update(UUID.findall(value))
    return found


def copy_templates(engine: Any, templates: list[str], copies: int, start_number: int) -> int:
    """Insert ``copies`` copies of each template case (every row, new identities); returns the next number."""
    from engine.history import GENESIS, event_hash
    from engine.persistence.base import Base

    tables = {name: Base.metadata.tables[name] for name in COPIED}  # the models' types (UTC datetimes)
    with engine.db.connect() as conn:
        rows = _rows(conn, tables, templates)
        shared = {r[0] for r in conn.exec_driver_sql("SELECT id FROM process_definition")}
        shared |= {r[0] for r in conn.exec_driver_sql("SELECT id FROM deployment")}
    counts: dict[str, int] = {}
    for per_case in rows.values():
        for u in _private_uuids(per_case):
            counts[u] = counts.get(u, 0) + 1
    number = start_number
    batch: dict[str, list[dict[str, Any]]] = {name: [] for name in COPIED}

    def flush(conn: Any) -> None:
        for name in COPIED:
            if batch[name]:
                conn.execute(tables[name].insert(), batch[name])
                batch[name].clear()

    with engine.db.begin() as conn:
        for template, per_case in rows.items():
            (pi,) = per_case["process_instance"]
            private = {u for u in _private_uuids(per_case) if counts[u] == 1 and not any(u in s for s in shared)}
            old_key = pi["business_key"]
            for _ in range(copies):
                number += 1
                mapping = {u: str(uuid.uuid4()) for u in private}
                new_key = f"BW-{number:07d}"

                def sub(value: Any, mapping: dict[str, str] = mapping, new_key: str = new_key) -> Any:
                    if not isinstance(value, str):
                        return value
                    value = UUID.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
                    return value.replace(old_key, new_key) if old_key in value else value

                new_id = mapping[template]
                for name in COPIED:
                    if name == "history_event":
                        continue
                    for row in per_case[name]:
                        copy = {k: sub(v) for k, v in row.items() if not (k == "id" and isinstance(v, int))}
                        batch[name].append(copy)
                prev = GENESIS
                for ev in per_case["history_event"]:
                    copy = {k: sub(v) for k, v in ev.items() if k != "id"}
                    copy["prev_hash"] = prev
                    copy["hash"] = prev = event_hash(prev, new_id, copy["seq"], copy["event_type"], copy["actor"],
                                                     copy["timestamp"], copy["instance_id"], copy["task_id"],
                                                     copy["activity_id"], copy["payload"])
                    batch["history_event"].append(copy)
                batch["process_instance"][-1]["history_head"] = prev
                if len(batch["task"]) >= 3000:
                    flush(conn)
        flush(conn)
    return number


def fill(url: str, tasks: int) -> dict[str, Any]:
    from engine.bootstrap import build_engine
    from engine.clock import FrozenClock
    from engine.settings import Settings

    clock = FrozenClock(NOW)
    engine = build_engine(Settings(database_url=url), clock=clock)
    t0 = time.perf_counter()
    open_ids, closed_ids = drive_templates(engine, clock)
    t1 = time.perf_counter()
    copies = max(1, round((tasks / 2 - len(open_ids)) / len(open_ids)))
    number = copy_templates(engine, open_ids, copies, 0)
    copy_templates(engine, closed_ids, max(1, copies // 10), number)
    t2 = time.perf_counter()
    with engine.db.connect() as conn:
        open_tasks = conn.exec_driver_sql("SELECT count(*) FROM task WHERE state = 'ACTIVE'").scalar()
        cases = conn.exec_driver_sql("SELECT count(*) FROM process_instance").scalar()
        history = conn.exec_driver_sql("SELECT count(*) FROM history_event").scalar()
    if url.startswith("postgresql"):
        with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    # the copies are checked: a copy's history chain verifies like its template's
    sample = engine.runtime.instances(business_key="BW-0000001")[0]
    report = engine.history.verify(sample.id)[0]
    assert report.ok, report
    engine.close()
    return {"templates": len(open_ids) + len(closed_ids), "copies_per_open_template": copies, "cases": cases,
            "open_tasks": open_tasks, "history_events": history, "drive_seconds": round(t1 - t0, 1),
            "copy_seconds": round(t2 - t1, 1)}


# --- measuring ----------------------------------------------------------------------------------------------------
PAGES = (
    ("bench-rev", "/inbox?tab=mine"),
    ("bench-rev", "/inbox?tab=group"),
    ("bench-rev", "/inbox?tab=group&signal=overdue"),
    ("bench-rev", "/inbox?tab=group&signal=warning"),
    ("bench-rev", "/inbox?tab=group&signal=soon"),
    ("bench-rev", "/inbox?tab=group&item=bench_item_3"),
    ("bench-rev", "/inbox?tab=group&page=100"),
    ("bench-rev", "/inbox?tab=group&q=BW-00012"),
    ("bench-rev", "/inbox?tab=done"),
    ("bench-sup", "/inbox?tab=mine"),
    ("bench-sup", "/supervision"),
    ("bench-sup", "/supervision?dept=dept07"),
    ("bench-sup", "/supervision?item=bench_item_2&from=2026-06-22&to=2026-06-30"),
    ("bench-lead", "/supervision"),
    ("bench-sup", "/supervision/list?metric=overdue_cases"),
    ("bench-sup", "/supervision/list?metric=warning_cases"),
    ("bench-sup", "/supervision/list?metric=open_tasks&dept=dept07"),
    ("bench-sup", "/supervision/list?metric=closed_late"),
    ("bench-sup", "/supervision/list?metric=overdue_tasks"),
    ("bench-sup", "/supervision/list?metric=open_cases"),
    ("bench-sup", "/supervision/list?metric=received"),
)


def _time(client: Any, path: str, runs: int) -> dict[str, float]:
    for _ in range(2):
        client.get(path)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95 + 0.5) - 1)], 1), "max_ms": round(times[-1], 1)}


def measure(url: str, runs: int, cold_runs: int) -> list[dict[str, Any]]:
    """Each page: its SELECT statements, then ``runs`` requests after two warm-ups. The dashboard pages twice: as
    served (``engine.supervision.cache_seconds`` 30: the numbers of the last 30 s are reused while nothing changed,
    or while a new computation runs in the background when computing is expensive) and computed on every request
    (``cold``: cache off)."""
    from sqlalchemy import event

    from engine.bootstrap import build_engine
    from engine.clock import FrozenClock
    from engine.settings import Settings
    from web.app import create_app

    engine = build_engine(Settings(database_url=url), clock=FrozenClock(NOW))
    app = create_app(engine, config={"TESTING": True, "SECRET_KEY": "bench-" + "k" * 40, "WTF_CSRF_ENABLED": False,
                                     "DATA_DIR": tempfile.mkdtemp(), "SUPERVISION_CACHE_SECONDS": 30})
    clients = {}
    for user in {u for u, _ in PAGES}:
        client = app.test_client()
        r = client.post("/login", data={"username": user, "password": PASSWORD})
        assert r.status_code in (302, 303), (user, r.status_code)
        clients[user] = client
    results = []
    for user, path in PAGES:
        client = clients[user]
        dashboard = path == "/supervision" or path.startswith("/supervision?")
        seen: list[str] = []

        def listener(*args: Any) -> None:
            seen.append(args[2])

        engine.supervision.cache_seconds = 0
        event.listen(engine.db, "before_cursor_execute", listener)
        r = client.get(path)
        event.remove(engine.db, "before_cursor_execute", listener)
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:500])
        row: dict[str, Any] = {"user": user, "path": path,
                               "selects": len([s for s in seen if s.lstrip().upper().startswith("SELECT")]),
                               "bytes": len(r.data)}
        if dashboard:
            row["cold"] = _time(client, path, cold_runs)
            engine.supervision.cache_seconds = 30
        row.update(_time(client, path, runs))
        results.append(row)
        cold = f"   computed each time: p50 {row['cold']['p50_ms']:7.1f} p95 {row['cold']['p95_ms']:7.1f}" \
            if dashboard else ""
        print(f"  {user:10s} {path:62s} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms"
              f"  ({row['selects']} SELECTs){cold}", flush=True)
    engine.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=100_000, help="open tasks to create (about; default 100000)")
    ap.add_argument("--runs", type=int, default=30, help="measured requests per page (default 30)")
    ap.add_argument("--cold-runs", type=int, default=5,
                    help="dashboard requests computed without the report reuse (default 5)")
    ap.add_argument("--postgres-url", help="also run on PostgreSQL (a scratch database on this server)")
    ap.add_argument("--sqlite-path", help="SQLite file to fill (kept); default a temporary file")
    ap.add_argument("--reuse", action="store_true", help="measure --sqlite-path as it is (filled earlier)")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--keep-postgres", action="store_true", help="keep the PostgreSQL scratch database (its name is "
                    "printed) to look at its query plans")
    ap.add_argument("--reuse-postgres", metavar="NAME", help="measure this database of --postgres-url's server "
                    "(filled and kept by an earlier run with --keep-postgres) instead of filling a new one; kept")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                       "load": os.getloadavg()}, "runs": args.runs, "results": {}}
    if not args.skip_sqlite:
        path = Path(args.sqlite_path) if args.sqlite_path else Path(tempfile.mkdtemp()) / "bench_web.db"
        url = f"sqlite:///{path}"
        if not args.reuse:
            if path.exists():
                path.unlink()
            print(f"SQLite {path}: filling with ~{args.tasks} open tasks ...", flush=True)
            out["results"]["sqlite_fill"] = fill(url, args.tasks)
            print("  ", out["results"]["sqlite_fill"], flush=True)
        print("SQLite pages:", flush=True)
        out["results"]["sqlite"] = measure(url, args.runs, args.cold_runs)
    if args.postgres_url:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        name = args.reuse_postgres or f"bench_web_{uuid.uuid4().hex[:8]}"
        if not args.reuse_postgres:
            with admin.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
        try:
            if not args.reuse_postgres:
                print(f"PostgreSQL {name}: filling with ~{args.tasks} open tasks ...", flush=True)
                out["results"]["postgresql_fill"] = fill(url, args.tasks)
                print("  ", out["results"]["postgresql_fill"], flush=True)
            print(f"PostgreSQL {name} pages:", flush=True)
            out["results"]["postgresql"] = measure(url, args.runs, args.cold_runs)
        finally:
            if not (args.keep_postgres or args.reuse_postgres):
                with admin.connect() as c:
                    c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    out["machine"]["load_after"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
