"""TaskQuery.search (business key or applicant contains, LIKE wildcards taken literally), the page read
TaskService.case_variables (one query for many cases) and form field properties in FormFieldView."""

from __future__ import annotations

from pathlib import Path

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
