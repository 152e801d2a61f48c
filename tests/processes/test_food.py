"""食品经营许可 (processes/food.py, bpmn/food/) simulated on the real engine with a moved clock: every deadline
checked to the working day on the 2026 official calendar (春节 02-15..23 with 调休 Saturdays 02-14 and 02-28; 中秋
09-25..27, 国庆 10-01..07, 调休 Sunday 09-20 and Saturday 10-10). Timers and deadline jobs are fired through the job
service. SQLite and PostgreSQL (ONEWINDOW_TEST_DB)."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

import pytest

from engine.errors import Conflict
from processes import food, registry
from processes.enterprise import is_valid_s10
from processes.food import HANDLERS, KEY, application
from processes.worker import drain
from tests.processes import helpers
from tests.processes.helpers import BPMN, at, complete, events, open_tasks


@pytest.fixture
def eng(engine):  # type: ignore[no-untyped-def]
    food.deploy(engine, BPMN)
    return engine


def start(eng, clock, when: datetime, key: str, seed: int = 0, **app):  # type: ignore[no-untyped-def]
    clock.set(when)
    return eng.runtime.start(KEY, business_key=key, variables=application(seed, **app))


def work(eng) -> int:  # type: ignore[no-untyped-def]
    return drain(eng, HANDLERS)


accept = partial(helpers.accept, handlers=HANDLERS)
fire = helpers.fire


def visited(eng, case, activity: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e.activity_id == activity for e in eng.history.events(case.id))


def test_happy_path_with_on_site_inspection_accepted_just_before_national_day(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 9, 0), "330106-20260930-0001")
    assert eng.runtime.variables(case.id)["routeDecision"] == {"route": "LICENCE", "inspection": "ONSITE"}
    assert eng.cases.clock(case.id).state == "WAITING"
    accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    c = eng.cases.clock(case.id)
    assert (c.state, c.accepted_at) == ("RUNNING", at(2026, 9, 30, 10, 0))
    # 5 wd: Thu 10-08, Fri 10-09, Sat 10-10 (调休), Mon 10-12, Tue 10-13 — the holiday 10-01..07 is skipped
    assert c.promised_due == at(2026, 10, 13, 17, 30)
    assert c.legal_due == at(2026, 10, 20, 17, 30)  # 10 wd: + 10-14, 15, 16, 19, 20
    assert c.warn_at == at(2026, 10, 12, 17, 30)  # warnBefore 1wd
    v = eng.runtime.variables(case.id)
    assert v["receiptNo"] == "SL-330106-20260930-0001"
    assert (v["promisedDate"], v["legalDate"]) == ("2026-10-13T17:30:00+08:00", "2026-10-20T17:30:00+08:00")
    review = open_tasks(eng, case)["licence_review"]
    assert review.candidate_groups == ("market",)
    assert review.due == at(2026, 10, 9, 17, 30)  # 2 wd: 10-08, 10-09
    assert review.follow_up == at(2026, 10, 8, 17, 30)  # warnBefore 1wd

    clock.set(at(2026, 10, 8, 10, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="材料齐全，需现场核查")
    inspection = open_tasks(eng, case)["site_inspection"]
    assert inspection.due == at(2026, 10, 10, 17, 30)  # 2 wd: 10-09 and Saturday 10-10 (调休 working day)
    clock.set(at(2026, 10, 9, 15, 0))
    complete(eng, case, "site_inspection", "market1", inspectionResult="PASS", inspectors="王强、李敏")
    decision = open_tasks(eng, case)["licence_decision"]
    assert decision.due == at(2026, 10, 10, 17, 30)  # 1 wd
    clock.set(at(2026, 10, 10, 9, 0))  # the 调休 Saturday
    complete(eng, case, "licence_decision", "market2", licenceDecision="APPROVE", decisionOpinion="准予许可")
    work(eng)
    v = eng.runtime.variables(case.id)
    assert food.is_valid_licence_number(v["licenceNo"]) and v["licenceNo"].startswith("JY2330106")  # 餐饮服务
    assert (v["licenceIssuedOn"], v["licenceValidUntil"]) == ("2026-10-10", "2031-10-09")  # 5 years
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"delivery"}  # no 告知承诺: no follow-up inspection
    assert tasks["delivery"].due == at(2026, 10, 12, 17, 30)
    clock.set(at(2026, 10, 12, 10, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="WINDOW")
    c = eng.cases.clock(case.id)
    assert (c.state, c.stopped_at, c.signal) == ("STOPPED", at(2026, 10, 12, 10, 0), "ON_TIME")
    assert eng.runtime.instance(case.id).ended
    assert all(r.ok for r in eng.history.verify(case.id))


def test_commitment_path_issues_on_the_commitment_and_inspects_afterwards(eng, clock):
    # accepted Thu 2026-02-12, just before the Spring Festival
    case = start(eng, clock, at(2026, 2, 12, 9, 0), "CN-1", seed=1)
    assert eng.runtime.variables(case.id)["routeDecision"] == {"route": "LICENCE", "inspection": "COMMITMENT"}
    accept(eng, clock, case, at(2026, 2, 12, 10, 0))
    c = eng.cases.clock(case.id)
    # 5 wd: Fri 02-13, Sat 02-14 (调休), then 02-24, 25, 26 (02-15..23 春节)
    assert c.promised_due == at(2026, 2, 26, 17, 30)
    assert c.legal_due == at(2026, 3, 4, 17, 30)  # + 02-27, Sat 02-28 (调休), 03-02, 03, 04
    assert open_tasks(eng, case)["licence_review"].due == at(2026, 2, 14, 17, 30)
    clock.set(at(2026, 2, 13, 9, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="承诺书已签署，材料齐全")
    assert set(open_tasks(eng, case)) == {"licence_decision"}  # no on-site inspection before the decision
    clock.set(at(2026, 2, 13, 15, 0))
    complete(eng, case, "licence_decision", "market2", licenceDecision="APPROVE", decisionOpinion="告知承诺，准予许可")
    work(eng)
    assert not visited(eng, case, "site_inspection")
    tasks = open_tasks(eng, case)
    assert set(tasks) == {"delivery", "post_inspection"}
    post = tasks["post_inspection"]
    assert post.candidate_groups == ("market",)
    # 20 wd after Fri 02-13: 02-14, 24..28 (5), 03-02..06, 09..13, 16..19 → Thu 03-19
    assert post.due == at(2026, 3, 19, 17, 30)
    assert post.follow_up == at(2026, 3, 16, 17, 30)  # warnBefore 3wd
    clock.set(at(2026, 2, 14, 10, 0))
    complete(eng, case, "delivery", "window2", deliveryMethod="ELECTRONIC")
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal, c.stopped_at) == ("STOPPED", "ON_TIME", at(2026, 2, 14, 10, 0))
    assert not eng.runtime.instance(case.id).ended  # the follow-up inspection is still to be done
    fire(eng, clock, at(2026, 3, 19, 17, 31))
    (overdue,) = events(eng, case, "TaskOverdue")
    assert (overdue.activity_id, overdue.payload["policy"]) == ("post_inspection", "ESCALATE")
    (escalation,) = [t for t in eng.tasks.list(instance_id=case.id) if t.origin == "escalation"]
    assert escalation.candidate_groups == ("supervisor",)
    assert eng.cases.clock(case.id).stopped_at == at(2026, 2, 14, 10, 0)  # the case clock is not touched
    clock.set(at(2026, 3, 20, 10, 0))
    complete(eng, case, "post_inspection", "market1", postInspectionResult="NONCOMPLIANT",
             postInspectionNote="后厨未设专间，与承诺不符")
    complete(eng, case, "revoke_licence", "market2", revocationReason="承诺不实，依法撤销")
    eng.tasks.complete(escalation.id, "sup1", {})
    assert eng.runtime.instance(case.id).ended
    assert visited(eng, case, "revoke_licence")  # ended at 许可已撤销


def test_prepackaged_food_only_is_a_filing_registered_on_the_spot(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BA-1", seed=2)
    assert eng.runtime.variables(case.id)["routeDecision"] == {"route": "FILING", "inspection": "NONE"}
    accept(eng, clock, case, at(2026, 3, 2, 9, 20))
    v = eng.runtime.variables(case.id)
    assert v["filingNo"].startswith("YB1330106") and len(v["filingNo"]) == 16
    assert v["filedAt"] == "2026-03-02T09:20:00+08:00"
    assert eng.runtime.instance(case.id).ended
    assert not visited(eng, case, "licence_review") and "licenceNo" not in v
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal, c.stopped_at) == ("STOPPED", "ON_TIME", at(2026, 3, 2, 9, 20))
    checklist = {m["key"]: m["status"] for m in food.material_checklist(application(2))}
    assert checklist == {"application_form": "required", "business_licence": "waived",
                         "premises_layout": "not_needed", "safety_rules": "not_needed",
                         "commitment_letter": "not_needed", "power_of_attorney": "not_needed"}


def test_supplement_before_acceptance_does_not_run_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 2, 10, 9, 30), "BZ-1")
    clock.set(at(2026, 2, 10, 10, 0))
    complete(eng, case, "intake_review", "clerk1", intakeDecision="SUPPLEMENT",
             missingMaterials="经营场所平面图未标注专间位置")
    assert set(open_tasks(eng, case)) == {"supplement"}
    assert eng.cases.clock(case.id).state == "WAITING"
    (deadline,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "supplement_deadline"]
    # 20 wd after Tue 02-10: 11, 12, 13, Sat 14, 24..27, Sat 28, 03-02..06, 09..13, 16 → Mon 03-16 (春节 skipped)
    assert deadline.due == at(2026, 3, 16, 17, 30)
    clock.set(at(2026, 2, 13, 10, 0))  # the applicant comes back three days later, still before the holiday
    complete(eng, case, "supplement", "clerk1", suppliedMaterials="经营场所平面图（已标注专间）")
    assert set(open_tasks(eng, case)) == {"intake_review"}
    assert eng.runtime.variables(case.id)["supplementRounds"] == 1
    assert eng.cases.clock(case.id).state == "WAITING"
    accept(eng, clock, case, at(2026, 2, 13, 11, 0))
    c = eng.cases.clock(case.id)
    assert c.accepted_at == at(2026, 2, 13, 11, 0)  # 受理日 = the day the last material came in
    assert c.suspended_days == 0
    # 5 wd: Sat 02-14, 02-24, 25, 26, 27; 10 wd: Sat 02-28, 03-02, 03, 04, 05
    assert c.promised_due == at(2026, 2, 27, 17, 30) and c.legal_due == at(2026, 3, 5, 17, 30)


def test_no_supplement_notice_within_5_working_days_counts_as_accepted_from_the_day_of_receipt(eng, clock):
    case = start(eng, clock, at(2026, 2, 12, 10, 0), "SL-DEEMED")  # Thu before the Spring Festival
    (timer,) = [j for j in eng.jobs.list(instance_id=case.id) if j.activity_id == "deemed_acceptance_timer"]
    assert timer.due == at(2026, 2, 26, 17, 30)  # 5 wd: 13, Sat 14, 24, 25, 26
    fire(eng, clock, at(2026, 2, 26, 17, 29))
    assert eng.cases.clock(case.id).state == "WAITING"
    fire(eng, clock, at(2026, 2, 26, 17, 31))
    work(eng)
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.accepted_at == at(2026, 2, 12, 10, 0)  # 受理日 = 收件日
    assert c.promised_due == at(2026, 2, 26, 17, 30)  # passed a minute ago: red at once
    assert c.signal == "OVERDUE"
    assert "licence_review" in open_tasks(eng, case)


def test_supplement_after_acceptance_suspends_the_clock_and_moves_every_deadline(eng, clock):
    case = start(eng, clock, at(2026, 4, 1, 9, 0), "ZZ-1")
    accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    c = eng.cases.clock(case.id)
    # 5 wd: 04-02, Fri 04-03, (清明 04-04..06), 04-07, 08, 09; legal 10 wd → 04-16 (domain.md §1.6)
    assert (c.promised_due, c.legal_due) == (at(2026, 4, 9, 17, 30), at(2026, 4, 16, 17, 30))
    review = open_tasks(eng, case)["licence_review"]
    assert review.due == at(2026, 4, 3, 17, 30)
    clock.set(at(2026, 4, 2, 11, 0))
    eng.tasks.request_correction(review.id, materials=["从业人员健康管理制度"], reason="制度目录缺健康管理制度",
                                 user_id="market1")
    c = eng.cases.clock(case.id)
    assert c.state == "SUSPENDED" and c.suspensions[0]["kind"] == "supplement"
    with pytest.raises(Conflict):  # the case waits for the material
        eng.tasks.complete(review.id, "market1", {"reviewOpinion": "同意"})
    clock.set(at(2026, 4, 8, 10, 0))  # Wednesday after Qingming: the material arrives
    eng.tasks.correction_received(review.id, user_id="clerk1")
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.suspended_days == 4  # 04-02, 03, 07, 08 (both ends included)
    assert c.promised_due == at(2026, 4, 15, 17, 30)  # 04-09 + 4 wd
    assert c.legal_due == at(2026, 4, 22, 17, 30)  # 04-16 + 4 wd
    assert open_tasks(eng, case)["licence_review"].due == at(2026, 4, 10, 17, 30)  # 04-03 + 4 wd: 07..10


def test_rectification_after_the_on_site_inspection_suspends_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "ZG-1")
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    c = eng.cases.clock(case.id)
    assert (c.promised_due, c.legal_due) == (at(2026, 3, 9, 17, 30), at(2026, 3, 16, 17, 30))
    clock.set(at(2026, 3, 3, 9, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="需现场核查")
    clock.set(at(2026, 3, 4, 10, 0))
    complete(eng, case, "site_inspection", "market1", inspectionResult="RECTIFY", inspectors="王强、李敏",
             inspectionFindings="粗加工区与烹饪区未分隔；无洗手消毒设施", rectifyDays=5)
    work(eng)
    c = eng.cases.clock(case.id)
    assert c.state == "SUSPENDED"
    (s,) = c.suspensions
    assert s["kind"] == "site-inspection" and "粗加工区" in s["reason"]
    assert set(open_tasks(eng, case)) == {"rectification"}
    clock.set(at(2026, 3, 10, 15, 0))  # rectified the next Tuesday
    complete(eng, case, "rectification", "market1", rectificationNote="已加装隔断和洗手池")
    work(eng)
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.suspended_days == 5  # 03-04, 05, 06, 09, 10
    assert c.promised_due == at(2026, 3, 16, 17, 30)  # 03-09 + 5 wd
    assert c.legal_due == at(2026, 3, 23, 17, 30)  # 03-16 + 5 wd
    assert eng.runtime.variables(case.id)["rectificationRounds"] == 1
    again = open_tasks(eng, case)["site_inspection"]  # re-inspection, with a fresh step limit
    assert again.due == at(2026, 3, 12, 17, 30)
    clock.set(at(2026, 3, 11, 10, 0))
    complete(eng, case, "site_inspection", "market1", inspectionResult="PASS", inspectors="王强、李敏")
    assert "licence_decision" in open_tasks(eng, case)


def test_review_and_decision_escalate_on_timeout_the_inspection_only_warns(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 9, 0), "CS-1")
    accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    fire(eng, clock, at(2026, 10, 8, 17, 31))  # warning at 10-08 17:30 (1 wd before)
    assert [e.activity_id for e in events(eng, case, "TaskDeadlineWarning")] == ["licence_review"]
    fire(eng, clock, at(2026, 10, 9, 17, 29))
    assert events(eng, case, "TaskOverdue") == []
    fire(eng, clock, at(2026, 10, 9, 17, 31))
    (overdue,) = events(eng, case, "TaskOverdue")
    assert (overdue.activity_id, overdue.payload["policy"]) == ("licence_review", "ESCALATE")
    (escalation,) = [t for t in eng.tasks.list(instance_id=case.id) if t.origin == "escalation"]
    assert escalation.candidate_groups == ("supervisor",) and "材料审查" in (escalation.name or "")
    assert "licence_review" in open_tasks(eng, case)  # stays with the department
    clock.set(at(2026, 10, 10, 9, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="同意")
    assert open_tasks(eng, case)["site_inspection"].due == at(2026, 10, 13, 17, 30)  # 10-12, 10-13
    fire(eng, clock, at(2026, 10, 13, 17, 31))
    overdue = {e.activity_id: e.payload["policy"] for e in events(eng, case, "TaskOverdue")
               if e.activity_id in ("licence_review", "site_inspection")}  # not the 督办 task's own
    assert overdue == {"licence_review": "ESCALATE", "site_inspection": "WARN_ONLY"}
    assert len([t for t in eng.tasks.list(instance_id=case.id) if t.origin == "escalation"]) == 1
    assert eng.cases.clock(case.id).signal == "OVERDUE"  # promised 10-13 passed
    clock.set(at(2026, 10, 14, 9, 0))
    complete(eng, case, "site_inspection", "market1", inspectionResult="PASS", inspectors="王强、李敏")
    assert open_tasks(eng, case)["licence_decision"].due == at(2026, 10, 15, 17, 30)
    fire(eng, clock, at(2026, 10, 15, 17, 31))
    assert {e.activity_id: e.payload["policy"] for e in events(eng, case, "TaskOverdue")}["licence_decision"] \
        == "ESCALATE"
    assert len([t for t in eng.tasks.list(instance_id=case.id) if t.origin == "escalation"]) == 2


def test_refusal_with_reason_ends_without_a_licence(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BY-1", seed=3)  # bulk food sales: document review only
    assert eng.runtime.variables(case.id)["routeDecision"]["inspection"] == "DOCUMENT"
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="经营场所与住宅混用")
    assert set(open_tasks(eng, case)) == {"licence_decision"}
    clock.set(at(2026, 3, 4, 10, 0))
    complete(eng, case, "licence_decision", "market2", licenceDecision="REFUSE",
             decisionOpinion="经营场所不符合食品安全要求（与住宅混用）")
    assert set(open_tasks(eng, case)) == {"deliver_refusal"}
    clock.set(at(2026, 3, 5, 10, 0))
    complete(eng, case, "deliver_refusal", "market2")
    assert eng.runtime.instance(case.id).ended
    v = eng.runtime.variables(case.id)
    assert "licenceNo" not in v and v["decisionOpinion"].startswith("经营场所不符合")
    assert not visited(eng, case, "issue_licence") and visited(eng, case, "deliver_refusal")
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal, c.stopped_at) == ("STOPPED", "ON_TIME", at(2026, 3, 5, 10, 0))


def test_rejection_at_intake_never_starts_the_clock(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "BY-0")
    complete(eng, case, "intake_review", "clerk1", intakeDecision="REJECT",
             intakeOpinion="申请人未取得营业执照等主体资格")
    assert eng.runtime.instance(case.id).ended
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.accepted_at is None and c.promised_due is None


def test_withdrawal_after_acceptance_stops_the_clock_and_cancels_every_job(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "CH-1")
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    clock.set(at(2026, 3, 3, 11, 0))
    eng.runtime.terminate(case.id, reason="申请人撤回申请", actor="clerk1")
    assert eng.runtime.instance(case.id).state == "TERMINATED"
    assert eng.tasks.list(instance_id=case.id) == []
    c = eng.cases.clock(case.id)
    assert c.state == "STOPPED" and c.stopped_at == at(2026, 3, 3, 11, 0)
    assert eng.jobs.list(instance_id=case.id) == []


def test_extension_by_5_working_days_with_the_heads_approval(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 9, 0), "YQ-1")
    accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    clock.set(at(2026, 10, 12, 10, 0))  # before the promised deadline (10-13): the engine's rule for 延期
    c = eng.cases.extend(case.id, days=food.EXTENSION_WORKDAYS, reason="现场核查需补充检测", approver="局长 陈明")
    assert c.extended_days == 5
    assert c.legal_due == at(2026, 10, 27, 17, 30)  # 10-20 + 21, 22, 23, 26, 27
    assert c.promised_due == at(2026, 10, 20, 17, 30)  # 10-13 + 14, 15, 16, 19, 20
    (ext,) = events(eng, case, "CaseClockExtended")
    assert ext.payload["approver"] == "局长 陈明"


def test_extension_after_the_deadline_is_refused(eng, clock):
    case = start(eng, clock, at(2026, 9, 30, 9, 0), "YQ-2")
    accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    clock.set(at(2026, 10, 14, 9, 0))  # the promised deadline 10-13 has passed: 超期
    with pytest.raises(Conflict):
        eng.cases.extend(case.id, days=5, reason="迟到的延期", approver="局长 陈明")
    assert eng.cases.clock(case.id).extended_days == 0


def test_ems_delivery_hands_over_with_an_s10_number(eng, clock):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), "EMS-1", seed=3, deliveryMethod="EMS")
    accept(eng, clock, case, at(2026, 3, 2, 10, 0))
    complete(eng, case, "licence_review", "market1", reviewOpinion="同意")
    complete(eng, case, "licence_decision", "market2", licenceDecision="APPROVE", decisionOpinion="准予许可")
    work(eng)
    assert eng.runtime.variables(case.id)["licenceNo"].startswith("JY1330106")  # 食品销售经营者
    complete(eng, case, "delivery", "window2", deliveryMethod="EMS")
    work(eng)
    assert is_valid_s10(eng.runtime.variables(case.id)["emsTrackingNo"])
    assert eng.runtime.instance(case.id).ended


@pytest.mark.parametrize("seed, overrides", [
    (0, {}), (1, {}), (2, {}), (3, {}), (4, {}), (5, {}),
    (1, {"badCredit": True}), (4, {"commitment": True}), (2, {"commitment": True}),
])
def test_python_route_agrees_with_the_dmn_table(eng, clock, seed, overrides):
    case = start(eng, clock, at(2026, 3, 2, 9, 0), f"DMN-{seed}", seed=seed, **overrides)
    assert eng.runtime.variables(case.id)["routeDecision"] == food.route_of(application(seed, **overrides))


def test_registry_materials_and_numbers(engine):
    item = next(i for i in registry() if i.key == KEY)
    assert item is food.FOOD_ITEM and item.limits == {"promised": "5wd", "legal": "10wd"}
    result = food.deploy(engine, BPMN)
    assert [d.key for d in result.definitions] == [KEY]
    xml = (BPMN / item.bpmn).read_text("utf-8")
    assert '<camunda:property name="promisedLimit" value="5wd" />' in xml
    assert '<camunda:property name="legalLimit" value="10wd" />' in xml
    assert "bpmndi:BPMNShape" in xml and item.intake_activity in xml
    agent = {m["key"]: m["status"] for m in food.material_checklist(
        application(1, viaAgent=True, licenceShared=False))}
    assert agent == {"application_form": "required", "business_licence": "required", "premises_layout": "required",
                     "safety_rules": "gap_allowed", "commitment_letter": "required", "power_of_attorney": "required"}
    number = food.licence_number("CANTEEN", "330106", "x")
    assert len(number) == 16 and number[:3] == "JY3" and food.is_valid_licence_number(number)
    assert not food.is_valid_licence_number(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert food.luhn_digit("7992739871") == "3"  # the textbook Luhn example
    assert food.valid_until(date(2028, 2, 29)) == date(2033, 2, 27)
    with pytest.raises(ValueError):
        food.licence_number("RESTAURANT", "330106", "x")


def test_diagram_shapes_do_not_overlap():
    from lxml import etree

    ns = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI", "dc": "http://www.omg.org/spec/DD/20100524/DC",
          "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    root = etree.parse(str(BPMN / food.FOOD_ITEM.bpmn)).getroot()
    boundary = {e.get("id") for e in root.iterfind(".//bpmn:boundaryEvent", ns)}
    lanes = {e.get("id") for e in root.iterfind(".//bpmn:lane", ns)} | {"Participant_food"}
    process = root.find("bpmn:process", ns)
    nodes = {e.get("id") for e in process if e.get("id") and not e.tag.endswith(("sequenceFlow", "laneSet"))
             and etree.QName(e).localname not in ("documentation", "extensionElements")}
    boxes = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", ns):
        b = shape.find("dc:Bounds", ns)
        boxes[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    assert nodes <= set(boxes)  # every node is drawn
    flows = {e.get("id") for e in process.iterfind("bpmn:sequenceFlow", ns)}
    assert flows == {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    solid = [k for k in boxes if k not in boundary and k not in lanes]
    for i, a in enumerate(solid):
        ax, ay, aw, ah = boxes[a]
        for b in solid[i + 1:]:
            bx, by, bw, bh = boxes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} overlaps {b}"
    labels = {}
    for el in root.iterfind(".//bpmndi:BPMNLabel/dc:Bounds", ns):
        owner = el.getparent().getparent().get("bpmnElement")
        labels[owner] = tuple(float(el.get(k)) for k in ("x", "y", "width", "height"))
    for name, (lx, ly, lw, lh) in labels.items():  # no label on another shape
        for other in solid:
            if other == name:
                continue
            bx, by, bw, bh = boxes[other]
            assert lx + lw <= bx or bx + bw <= lx or ly + lh <= by or by + bh <= ly, f"label of {name} on {other}"
