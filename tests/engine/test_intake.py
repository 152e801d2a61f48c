"""一窗受理 (engine.intake) on a real database: accept with the promised date in working days on the 2026 calendar,
一次性告知 → 补正 → accept (the clock starts only at acceptance), 容缺受理 with its follow-up task, 不予受理 with a
reason, the refusals (nothing recorded), and 办件编号 unique under concurrent clerks."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.bootstrap import build_engine
from engine.errors import InvalidInput, NotFound
from engine.intake import (
    ApplicantInvalid,
    ApplicationDecided,
    GapNotAllowed,
    MaterialsIncomplete,
    UnknownServiceItem,
)
from engine.settings import Settings
from processes import SAMPLE_ITEM

BJ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
ITEM = SAMPLE_ITEM.key
APPLICANT = {"name": "杭州示例科技有限公司", "idNumber": "91330100MA2XXXXX1K", "phone": "13800001234",
             "address": "杭州市上城区示例路1号", "delivery": "pickup"}
REQUIRED = ("application_form", "business_license", "legal_rep_id", "site_proof", "fire_commitment")


def deploy_sample(engine) -> None:  # type: ignore[no-untyped-def]
    path = ROOT / "bpmn" / SAMPLE_ITEM.bpmn
    engine.repository.deploy([(path.name, path.read_bytes())])


def received(*except_: str, **status: str) -> dict[str, dict[str, str]]:
    out = {k: {"status": "received"} for k in REQUIRED if k not in except_}
    for k in except_:
        out[k] = {"status": "missing"}
    for k, s in status.items():
        out[k] = {"status": s, "remark": "复印件未加盖公章"} if s == "noncompliant" else {"status": s}
    return out


@pytest.fixture
def eng(engine):  # type: ignore[no-untyped-def]
    deploy_sample(engine)
    return engine


def test_sample_item_has_a_real_materials_list():
    item = SAMPLE_ITEM
    assert item.material_keys()[:5] == list(REQUIRED)
    assert [m.name for m in item.materials if m.gap_allowed] == ["场地证明", "消防安全承诺书"]
    assert all(m.form in ("original", "copy", "either") and m.copies >= 1 and m.note for m in item.materials)
    assert [m.key for m in item.materials if not m.required] == ["other"]
    assert item.limits == {"promised": "10wd", "legal": "20wd"}


def test_accept_just_before_national_day_promises_in_working_days(eng, clock):
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=BJ))  # Wed; 10-01..10-07 off, Sat 10-10 a 调休 working day
    app = eng.intake.accept(ITEM, materials=received(), applicant=APPLICANT, actor="c1")
    assert app.state == "ACCEPTED" and app.outcome == "accept"
    assert app.number == "330100-20260930-0001"
    # day of acceptance not counted: 10-08, 09, 10 (Sat, 调休), 12, 13, 14, 15, 16, 19, 20 → 10 working days
    assert app.promised_due == datetime(2026, 10, 20, 17, 30, tzinfo=BJ)
    assert app.legal_due == datetime(2026, 11, 3, 17, 30, tzinfo=BJ)  # 20 working days
    case = eng.runtime.instance(app.instance_id)
    assert case.business_key == app.number
    clock_view = eng.cases.clock(app.number)
    assert clock_view.state == "RUNNING"
    assert clock_view.accepted_at == datetime(2026, 9, 30, 10, 0, tzinfo=BJ)
    assert clock_view.promised_due == app.promised_due
    variables = eng.runtime.variables(case.id)
    assert variables["applicantPhone"] == "13800001234" and variables["deliveryMethod"] == "pickup"
    assert variables["applicantIdNumber"] == "91330100MA2XXXXX1K"
    # the diagram's window step is the acceptance: done by the clerk, the departments' reviews are open
    open_tasks = sorted(t.task_definition_key for t in eng.tasks.list(instance_id=case.id))
    assert open_tasks == ["review_env", "review_fire", "review_market"]
    events = eng.history.events(case.id)
    accepted = [e for e in events if e.event_type == "IntakeAccepted"]
    assert len(accepted) == 1 and accepted[0].actor == "c1" and accepted[0].payload["number"] == app.number
    assert any(e.event_type == "CaseClockStarted" and e.actor == "c1" for e in events)
    completed = [e for e in events if e.event_type == "TaskCompleted"]
    assert completed[0].activity_id == "intake" and completed[0].actor == "c1"
    assert all(r.ok for r in eng.history.verify(case.id))


def test_notify_then_supplement_then_accept_starts_the_clock_only_at_acceptance(eng, clock):
    notice = eng.intake.notify(ITEM, materials=received("business_license", legal_rep_id="noncompliant"),
                               applicant=APPLICANT, actor="c1")
    assert notice.state == "NOTIFIED" and notice.instance_id is None
    assert [m["name"] for m in notice.notice] == ["营业执照复印件", "法定代表人身份证明"]
    assert notice.notice[1]["remark"] == "复印件未加盖公章"
    assert eng.runtime.instances(business_key=notice.number) == []  # no case, no clock while waiting for 补正
    assert [a.number for a in eng.intake.applications(state="NOTIFIED")] == [notice.number]
    global_events = [e for e in eng.history.events() if e.event_type == "IntakeNotified"]
    assert global_events[-1].actor == "c1" and global_events[-1].payload["number"] == notice.number

    clock.advance(days=3)  # Thursday 2026-03-05: the applicant comes back
    with pytest.raises(MaterialsIncomplete):  # half of the 补正 is not enough
        eng.intake.accept(application=notice.number, materials={"business_license": {"status": "received"}},
                          actor="c1")
    sup = eng.intake.supplement(notice.number, {"business_license": {"status": "received"}}, actor="c2")
    assert sup.state == "NOTIFIED" and [m["name"] for m in sup.notice] == ["法定代表人身份证明"]
    accepted = eng.intake.accept(application=notice.number, expected_version=sup.version,
                                 materials={"legal_rep_id": {"status": "received", "remark": ""}}, actor="c2")
    assert accepted.state == "ACCEPTED" and accepted.number == notice.number
    clock_view = eng.cases.clock(notice.number)
    assert clock_view.accepted_at == datetime(2026, 3, 5, 9, 30, tzinfo=BJ)  # not the day of the notice
    assert clock_view.promised_due == datetime(2026, 3, 19, 17, 30, tzinfo=BJ)  # 10 wd from Thu 03-05
    assert [entry["action"] for entry in accepted.log] == ["notify", "supplement", "supplement", "accept"]
    with pytest.raises(ApplicationDecided):  # double accept
        eng.intake.accept(application=notice.number, actor="c1")
    assert len(eng.runtime.instances(business_key=notice.number)) == 1
    assert eng.runtime.variables(accepted.instance_id)["supplementRequested"] is True  # counts in the 补正率
    direct = eng.intake.accept(ITEM, materials=received(), applicant=APPLICANT, actor="c1")
    assert eng.runtime.variables(direct.instance_id)["supplementRequested"] is False


def test_stale_form_version_is_refused(eng):
    notice = eng.intake.notify(ITEM, materials=received("business_license"), applicant=APPLICANT, actor="c1")
    eng.intake.supplement(notice.number, {"business_license": {"status": "received"}}, actor="c2")
    with pytest.raises(ApplicationDecided, match="changed by c2"):
        eng.intake.accept(application=notice.number, expected_version=notice.version, actor="c1")
    assert eng.intake.application(notice.number).state == "NOTIFIED"


def test_gap_acceptance_creates_the_follow_up_task(eng, clock):
    app = eng.intake.accept_with_gap(ITEM, materials=received("site_proof"), applicant=APPLICANT,
                                     commitment_due="2026-03-13", actor="c1")
    assert app.state == "ACCEPTED" and app.outcome == "gap"
    assert app.commitment["materials"] == ["场地证明"] and app.commitment["due"] == "2026-03-13"
    task = eng.tasks.task(app.follow_up_task_id)
    assert task.origin == "intake-gap" and task.task_definition_key == "intake_gap_check"
    assert "场地证明" in task.name and task.instance_id == app.instance_id
    assert task.due == datetime(2026, 3, 13, 17, 30, tzinfo=BJ)
    links = eng.tasks.identity_links(task.id)
    assert {(link.group_id, link.user_id) for link in links} == {("window", None), (None, "c1")}
    assert eng.cases.clock(app.number).state == "RUNNING"  # the clock runs despite the gap
    assert eng.runtime.variables(app.instance_id)["materialsGap"] is True
    # the window checks that the material came: the engine-made task is completed on its own
    eng.tasks.complete(task.id, "c1", {"materialsArrived": True})
    assert eng.tasks.task(task.id).state == "COMPLETED"


def test_gap_refused_for_a_material_that_is_not_gap_allowed(eng):
    with pytest.raises(GapNotAllowed, match="营业执照复印件"):
        eng.intake.accept_with_gap(ITEM, materials=received("business_license", "site_proof"),
                                   applicant=APPLICANT, commitment_due="2026-03-13", actor="c1")
    with pytest.raises(InvalidInput, match="承诺补齐日期"):
        eng.intake.accept_with_gap(ITEM, materials=received("site_proof"), applicant=APPLICANT,
                                   commitment_due=None, actor="c1")
    with pytest.raises(InvalidInput, match="after today"):
        eng.intake.accept_with_gap(ITEM, materials=received("site_proof"), applicant=APPLICANT,
                                   commitment_due="2026-03-02", actor="c1")
    with pytest.raises(InvalidInput, match="every required material is here"):
        eng.intake.accept_with_gap(ITEM, materials=received(), applicant=APPLICANT, commitment_due="2026-03-13")
    assert eng.intake.count() == 0 and eng.runtime.instances() == []
    # the refusals took no number
    assert eng.intake.notify(ITEM, materials=received("site_proof"), applicant=APPLICANT).number.endswith("-0001")


def test_reject_needs_a_reason(eng):
    with pytest.raises(InvalidInput, match="reason"):
        eng.intake.reject(ITEM, reason="  ", materials=received(), applicant=APPLICANT, actor="c1")
    app = eng.intake.reject(ITEM, reason="申请事项不属于本机关职权范围", materials=received(), applicant=APPLICANT,
                            actor="c1")
    assert app.state == "REJECTED" and app.reason == "申请事项不属于本机关职权范围" and app.instance_id is None
    event = [e for e in eng.history.events() if e.event_type == "IntakeRejected"][-1]
    assert event.actor == "c1" and event.payload["reason"] == app.reason
    with pytest.raises(ApplicationDecided):
        eng.intake.accept(application=app.number, materials=received())


def test_typed_errors_change_nothing(eng):
    with pytest.raises(UnknownServiceItem, match="no service item 'nope'"):
        eng.intake.accept("nope", materials={}, applicant=APPLICANT)
    with pytest.raises(MaterialsIncomplete, match="营业执照复印件") as missing:
        eng.intake.accept(ITEM, materials=received("business_license"), applicant=APPLICANT)
    assert missing.value.details["materials"] == ["营业执照复印件"]
    with pytest.raises(ApplicantInvalid) as bad:
        eng.intake.accept(ITEM, materials=received(), applicant={**APPLICANT, "phone": "12", "idNumber": ""})
    assert set(bad.value.details["fields"]) == {"phone", "idNumber"}
    with pytest.raises(ApplicantInvalid, match="EMS"):
        eng.intake.accept(ITEM, materials=received(), applicant={**APPLICANT, "delivery": "mail", "address": ""})
    with pytest.raises(InvalidInput, match="no material 'bogus'"):
        eng.intake.notify(ITEM, materials={"bogus": {"status": "received"}}, applicant=APPLICANT)
    with pytest.raises(InvalidInput, match="not compliant"):
        eng.intake.notify(ITEM, materials={"business_license": {"status": "noncompliant"}}, applicant=APPLICANT)
    with pytest.raises(InvalidInput, match="sha256"):
        eng.intake.notify(ITEM, materials={"business_license": {"status": "received", "files": [{"sha256": "x"}]}},
                          applicant=APPLICANT)
    with pytest.raises(NotFound):
        eng.intake.supplement("330100-20260302-9999", {"business_license": {"status": "received"}})
    assert eng.intake.count() == 0 and eng.runtime.instances() == []


def test_files_are_kept_by_hash_and_merged_on_supplement(eng):
    sha = "a" * 64
    notice = eng.intake.notify(ITEM, materials={**received("site_proof"), "application_form": {
        "status": "received", "files": [{"name": "申请表.pdf", "sha256": sha, "size": 10}]}}, applicant=APPLICANT)
    sup = eng.intake.supplement(notice.number, {"site_proof": {"status": "received", "files": [
        {"name": "租赁合同.pdf", "sha256": "b" * 64, "size": 20}]}, "application_form": {"files": [
            {"name": "again.pdf", "sha256": sha, "size": 10}]}})
    by_key = {m["key"]: m for m in sup.materials}
    assert [f["sha256"] for f in by_key["application_form"]["files"]] == [sha]
    assert by_key["site_proof"]["files"][0]["name"] == "租赁合同.pdf"


def test_numbers_are_unique_under_concurrent_clerks(eng, clock):
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def clerk(n: int) -> None:
        try:
            for i in range(3):
                app = eng.intake.notify(ITEM, materials=received("site_proof"),
                                        applicant={**APPLICANT, "name": f"申请人{n}-{i}"}, actor=f"c{n}")
                with lock:
                    results.append(app.number)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 18 and len(set(results)) == 18
    assert sorted(results) == [f"330100-20260302-{i:04d}" for i in range(1, 19)]
    clock.advance(days=1)  # a new day, a new sequence
    assert eng.intake.notify(ITEM, materials=received("site_proof"), applicant=APPLICANT).number == \
        "330100-20260303-0001"


def test_number_format_and_region_are_configurable(database_url, clock):
    settings = Settings(database_url=database_url, region_code="440300",
                        case_number_format="SZ{region}{date:%Y}{seq:06d}")
    eng = build_engine(settings, clock=clock)
    try:
        first = eng.intake.notify(ITEM, materials=received("site_proof"), applicant=APPLICANT)
        clock.advance(timedelta(days=40))  # a yearly sequence goes on across days
        second = eng.intake.notify(ITEM, materials=received("site_proof"), applicant=APPLICANT)
        assert (first.number, second.number) == ("SZ4403002026000001", "SZ4403002026000002")
    finally:
        eng.close()
    broken = build_engine(Settings(database_url=database_url, case_number_format="{region}-{date:%Y}"), clock=clock)
    try:
        with pytest.raises(InvalidInput, match="no \\{seq\\} field"):
            broken.intake.notify(ITEM, materials=received("site_proof"), applicant=APPLICANT)
    finally:
        broken.close()


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("ONEWINDOW_REGION_CODE", "110105")
    monkeypatch.setenv("ONEWINDOW_CASE_NUMBER_FORMAT", "{region}{date:%y%m%d}{seq:03d}")
    s = Settings.from_env()
    assert (s.region_code, s.case_number_format) == ("110105", "{region}{date:%y%m%d}{seq:03d}")


def test_application_form_data_goes_to_the_case_and_bad_data_changes_nothing(eng):
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput):
        eng.intake.accept(ITEM, materials=received(), applicant=APPLICANT, actor="c1",
                          variables={"bad name with spaces": 1})
    assert eng.intake.count() == 0 and eng.runtime.instances() == []
    app = eng.intake.accept(ITEM, materials=received(), applicant=APPLICANT, actor="c1",
                            variables={"registeredCapital": 300, "applicant": "form value loses"})
    values = eng.runtime.variables(app.instance_id)
    assert values["registeredCapital"] == 300
    assert values["applicant"] == APPLICANT["name"]  # the window's applicant data wins over the form's


def test_the_clock_started_at_the_window_stops_when_a_case_without_limits_in_its_diagram_ends(eng, clock):
    """The sample diagram declares no limits: the window's clock (the item's limits) stops at the case's end."""
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=BJ))
    app = eng.intake.accept(ITEM, materials=received(), applicant=APPLICANT, actor="c1")
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=BJ))
    for key in ("review_market", "review_fire", "review_env"):
        [task] = [t for t in eng.tasks.list(instance_id=app.instance_id) if t.task_definition_key == key]
        eng.tasks.complete(task.id, "u", {"marketApproved": True, "fireApproved": True, "envApproved": True})
    [deliver] = eng.tasks.list(instance_id=app.instance_id)
    eng.tasks.complete(deliver.id, "c1")
    assert eng.runtime.instance(app.instance_id).state == "COMPLETED"
    view = eng.cases.clock(app.number)
    assert view.state == "STOPPED" and view.signal == "ON_TIME"
    assert [j for j in eng.jobs.list(instance_id=app.instance_id)] == []  # no warning/overdue job left
