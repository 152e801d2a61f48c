"""企业开办 (processes/enterprise.py, bpmn/enterprise/) simulated on the real engine with a moved clock: every deadline
checked to the working day on the 2026 official calendar (中秋 09-25..27, 国庆 10-01..07, 调休 Sunday 09-20 and
Saturday 10-10). SQLite and PostgreSQL (ONEWINDOW_TEST_DB)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

from processes import enterprise, registry
from processes.enterprise import HANDLERS, KEY, application
from processes.worker import drain
from tests.processes import helpers
from tests.processes.helpers import BPMN, at, complete, events, open_tasks


@pytest.fixture
def eng(engine):  # type: ignore[no-untyped-def]
    enterprise.deploy(engine, BPMN)
    return engine


def start(eng, clock, when: datetime, key: str, **app):  # type: ignore[no-untyped-def]
    clock.set(when)
    return eng.runtime.start(KEY, business_key=key, variables=application(**app))


def work(eng) -> int:  # type: ignore[no-untyped-def]
    return drain(eng, HANDLERS)


accept = partial(helpers.accept, handlers=HANDLERS)


BRANCH_TASKS = ("fund", "seal", "social", "tax")


def test_happy_path_auto_approval_all_branches_window_pickup_and_a_good_rating(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 30), "330106-20260302-0001")
    assert set(open_tasks(eng, case)) == {"intake_review"}
    assert eng.cases.clock(case.id).state == "WAITING"  # received, not accepted
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    c = eng.cases.clock(case.id)
    assert (c.state, c.accepted_at) == ("RUNNING", at(2026, 3, 2, 10, 0))
    assert c.promised_due == at(2026, 3, 3, 17, 30)  # 1 wd
    assert c.legal_due == at(2026, 3, 5, 17, 30)  # 3 wd (《市场主体登记管理条例》 §19)
    v = eng.runtime.variables(case.id)
    assert v["reviewDecision"] == {"mode": "AUTO", "promise": "0"} and v["autoApproved"] is True
    assert v["promisedDate"] == "2026-03-03T17:30:00+08:00" and v["receiptNo"] == "SL-330106-20260302-0001"
    assert enterprise.is_valid_uscc(v["creditCode"]) and v["creditCode"].startswith("91330106")
    assert v["branches"] == ["SEAL", "TAX", "SOCIAL", "FUND", "BANK"]  # DMN A1, COLLECT, table order
    tasks = open_tasks(eng, case)
    assert sorted(tasks) == list(BRANCH_TASKS)  # the bank answered through its worker
    for t in tasks.values():
        assert t.due == at(2026, 3, 2, 15, 45)  # 0.5 wd = 3 h 15 of office hours from 10:00
        assert t.follow_up == at(2026, 3, 2, 14, 45)  # warnBefore 1h
    assert tasks["seal"].candidate_groups == ("police",) and tasks["fund"].candidate_groups == ("housing_fund",)
    clock.set(at(2026, 3, 2, 14, 0))
    complete(eng, case, "seal", "police1", sealFiled=True)
    complete(eng, case, "tax", "tax1", taxRegistered=True)
    complete(eng, case, "social", "social1", socialRegistered=True)
    complete(eng, case, "fund", "fund1", fundRegistered=True)
    assert set(open_tasks(eng, case)) == {"delivery"}
    bank = eng.runtime.variables(case.id)["bankAccountNo"]  # the bank's branch joined
    assert bank.startswith("6210") and len(bank) == 19
    clock.set(at(2026, 3, 3, 9, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="pickup")
    c = eng.cases.clock(case.id)
    assert (c.state, c.stopped_at, c.signal) == ("STOPPED", at(2026, 3, 3, 9, 0), "ON_TIME")  # clockStop: 出件
    complete(eng, case, "pickup", "window2", signedBy="张伟")
    assert eng.runtime.instance(case.id).active_activity_ids == ("await_rating",) or \
        "rating_received" in eng.runtime.instance(case.id).active_activity_ids
    eng.runtime.correlate(enterprise.RATING_MESSAGE, business_key=case.business_key,
                          variables={"rating": "非常满意", "ratingComment": "一次办好"})
    assert eng.runtime.instance(case.id).ended
    assert eng.runtime.instances(business_key=f"{case.business_key}-ZG") == []  # no rectification
    assert all(r.ok for r in eng.history.verify(case.id))


def test_supplement_before_acceptance_does_not_run_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 30), "BZ-1")
    clock.set(at(2026, 3, 2, 10, 0))
    complete(eng, case, "intake_review", "clerk1", intakeDecision="SUPPLEMENT", missingMaterials="公司章程未签署")
    assert set(open_tasks(eng, case)) == {"supplement"}
    assert eng.cases.clock(case.id).state == "WAITING"
    clock.set(at(2026, 3, 5, 10, 0))  # three days later the applicant hands in the signed articles
    complete(eng, case, "supplement", "clerk1", suppliedMaterials="公司章程（全体股东签署）")
    assert set(open_tasks(eng, case)) == {"intake_review"}
    assert eng.runtime.variables(case.id)["supplementRounds"] == 1
    accept(eng, clock, case, at(2026, 3, 5, 11, 0))
    c = eng.cases.clock(case.id)
    assert c.accepted_at == at(2026, 3, 5, 11, 0)  # 受理日 = the day the last material came in
    assert c.promised_due == at(2026, 3, 6, 17, 30) and c.legal_due == at(2026, 3, 10, 17, 30)
    assert c.suspended_days == 0


def test_supplement_not_handed_in_within_20_working_days_ends_the_application(eng, clock):
    case = start(eng, clock, at(2026, 9, 21, 9, 0), "BZ-2")
    complete(eng, case, "intake_review", "clerk1", intakeDecision="SUPPLEMENT", missingMaterials="住所证明")
    (job,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "supplement_deadline"]
    # 20 wd after Mon 21 Sep: 22-24, (25-27 中秋), 28-30, (1-7 国庆), 8, 9, Sat 10 (调休), 12-16, 19-23, 26
    assert job.due == at(2026, 10, 26, 17, 30)
    clock.set(at(2026, 10, 26, 17, 31))
    eng.jobs.execute_due()
    view = eng.runtime.instance(case.id)
    assert view.ended and eng.cases.clock(case.id).accepted_at is None  # 退件: never accepted


def test_no_supplement_notice_within_5_working_days_counts_as_accepted_from_the_day_of_receipt(eng, clock):
    # 行政许可法 §32: received Wed 23 Sep 2026; 5 wd = 24 Sep, 28, 29, 30 Sep, 8 Oct (中秋 and 国庆 skipped)
    case = start(eng, clock, at(2026, 9, 23, 10, 0), "SL-DEEMED")
    (timer,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "deemed_acceptance_timer"]
    assert timer.due == at(2026, 10, 8, 17, 30)
    clock.set(at(2026, 10, 8, 17, 29))
    eng.jobs.execute_due()
    assert eng.cases.clock(case.id).state == "WAITING"
    clock.set(at(2026, 10, 8, 17, 31))
    eng.jobs.execute_due()
    work(eng)
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.accepted_at == at(2026, 9, 23, 10, 0)  # 受理日 = 收件日
    assert c.promised_due == at(2026, 9, 24, 17, 30)  # already passed: the case is red at once
    assert c.legal_due == at(2026, 9, 29, 17, 30)  # 3 wd: 24, 28, 29 Sep (25-27 中秋)
    assert c.signal == "OVERDUE"
    (started,) = events(eng, case, "CaseClockStarted")
    assert "2026-09-23" in started.payload["reason"] and started.payload["acceptedAt"].startswith("2026-09-23")
    assert eng.runtime.variables(case.id)["deemedAccepted"] is True


def test_case_accepted_just_before_national_day_manual_review_escalates(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 15, 0), "GQ-1", nameCheck="HIT")  # name needs a human check
    accept(eng, clock, case, at(2026, 9, 30, 16, 0))
    c = eng.cases.clock(case.id)
    assert c.promised_due == at(2026, 10, 8, 17, 30)  # 1 wd: the holiday 1-7 Oct is skipped
    assert c.legal_due == at(2026, 10, 10, 17, 30)  # 3 wd: 8, 9 and Saturday 10 Oct (调休 working day)
    assert eng.runtime.variables(case.id)["reviewDecision"]["mode"] == "MANUAL"
    review = open_tasks(eng, case)["registration_review"]
    assert review.candidate_groups == ("market",)
    assert review.due == at(2026, 10, 8, 10, 15)  # 0.5 wd: 16:00-17:30 on 30 Sep, then 08:30-10:15 on 8 Oct
    clock.set(at(2026, 10, 8, 10, 16))
    eng.jobs.execute_due()
    eng.jobs.execute_due()
    (overdue,) = events(eng, case, "TaskOverdue")
    assert overdue.payload["policy"] == "ESCALATE"
    tasks = eng.tasks.list(instance_id=case.id)
    (escalation,) = [t for t in tasks if t.origin == "escalation"]
    assert escalation.candidate_groups == ("supervisor",) and "登记审查" in (escalation.name or "")
    assert "registration_review" in open_tasks(eng, case)  # the review stays with the registrar
    clock.set(at(2026, 10, 8, 11, 0))
    complete(eng, case, "registration_review", "market1", registrationDecision="APPROVE")
    work(eng)
    assert {"seal", "tax", "social", "fund"} <= set(open_tasks(eng, case))


def test_supplement_during_review_suspends_the_clock_and_moves_every_deadline(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "ZZ-1", standardArticles=False)
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    review = open_tasks(eng, case)["registration_review"]
    assert review.due == at(2026, 3, 2, 15, 45)
    clock.set(at(2026, 3, 2, 11, 0))
    eng.tasks.request_correction(review.id, materials=["修正后的公司章程"], reason="章程条款与股东会决议不一致",
                                 user_id="market1")
    c = eng.cases.clock(case.id)
    assert c.state == "SUSPENDED" and c.suspensions[0]["kind"] == "supplement"
    clock.set(at(2026, 3, 5, 10, 0))  # Thursday: the corrected articles arrive
    eng.tasks.correction_received(review.id, user_id="clerk1")
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.suspended_days == 4  # 2, 3, 4, 5 March, both ends included
    assert c.promised_due == at(2026, 3, 9, 17, 30)  # 3 Mar + 4 wd
    assert c.legal_due == at(2026, 3, 11, 17, 30)  # 5 Mar + 4 wd
    assert open_tasks(eng, case)["registration_review"].due == at(2026, 3, 6, 15, 45)  # the step limit moved too
    clock.set(at(2026, 3, 5, 11, 0))
    complete(eng, case, "registration_review", "market1", registrationDecision="DENY",
             registrationOpinion="经营范围含禁止项目")
    assert set(open_tasks(eng, case)) == {"deliver_denial"}  # 不予登记 is served, no licence issued
    complete(eng, case, "deliver_denial", "market1")
    assert eng.runtime.instance(case.id).ended
    assert not [e for e in eng.history.events(case.id) if e.activity_id == "issue_licence"]


def test_departments_timing_out_under_each_policy(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "CS-1")
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    clock.set(at(2026, 3, 2, 15, 0))
    eng.jobs.execute_due()  # warnings at 14:45
    assert len(events(eng, case, "TaskDeadlineWarning")) == 4
    clock.set(at(2026, 3, 2, 15, 46))
    eng.jobs.execute_due()
    eng.jobs.execute_due()
    policies = {e.activity_id: e.payload["policy"] for e in events(eng, case, "TaskOverdue")}
    assert policies == {"seal": "ESCALATE", "tax": "ESCALATE", "social": "DEEMED_APPROVED", "fund": "WARN_ONLY"}
    tasks = eng.tasks.list(instance_id=case.id)
    keys = {t.task_definition_key for t in tasks if t.origin is None}
    assert keys == {"seal", "tax", "fund"}  # social was deemed done by the system; fund stays, red
    (formal,) = [t for t in tasks if t.origin == "formal-opinion"]
    assert formal.candidate_groups == ("social",) and formal.due == at(2026, 3, 3, 17, 30)  # 1 wd
    assert sorted(t.candidate_groups for t in tasks if t.origin == "escalation") == [("supervisor",), ("supervisor",)]
    (deemed,) = [t for t in eng.tasks.list(instance_id=case.id, state="COMPLETED") if t.task_definition_key == "social"]
    assert deemed.deemed and deemed.completed_by == "system"
    for key in ("seal", "tax", "fund"):
        complete(eng, case, key, "dept1", **{"seal": {"sealFiled": True}, "tax": {"taxRegistered": True},
                                             "fund": {"fundRegistered": True}}[key])
    assert "delivery" in open_tasks(eng, case)
    assert eng.runtime.variables(case.id)["socialRegistered"] is True  # the deemed variables, joined


def test_rejection_at_intake_ends_the_case_without_a_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BY-1")
    complete(eng, case, "intake_review", "clerk1", intakeDecision="REJECT",
             intakeOpinion="申请事项依法不需要取得行政许可（个体工商户请办理个体登记）")
    view = eng.runtime.instance(case.id)
    assert view.ended
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.accepted_at is None and c.promised_due is None


def test_withdrawal_after_acceptance_terminates_the_case_and_stops_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "CH-1", nameCheck="HIT")
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    clock.set(at(2026, 3, 2, 11, 0))
    eng.runtime.terminate(case.id, reason="申请人撤回申请", actor="clerk1")
    assert eng.runtime.instance(case.id).state == "TERMINATED"
    assert eng.tasks.list(instance_id=case.id) == []
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.stopped_at == at(2026, 3, 2, 11, 0)
    assert not [j for j in eng.jobs.list(instance_id=case.id)]  # nothing left to fire


def test_ems_delivery_and_a_bad_rating_start_a_15_working_day_rectification(eng, clock):
    case = start(eng, clock, at(2026, 9, 21, 9, 0), "PJ-1", deliveryMethod="mail", licensedScope=True,
                 employees=0, housingFund=False, bankAccount=False)
    accept(eng, clock, case, at(2026, 9, 21, 9, 30))
    v = eng.runtime.variables(case.id)
    assert v["branches"] == ["SEAL", "TAX", "NOTIFY"]
    assert [e.activity_id for e in events(eng, case, "ExternalTaskCompleted")
            if e.activity_id == "dual_notify"] == ["dual_notify"]  # 双告知 done, not waited for
    complete(eng, case, "seal", "police1", sealFiled=True)
    complete(eng, case, "tax", "tax1", taxRegistered=True)
    clock.set(at(2026, 9, 21, 14, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="mail")
    work(eng)
    number = eng.runtime.variables(case.id)["emsTrackingNo"]
    assert enterprise.is_valid_s10(number) and number.endswith("CN")
    eng.runtime.correlate(enterprise.EMS_SIGNED_MESSAGE, business_key=case.business_key)
    clock.set(at(2026, 9, 22, 10, 0))
    eng.runtime.correlate(enterprise.RATING_MESSAGE, business_key=case.business_key,
                          variables={"rating": "非常不满意", "ratingComment": "发票领取排队太久",
                                     "ratedDepartment": "tax"})
    work(eng)
    assert eng.runtime.instance(case.id).ended
    (rect,) = eng.runtime.instances(business_key="PJ-1-ZG")
    rv = eng.runtime.variables(rect.id)
    assert (rv["sourceCase"], rv["department"], rv["rating"]) == ("PJ-1", "tax", "非常不满意")
    work(eng)  # a retry of the hand-over does not start a second one
    assert len(eng.runtime.instances(business_key="PJ-1-ZG")) == 1
    rc = eng.cases.clock(rect.id)
    # 15 wd from Tue 22 Sep: 23, 24, 28, 29, 30 Sep, 8, 9, Sat 10 (调休), 12-16, 19, 20 Oct
    assert rc.promised_due == at(2026, 10, 20, 17, 30)
    (timer,) = [j for j in eng.jobs.list(instance_id=rect.id) if j.activity_id == "rectification_overdue"]
    assert timer.due == at(2026, 10, 20, 17, 30)
    clock.set(at(2026, 9, 23, 10, 0))
    complete(eng, rect, "callback_verify", "sup1", ratingGenuine="GENUINE", callbackNote="电话回访属实")
    assert open_tasks(eng, rect)["rectify"].candidate_groups == ("tax",)
    clock.set(at(2026, 10, 20, 17, 31))
    eng.jobs.execute_due()
    tasks = open_tasks(eng, rect)
    assert {"rectify", "overdue_supervision"} <= set(tasks)  # non-interrupting: 整改 goes on, 督办 added
    assert eng.cases.clock(rect.id).signal == "OVERDUE"
    complete(eng, rect, "rectify", "tax1", rectificationMeasures="增设发票领取专窗")
    complete(eng, rect, "reply_applicant", "sup1", replyText="已整改并电话答复")
    complete(eng, rect, "overdue_supervision", "sup1", supervisionNote="已约谈")
    assert eng.runtime.instance(rect.id).ended


def test_nothing_in_parallel_goes_straight_to_delivery(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "KB-0", needSeal=False, applyInvoice=False, employees=0,
                 housingFund=False, bankAccount=False)
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    assert eng.runtime.variables(case.id)["branches"] == []
    assert set(open_tasks(eng, case)) == {"delivery"}


def test_item_registry_limits_materials_and_the_whole_bpmn_folder_deploys(engine):
    item = next(i for i in registry() if i.key == KEY)
    assert item.limits == {"promised": "1wd", "legal": "3wd"}
    result = engine.repository.deploy_files(sorted([*BPMN.glob("sample/*.bpmn"), *[BPMN / f for f in enterprise.BPMN_FILES]]))
    keys = {d.key for d in (*result.definitions, *result.unchanged)}
    assert {KEY, enterprise.RECTIFICATION_KEY} <= keys
    xml = (BPMN / item.bpmn).read_text("utf-8")
    assert '<camunda:property name="promisedLimit" value="1wd" />' in xml
    assert '<camunda:property name="legalLimit" value="3wd" />' in xml
    assert "bpmndi:BPMNShape" in xml and item.intake_activity in xml
    checklist = {m["key"]: m["status"] for m in enterprise.material_checklist(application())}
    assert checklist == {"application_form": "required", "articles": "required", "shareholder_id": "waived",
                         "officer_appointment": "required", "domicile_proof": "waived",
                         "power_of_attorney": "not_needed"}
    agent = {m["key"]: m["status"] for m in enterprise.material_checklist(
        application(viaAgent=True, addressStandard=False, naturalShareholdersVerified=False))}
    assert (agent["power_of_attorney"], agent["domicile_proof"], agent["shareholder_id"]) == \
        ("required", "gap_allowed", "required")


@pytest.mark.parametrize("code", ["91330100716105852F", "9144030071526726XG", "914403001922038216"])
def test_credit_code_check_characters_match_published_codes(code):
    assert enterprise.is_valid_uscc(code)
    assert not enterprise.is_valid_uscc(code[:-1] + ("0" if code[-1] != "0" else "1"))
    generated = enterprise.credit_code("330106", code)
    assert enterprise.is_valid_uscc(generated) and generated[:8] == "91330106"


def test_ems_number_check_digit():
    assert enterprise.s10_check_digit("47312482") == "9"  # the UPU S10 worked example RR 47312482 9 GB
    assert enterprise.is_valid_s10(enterprise.ems_tracking_number("x"))
