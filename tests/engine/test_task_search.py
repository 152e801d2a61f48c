"""TaskQuery.search (business key or applicant contains, LIKE wildcards taken literally), the page read
TaskService.case_variables (one query for many cases) and form field properties in FormFieldView."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import event, text

from engine.tasks.queries import TaskQuery

BPMN = Path(__file__).resolve().parent.parent / "fixtures" / "web" / "web_review.bpmn"


def _start(engine, key: str, applicant: str):  # type: ignore[no-untyped-def]
    return engine.runtime.start("web_review", business_key=key, variables={
        "applicant": applicant, "marketDue": "P10D", "marketFollowUp": "P7D"})


def test_search_by_business_key_or_applicant(engine):
    engine.repository.deploy([(BPMN.name, BPMN.read_bytes())])
    a = _start(engine, "GZ-2026-0001", "广州100%科技有限公司")
    b = _start(engine, "SZ-2026-0002", "深圳_贸易商行")

    def keys(text: str) -> set[str]:
        return {t.business_key for t in engine.tasks.list(TaskQuery(search=text, task_definition_key="fire_review"))}

    assert keys("gz-2026") == {"GZ-2026-0001"}
    assert keys("科技") == {"GZ-2026-0001"}
    assert keys("100%") == {"GZ-2026-0001"} and keys("%") == {"GZ-2026-0001"}
    assert keys("_") == {"SZ-2026-0002"}
    assert keys("2026") == {"GZ-2026-0001", "SZ-2026-0002"}
    assert keys("  ") == {"GZ-2026-0001", "SZ-2026-0002"}  # blank: no filter
    assert engine.tasks.count(TaskQuery(search="贸易", visible_to=("nobody", ()))) == 0
    found = engine.tasks.case_variables([a.id, b.id, "missing"], ["applicant", "nosuch"])
    assert found == {a.id: {"applicant": "广州100%科技有限公司"}, b.id: {"applicant": "深圳_贸易商行"}}
    assert engine.tasks.case_variables([], ["applicant"]) == {}


def test_form_field_properties(engine):
    engine.repository.deploy([(BPMN.name, BPMN.read_bytes())])
    _start(engine, "K-1", "x")
    task = engine.tasks.list(TaskQuery(task_definition_key="market_review"))[0]
    fields = {f.id: f for f, _value in engine.tasks.form_fields(task.id)}
    assert fields["summary"].properties == (("widget", "textarea"),)
    assert fields["approved"].properties == ()


def test_search_counts_match_lists_in_every_tab_shape(engine):
    """The count of a search (which on PostgreSQL reads the task table without joining the cases) agrees with the
    list, with the inbox tabs' filters and the service item (every version of it, by the tasks' own definition);
    only the applicant variables are searched, case-insensitively, and the LIKE wildcards and the escape character
    are taken literally."""
    engine.repository.deploy([(BPMN.name, BPMN.read_bytes())])
    a = _start(engine, "GZ-2026-0001", "广州100%科技有限公司")
    _start(engine, "SZ-2026-0002", "深圳_贸易商行")
    engine.runtime.start("web_review", business_key="HZ-2026\\0003", variables={
        "applicantName": "Hangzhou Tea Co", "note": "科技 GZ", "marketDue": "P10D", "marketFollowUp": "P7D"})
    engine.runtime.start("web_review", business_key=None, variables={
        "applicant_name": "无编号申请人", "marketDue": "P10D", "marketFollowUp": "P7D"})
    engine.repository.deploy([(BPMN.name, BPMN.read_bytes() + b"<!-- version 2 -->")])  # the item's 2nd version
    _start(engine, "NB-2026-0005", "广州二版")
    assert len({t.definition_id for t in engine.tasks.list(TaskQuery(definition_key="web_review"))}) == 2
    (mine,) = engine.tasks.list(TaskQuery(instance_id=a.id, task_definition_key="market_review"))
    engine.tasks.claim(mine.id, "reviewer")
    (done,) = engine.tasks.list(TaskQuery(instance_id=a.id, task_definition_key="fire_review"))
    engine.tasks.complete(done.id, "reviewer")

    shapes = {"all": TaskQuery(), "any state": TaskQuery(state=None), "mine": TaskQuery(assignee="reviewer"),
              "group": TaskQuery(candidate_groups=("market",), unassigned=True),
              "done": TaskQuery(state=None, completed_by="reviewer"),
              "scope": TaskQuery(visible_to=("reviewer", ("fire",))),
              "item": TaskQuery(definition_key="web_review", state=None),
              "item, group": TaskQuery(definition_key="web_review", candidate_groups=("market",), unassigned=True),
              "other item": TaskQuery(definition_key="nosuch")}
    expected = {"gz-2026": {"GZ-2026-0001"}, "科技": {"GZ-2026-0001"}, "100%": {"GZ-2026-0001"},
                "%": {"GZ-2026-0001"}, "_": {"SZ-2026-0002"}, "tea CO": {"HZ-2026\\0003"}, "\\": {"HZ-2026\\0003"},
                "6\\0": {"HZ-2026\\0003"}, "无编号": {None}, "2026-000": {"GZ-2026-0001", "SZ-2026-0002", "NB-2026-0005"},
                "2026": {"GZ-2026-0001", "SZ-2026-0002", "HZ-2026\\0003", "NB-2026-0005"}, "二版": {"NB-2026-0005"},
                "nosuch": set()}
    for shape, base in shapes.items():
        everything = {t.id: t for t in engine.tasks.list(base)}
        for text, keys in expected.items():
            q = dataclasses.replace(base, search=text)
            found = engine.tasks.list(q)
            assert {t.business_key for t in found} <= keys, (shape, text)
            assert {t.id for t in found} == {i for i, t in everything.items() if t.business_key in keys}, (shape, text)
            assert engine.tasks.count(q) == len(found), (shape, text)


def test_postgresql_search_uses_the_trigram_indexes(engine):
    """PostgreSQL: migration 0012 creates the GIN trigram indexes (pg_trgm) on the business key and on the applicant
    variables (a partial index), and the inbox's search statements can use them: the variable names are constants
    in their SQL (as parameters they would not prove the partial index's condition), and conditions of that form
    are answered by the indexes (on a tiny database the planner prefers other plans, so they are taken away)."""
    if engine.db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no trigram index (its search reads the candidate tasks' cases)")
    with engine.db.connect() as conn:
        indexes = dict(conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trgm'")).all())
    assert "gin (business_key gin_trgm_ops)" in indexes["ix_process_instance_business_key_trgm"]
    assert "gin (value_json gin_trgm_ops) WHERE" in indexes["ix_variable_search_trgm"]
    assert all(f"'{n}'" in indexes["ix_variable_search_trgm"] for n in ("applicant", "applicantName", "applicant_name"))

    engine.repository.deploy([(BPMN.name, BPMN.read_bytes())])
    _start(engine, "GZ-2026-0001", "广州100%科技有限公司")
    seen: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine.db, "before_cursor_execute", capture)
    try:
        assert engine.tasks.count(TaskQuery(state=None, completed_by="nobody", search="科技有限")) == 0
        assert len(engine.tasks.list(TaskQuery(candidate_groups=("market",), search="gz-2026-00"))) == 1
    finally:
        event.remove(engine.db, "before_cursor_execute", capture)
    searches = [s for s in seen if "ILIKE" in s.upper()]
    assert len(searches) == 2
    # the variable names are constants in the SQL (parameters would not prove the partial index's condition) ...
    names = "variable.name IN ('applicant', 'applicantName', 'applicant_name')"
    assert all(names in s for s in searches), searches
    # ... and with them, the search conditions can use both indexes (a tiny database: sequential scans off and, in
    # a transaction rolled back, without the b-tree indexes the planner would otherwise scan whole)
    with engine.db.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("DROP INDEX ix_process_instance_business_key, ix_variable_name"))
        conn.execute(text("ALTER TABLE variable DROP CONSTRAINT uq_variable_instance_id_name"))
        for table, condition, index in (
                ("process_instance", "business_key ILIKE '%gz-2026%' ESCAPE '\\'",
                 "ix_process_instance_business_key_trgm"),
                ("variable", names[len("variable."):] + " AND value_json ILIKE '%科技%' ESCAPE '\\'",
                 "ix_variable_search_trgm")):
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN SELECT 1 FROM {table} WHERE {condition}")))
            assert index in plan, plan
        conn.rollback()
