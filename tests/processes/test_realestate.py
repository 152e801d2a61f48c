"""不动产登记 (processes/realestate.py, bpmn/realestate/) simulated on the real engine with a moved clock: every
deadline checked to the working day on the 2026 official calendar (春节 02-15..23 with 调休 Saturday 02-14, 中秋
09-25..27, 国庆 10-01..07, 调休 Sunday 09-20 and Saturday 10-10). Timers are fired through the job service, the
automatic steps by the in-process worker. SQLite and PostgreSQL (ONEWINDOW_TEST_DB)."""

from __future__ import annotations

from functools import partial

import re
from datetime import datetime
from functools import partial

import pytest

from processes import realestate, registry
from processes.realestate import HANDLERS, KEY
from processes.worker import drain
from tests.processes import helpers
from tests.processes.helpers import BPMN, at, complete, events, open_tasks

PROPERTY_NO = re.compile(r"^浙\(2026\)杭州市不动产权第\d{7}号$")
PROOF_NO = re.compile(r"^浙\(2026\)杭州市不动产证明第\d{7}号$")


@pytest.fixture
def eng(engine):  # type: ignore[no-untyped-def]
    realestate.deploy(engine, BPMN)
    return engine


def start(eng, clock, when: datetime, key: str, variables: dict):  # type: ignore[no-untyped-def]
    clock.set(when)
    return eng.runtime.start(KEY, business_key=key, variables=variables)


def work(eng) -> int:  # type: ignore[no-untyped-def]
    return drain(eng, HANDLERS)


accept = partial(helpers.accept, handlers=HANDLERS)
fire = partial(helpers.fire, handlers=HANDLERS)


def test_transfer_of_existing_housing_accepted_before_national_day_tax_and_housing_in_parallel(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 9, 0), "330106-20260930-0001", realestate.transfer_application())
    assert set(open_tasks(eng, case)) == {"intake_review"}
    assert eng.cases.clock(case.id).state == "WAITING"
    accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    c = eng.cases.clock(case.id)
    assert (c.state, c.accepted_at, c.promised_limit) == ("RUNNING", at(2026, 9, 30, 10, 0), "5wd")
    # 5 wd: 10-08, 10-09, Sat 10-10 (调休), 10-12, 10-13 — the National Day week 10-01..07 is skipped
    assert c.promised_due == at(2026, 10, 13, 17, 30)
    assert c.warn_at == at(2026, 10, 12, 17, 30)  # yellow 1 wd before (max(1, ceil(20% of 5)))
    assert c.legal_due == at(2026, 11, 17, 17, 30)  # 30 wd (《不动产登记暂行条例》 §20)
    v = eng.runtime.variables(case.id)
    assert v["parts"] == ["REGISTRY", "TAX", "HOUSING"]  # DMN R1, COLLECT, table order
    assert v["promiseDecision"] == {"promise": "5wd", "reviewDays": 3, "certificate": "PROPERTY"}
    assert (v["receiptNo"], v["promisedLimit"], v["promisedDate"]) == \
        ("BDC-330106-20260930-0001", "5wd", "2026-10-13T17:30:00+08:00")
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"registry_review", "tax_assessment", "housing_filing"}  # 一窗受理、并行办理
    assert tasks["registry_review"].candidate_groups == ("registry",)
    assert tasks["tax_assessment"].candidate_groups == ("tax",)
    assert tasks["housing_filing"].candidate_groups == ("housing",)
    assert tasks["registry_review"].due == at(2026, 10, 10, 17, 30)  # 3 wd, the 调休 Saturday counts
    # warnBefore 0.5 wd = 3 h 15 of office hours back from 17:30: the afternoon's 3 h, then 15 min before noon
    assert tasks["registry_review"].follow_up == at(2026, 10, 10, 11, 45)
    for key in ("tax_assessment", "housing_filing"):
        assert tasks[key].due == at(2026, 10, 8, 17, 30)  # 1 wd: the first working day after the holiday
    clock.set(at(2026, 10, 8, 9, 30))
    complete(eng, case, "housing_filing", "housing1", contractFiled=True, contractNo="WQ2026-0930-001")
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE", registryOpinion="权属清楚")
    assert set(open_tasks(eng, case)) == {"tax_assessment"}  # 登簿 waits for the tax (inclusive join)
    complete(eng, case, "tax_assessment", "tax1", taxCleared=True, taxAmount=63000)
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"register"}
    assert tasks["register"].due == at(2026, 10, 8, 15, 15)  # 0.5 wd = 3 h 15: 09:30-12:00, 14:30-15:15
    clock.set(at(2026, 10, 8, 11, 0))
    complete(eng, case, "register", "registry2", registered=True)
    work(eng)
    v = eng.runtime.variables(case.id)
    assert PROPERTY_NO.match(v["certificateNo"]) and v["eCertificateId"].startswith("EC-")
    assert set(open_tasks(eng, case)) == {"delivery"}
    clock.set(at(2026, 10, 9, 10, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="pickup", signedBy="张伟")
    c = eng.cases.clock(case.id)
    assert (c.state, c.stopped_at, c.signal) == ("STOPPED", at(2026, 10, 9, 10, 0), "ON_TIME")  # clockStop: 出件
    assert eng.runtime.instance(case.id).ended
    assert all(r.ok for r in eng.history.verify(case.id))


def test_mortgage_registration_is_promised_in_one_working_day_over_the_spring_festival_saturday(eng, clock):
    case = start(eng, clock, at(2026, 2, 13, 14, 0), "DY-1",
                 realestate.mortgage_application(deliveryMethod="mail", deliveryAddress="杭州市西湖区文三路1号"))
    accept(eng, clock, case, at(2026, 2, 13, 15, 0))
    c = eng.cases.clock(case.id)
    assert c.promised_limit == "1wd"  # DMN R2 through promisedLimitVariable, not the diagram's 5wd
    assert c.promised_due == at(2026, 2, 14, 17, 30)  # Saturday 02-14 is a 调休 working day before 春节
    assert c.legal_due == at(2026, 4, 2, 17, 30)  # 30 wd: 02-15..23 skipped
    (started,) = events(eng, case, "CaseClockStarted")
    assert "promised limit 1wd (casePromise)" in started.payload["reason"]
    assert started.payload["promisedLimit"] == "1wd"
    v = eng.runtime.variables(case.id)
    assert v["parts"] == ["REGISTRY"] and v["promisedDate"] == "2026-02-14T17:30:00+08:00"
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"registry_review"}  # no tax, no housing
    assert tasks["registry_review"].due == at(2026, 2, 14, 9, 15)  # 0.5 wd: 15:00-17:30, then 08:30-09:15
    clock.set(at(2026, 2, 14, 9, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE")
    complete(eng, case, "register", "registry1", registered=True)
    work(eng)
    assert PROOF_NO.match(eng.runtime.variables(case.id)["certificateNo"])  # 不动产登记证明, not a 权证
    clock.set(at(2026, 2, 14, 11, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="mail")
    work(eng)
    v = eng.runtime.variables(case.id)
    assert v["emsTrackingNo"].startswith("EA") and v["emsTrackingNo"].endswith("CN")
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal) == ("STOPPED", "ON_TIME")
    assert eng.runtime.instance(case.id).ended


def test_first_registration_public_notice_suspends_the_clock_and_a_timer_resumes_it(eng, clock):
    case = start(eng, clock, at(2026, 9, 14, 9, 0), "SC-1", realestate.first_registration_application())
    accept(eng, clock, case, at(2026, 9, 14, 10, 0))
    c = eng.cases.clock(case.id)
    assert c.promised_due == at(2026, 9, 20, 17, 30)  # 5 wd: 15-18 Sep and Sunday 09-20 (调休 working day)
    assert c.legal_due == at(2026, 10, 30, 17, 30)
    assert eng.runtime.variables(case.id)["parts"] == ["REGISTRY", "NOTICE"]
    assert open_tasks(eng, case)["registry_review"].due == at(2026, 9, 17, 17, 30)
    clock.set(at(2026, 9, 16, 11, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE", registryOpinion="拟予登记，公告")
    work(eng)
    c = eng.cases.clock(case.id)
    assert c.state == "SUSPENDED"
    (notice,) = c.suspensions
    assert (notice["kind"], notice["expectedWorkingDays"], notice["startedBy"]) == ("public-notice", 15, "system")
    v = eng.runtime.variables(case.id)
    # 15 wd after Wed 09-16: 17, 18, Sun 20, 21-24, 28-30 Sep, 8, 9, Sat 10, 12, 13 Oct (中秋, 国庆 skipped)
    assert v["noticeEndsAt"] == "2026-10-13T17:30:00+08:00" and v["noticeNo"] == "GG-SC-1"
    (timer,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "notice_period"]
    assert timer.due == at(2026, 10, 13, 17, 30) and timer.state == "PENDING"  # not paused with the clock
    case_jobs = {j.job_type: j.state for j in eng.jobs.list(states=("PENDING", "PAUSED"), instance_id=case.id)
                 if j.job_type.startswith("case-")}
    assert case_jobs == {"case-warning": "PAUSED", "case-overdue": "PAUSED", "case-legal-overdue": "PAUSED"}
    assert open_tasks(eng, case) == {}
    fire(eng, clock, at(2026, 9, 21, 9, 0))  # the old promised deadline passes: no overdue while suspended
    assert events(eng, case, "CaseOverdue") == []
    fire(eng, clock, at(2026, 10, 13, 17, 29))
    assert eng.cases.clock(case.id).state == "SUSPENDED"
    fire(eng, clock, at(2026, 10, 13, 17, 31))
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING"
    assert c.suspended_days == 16  # 09-16..10-13, both ends included (docs/deadlines.md)
    assert c.suspensions[0]["end"] == "2026-10-13T17:31:00+08:00" and c.suspensions[0]["endedBy"] == "system"
    assert c.promised_due == at(2026, 10, 19, 17, 30)  # 5 + 16 = 21 wd after 09-14
    assert c.legal_due == at(2026, 11, 23, 17, 30)  # 30 + 16 = 46 wd
    assert eng.runtime.variables(case.id)["noticeSuspendedDays"] == 16
    (resumed,) = events(eng, case, "CaseClockResumed")
    assert resumed.payload["workingDays"] == 16
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"register"} and tasks["register"].due == at(2026, 10, 14, 11, 45)  # 0.5 wd next morning
    clock.set(at(2026, 10, 14, 10, 0))
    complete(eng, case, "register", "registry1", registered=True)
    work(eng)
    assert PROPERTY_NO.match(eng.runtime.variables(case.id)["certificateNo"])
    complete(eng, case, "delivery", "window2", deliveryMethod="electronic")
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal) == ("STOPPED", "ON_TIME")  # on time only because the notice did not count
    assert eng.runtime.instance(case.id).ended


def test_supplement_before_acceptance_does_not_run_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 2, 12, 9, 0), "BZ-1", realestate.transfer_application(maritalVerified=False))
    clock.set(at(2026, 2, 12, 10, 0))
    complete(eng, case, "intake_review", "clerk1", intakeDecision="SUPPLEMENT",
             missingMaterials="婚姻状况证明（民政信息未能核验）")
    assert set(open_tasks(eng, case)) == {"supplement"}
    assert eng.cases.clock(case.id).state == "WAITING"
    (deadline,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "supplement_deadline"]
    # 20 wd after Thu 02-12: 13, Sat 14 (调休), 24-28 Feb (Sat 28 调休), then March ... 18
    assert deadline.due == at(2026, 3, 18, 17, 30)
    clock.set(at(2026, 2, 24, 10, 0))  # the first working day after the Spring Festival
    complete(eng, case, "supplement", "clerk1", suppliedMaterials="结婚证复印件")
    assert set(open_tasks(eng, case)) == {"intake_review"}
    assert eng.runtime.variables(case.id)["supplementRounds"] == 1
    assert eng.cases.clock(case.id).state == "WAITING"
    assert not [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "supplement_deadline"]
    accept(eng, clock, case, at(2026, 2, 24, 11, 0))
    c = eng.cases.clock(case.id)
    assert c.accepted_at == at(2026, 2, 24, 11, 0)  # 受理日 = the day the last material came in
    assert c.promised_due == at(2026, 3, 2, 17, 30)  # 25, 26, 27, Sat 28 (调休), 2 March
    assert c.legal_due == at(2026, 4, 7, 17, 30)
    assert c.suspended_days == 0


def test_supplement_not_handed_in_within_20_working_days_ends_the_application(eng, clock):
    case = start(eng, clock, at(2026, 2, 12, 9, 0), "BZ-2", realestate.transfer_application())
    complete(eng, case, "intake_review", "clerk1", intakeDecision="SUPPLEMENT", missingMaterials="不动产权属证书原件")
    fire(eng, clock, at(2026, 3, 18, 17, 29))
    assert not eng.runtime.instance(case.id).ended
    fire(eng, clock, at(2026, 3, 18, 17, 31))
    assert eng.runtime.instance(case.id).ended
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.accepted_at is None  # 退件: never accepted


def test_departments_timing_out_tax_escalates_and_housing_is_deemed_confirmed(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "CS-1", realestate.transfer_application(seed=3))
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    tasks = open_tasks(eng, case)
    assert tasks["tax_assessment"].due == tasks["housing_filing"].due == at(2026, 3, 3, 17, 30)
    assert tasks["tax_assessment"].follow_up == at(2026, 3, 3, 11, 45)  # 0.5 wd = 3 h 15 of office hours
    clock.set(at(2026, 3, 2, 15, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE")
    fire(eng, clock, at(2026, 3, 3, 11, 46))
    assert {e.activity_id for e in events(eng, case, "TaskDeadlineWarning")} == {"tax_assessment", "housing_filing"}
    fire(eng, clock, at(2026, 3, 3, 17, 31))
    policies = {e.activity_id: e.payload["policy"] for e in events(eng, case, "TaskOverdue")}
    assert policies == {"tax_assessment": "ESCALATE", "housing_filing": "DEEMED_APPROVED"}
    all_tasks = eng.tasks.list(instance_id=case.id)
    (escalation,) = [t for t in all_tasks if t.origin == "escalation"]
    assert escalation.candidate_groups == ("supervisor",) and "税费核定" in (escalation.name or "")
    (formal,) = [t for t in all_tasks if t.origin == "formal-opinion"]
    assert formal.candidate_groups == ("housing",) and formal.due == at(2026, 3, 4, 17, 30)  # 1 wd
    (deemed,) = [t for t in eng.tasks.list(instance_id=case.id, state="COMPLETED")
                 if t.task_definition_key == "housing_filing"]
    assert deemed.deemed and deemed.completed_by == "system"
    assert set(open_tasks(eng, case)) == {"tax_assessment"}  # the tax stays with the tax office, red
    assert eng.cases.clock(case.id).signal == "ON_TIME"  # a step is late, the case (5 wd) is not
    clock.set(at(2026, 3, 4, 9, 0))
    complete(eng, case, "tax_assessment", "tax1", taxCleared=True, taxAmount=30000)
    assert set(open_tasks(eng, case)) == {"register"}
    v = eng.runtime.variables(case.id)
    assert v["contractFiled"] is True and v["housingDeemed"] is True  # the deemed variables, joined


def test_rejection_at_the_window_ends_the_case_without_a_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BY-1", realestate.transfer_application())
    complete(eng, case, "intake_review", "clerk1", intakeDecision="REJECT",
             intakeOpinion="申请登记的不动产不属于本登记机构管辖（告知向所在地登记机构申请）")
    assert eng.runtime.instance(case.id).ended
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.accepted_at is None and c.promised_due is None


def test_registration_denied_ends_the_parallel_work_of_tax_and_housing(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BDJ-1", realestate.transfer_application())
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    clock.set(at(2026, 3, 3, 10, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="DENY",
             registryOpinion="该不动产已被人民法院查封，不予登记（《不动产登记暂行条例》第二十二条）")
    assert set(open_tasks(eng, case)) == {"deliver_denial", "tax_assessment", "housing_filing"}
    clock.set(at(2026, 3, 3, 11, 0))
    complete(eng, case, "deliver_denial", "registry1")
    assert eng.runtime.instance(case.id).ended  # the terminate end cancels the tax and housing branches
    assert eng.tasks.list(instance_id=case.id) == []
    assert "certificateNo" not in eng.runtime.variables(case.id)
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.stopped_at == at(2026, 3, 3, 11, 0)
    assert [j.job_type for j in eng.jobs.list(states=("PENDING", "PAUSED"), instance_id=case.id)
            if j.job_type != "outbox-delivery"] == []


def test_withdrawal_during_the_public_notice_stops_the_clock_and_cancels_the_notice_timer(eng, clock):
    case = start(eng, clock, at(2026, 9, 14, 9, 0), "CH-1", realestate.first_registration_application(seed=2))
    accept(eng, clock, case, at(2026, 9, 14, 10, 0))
    clock.set(at(2026, 9, 16, 11, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE")
    work(eng)
    assert eng.cases.clock(case.id).state == "SUSPENDED"
    clock.set(at(2026, 9, 22, 15, 0))
    eng.runtime.terminate(case.id, reason="申请人撤回申请", actor="clerk1")
    assert eng.runtime.instance(case.id).state == "TERMINATED"
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.stopped_at == at(2026, 9, 22, 15, 0)
    assert c.suspensions[0]["end"] is not None
    assert [j.job_type for j in eng.jobs.list(states=("PENDING", "PAUSED"), instance_id=case.id)
            if j.job_type != "outbox-delivery"] == []  # notices to the applicant still go out
    fire(eng, clock, at(2026, 10, 13, 17, 31))  # the notice's end passes: nothing happens
    assert events(eng, case, "CaseClockResumed") == []


def test_item_registry_limits_materials_and_identifiers(engine):
    item = next(i for i in registry() if i.key == KEY)
    assert item is realestate.REALESTATE_ITEM
    assert item.limits == {"promised": "5wd", "legal": "30wd"}
    result = realestate.deploy(engine, BPMN)
    assert {d.key for d in result.definitions} == {KEY}
    xml = (BPMN / item.bpmn).read_text("utf-8")
    for prop in ('name="promisedLimit" value="5wd"', 'name="legalLimit" value="30wd"',
                 'name="promisedLimitVariable" value="casePromise"', 'name="clockStart" value="accept"'):
        assert prop in xml
    assert "bpmndi:BPMNShape" in xml and item.intake_activity in xml
    transfer = {m["key"]: m["status"] for m in realestate.material_checklist(realestate.transfer_application())}
    assert transfer == {"application_form": "required", "identity": "waived", "title_certificate": "required",
                        "sale_contract": "waived", "tax_voucher": "waived", "marital_status": "waived",
                        "mortgage_contract": "not_needed", "first_registration_docs": "not_needed",
                        "cadastral_survey": "not_needed", "power_of_attorney": "not_needed"}
    first = {m["key"]: m["status"] for m in realestate.material_checklist(
        realestate.first_registration_application(identityVerified=False, viaAgent=True))}
    assert (first["identity"], first["title_certificate"], first["cadastral_survey"], first["power_of_attorney"],
            first["tax_voucher"]) == ("required", "not_needed", "gap_allowed", "required", "not_needed")
    mortgage = {m["key"]: m["status"] for m in realestate.material_checklist(
        realestate.mortgage_application(maritalVerified=False))}
    assert (mortgage["mortgage_contract"], mortgage["marital_status"], mortgage["sale_contract"]) == \
        ("required", "not_needed", "not_needed")
    assert realestate.id_check_char("11010519491231002") == "X"  # the GB 11643-1999 example 11010519491231002X
    app = realestate.application(seed=5)
    assert realestate.id_check_char(app["applicantIdNo"][:17]) == app["applicantIdNo"][17]
    assert len(app["unitNo"]) == 28 and app["unitNo"].startswith("330106")
    assert realestate.certificate_number("PROPERTY", "330106", "杭州市", 2026, "x") == \
        realestate.certificate_number("PROPERTY", "330106", "杭州市", 2026, "x")
    assert PROPERTY_NO.match(realestate.certificate_number("PROPERTY", "330106", "杭州市", 2026, "x"))
    assert realestate.certificate_number("NONE", "330106", "杭州市", 2026, "x") is None


def _variant(old: str, new: str) -> list[tuple[str, bytes]]:
    xml = (BPMN / realestate.BPMN_FILES[0]).read_text("utf-8")
    assert xml.count(old) == 1
    return [("realestate_registration.bpmn", xml.replace(old, new).encode("utf-8")),
            ("realestate_decisions.dmn", (BPMN / realestate.BPMN_FILES[1]).read_bytes())]


def test_promised_limit_variable_is_checked_at_deploy_time(engine):
    from engine.errors import DeploymentError

    with pytest.raises(DeploymentError) as err:  # the variable is read from the acceptance activity
        engine.repository.deploy(_variant('<camunda:property name="clockStart" value="accept" />', ""))
    assert "promisedLimitVariable needs clockStart" in str(err.value)
    with pytest.raises(DeploymentError) as err:
        engine.repository.deploy(_variant('value="casePromise"', 'value="case promise"'))
    assert "promisedLimitVariable 'case promise' must name a variable" in str(err.value)
    assert engine.repository.definitions(key=KEY) == []  # nothing deployed


def test_a_promise_that_is_not_a_limit_falls_back_to_the_diagrams(engine, clock):
    engine.repository.deploy(_variant('casePromise = promiseDecision["promise"]', 'casePromise = "1 day"'))
    case = start(engine, clock, at(2026, 3, 2, 9, 0), "FB-1", realestate.mortgage_application())
    accept(engine, clock, case, at(2026, 3, 2, 10, 0))
    c = engine.cases.clock(case.id)
    assert (c.promised_limit, c.promised_due) == ("5wd", at(2026, 3, 9, 17, 30))
    (started,) = events(engine, case, "CaseClockStarted")
    assert "casePromise '1 day' is not a limit" in started.payload["reason"]


def test_mortgage_accepted_at_the_window_intake_gets_its_one_day_promise_when_the_acceptance_step_runs(eng, clock):
    # engine.intake accepts at once with the item's limits (5wd), then completes the window step: DMN R2 and 受理 run
    clock.set(at(2026, 2, 13, 15, 0))
    app = eng.intake.accept(KEY, materials={"application_form": {"status": "received"},
                                            "identity": {"status": "received"},
                                            "mortgage_contract": {"status": "received"},
                                            "title_certificate": {"status": "received"}},
                            applicant={"name": "李娜", "idNumber": realestate.resident_id("330106", "19900101", 123),
                                       "phone": "13900001111", "address": "杭州市西湖区文三路1号", "delivery": "pickup"},
                            variables=realestate.mortgage_application(), actor="clerk1")
    assert app.state == "ACCEPTED"
    work(eng)
    c = eng.cases.clock(app.instance_id)
    assert (c.promised_limit, c.accepted_at) == ("1wd", at(2026, 2, 13, 15, 0))
    assert c.promised_due == at(2026, 2, 14, 17, 30) and c.warn_at == at(2026, 2, 13, 17, 30)
    (changed,) = [e for e in eng.history.events(app.instance_id) if e.event_type == "CasePromisedLimitSet"]
    assert (changed.payload["previousLimit"], changed.payload["promisedLimit"]) == ("5wd", "1wd")
    assert changed.payload["previousDue"].startswith("2026-02-27")  # 5 wd over 春节 would have been 02-27
    case_jobs = {j.job_type: j.due for j in eng.jobs.list(instance_id=app.instance_id)
                 if j.job_type.startswith("case-")}
    assert case_jobs["case-overdue"] == at(2026, 2, 14, 17, 30)
    assert set(open_tasks(eng, eng.runtime.instance(app.instance_id))) == {"registry_review"}
    assert eng.runtime.variables(app.instance_id)["promisedDate"] == "2026-02-14T17:30:00+08:00"  # on the 回执


def test_a_notice_running_into_a_year_without_calendar_data_ends_on_a_flagged_estimate(eng, clock):
    case = start(eng, clock, at(2026, 12, 11, 9, 0), "SC-2027", realestate.first_registration_application(seed=4))
    accept(eng, clock, case, at(2026, 12, 11, 10, 0))
    c = eng.cases.clock(case.id)
    assert c.promised_due == at(2026, 12, 18, 17, 30) and c.provisional  # the legal 30 wd run into 2027
    clock.set(at(2026, 12, 14, 10, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE")
    work(eng)
    v = eng.runtime.variables(case.id)
    # 15 wd after Mon 12-14: 15-18, 21-25, 28-31 Dec (13), then Monday-Friday in 2027: Fri 01-01, Mon 01-04
    assert (v["noticeEndsAt"], v["noticeEndProvisional"]) == ("2027-01-04T17:30:00+08:00", True)
    assert eng.runtime.incidents() == []
    assert eng.cases.clock(case.id).state == "SUSPENDED"


def test_demo_applications_mix_the_registration_types():
    kinds = [realestate.application(seed)["registrationType"] for seed in range(10)]
    assert kinds == ["转移"] * 5 + ["抵押", "抵押", "首次", "变更", "注销"]
    assert realestate.application(7)["needsNotice"] is True
    assert realestate.application(5)["involvesTax"] is False and realestate.application(0)["involvesTax"] is True


def test_cancellation_has_no_certificate_and_the_ordinary_promise(eng, clock):
    case = start(eng, clock, at(2026, 4, 3, 9, 0), "ZX-1", realestate.application(9))  # 注销登记
    accept(eng, clock, case, at(2026, 4, 3, 10, 0))
    c = eng.cases.clock(case.id)
    assert (c.promised_limit, c.promised_due) == ("5wd", at(2026, 4, 13, 17, 30))  # 清明 04-04..06 skipped
    assert eng.runtime.variables(case.id)["parts"] == ["REGISTRY"]
    clock.set(at(2026, 4, 7, 9, 0))
    complete(eng, case, "registry_review", "registry1", registryDecision="APPROVE")
    complete(eng, case, "register", "registry1", registered=True)
    work(eng)
    v = eng.runtime.variables(case.id)
    assert v["certificateKind"] == "NONE" and v["certificateNo"] is None and v["eCertificateId"] is None
    complete(eng, case, "delivery", "window2", deliveryMethod="pickup")
    assert eng.runtime.instance(case.id).ended and eng.cases.clock(case.id).signal == "ON_TIME"
