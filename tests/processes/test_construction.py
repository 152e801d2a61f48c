"""工程建设项目施工许可阶段 (construction-permit stage) simulated on the real engine: the diagram of
bpmn/construction/ deployed with its DMN tables, cases driven on a moved clock, the automatic steps run by the
item's handlers (processes/construction.py), timers and deadline policies fired through the job service. Every
deadline is checked to the working day on the 2026 official calendar (National Day 10-01..07 with Saturday 10-10 a
working day; Spring Festival 02-15..23 with Saturdays 02-14 and 02-28 working days; Qingming 04-04..06)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from lxml import etree

from engine.errors import Conflict
from processes import construction as C
from processes import registry
from tests.processes.helpers import BPMN, at
from tests.web.case_support import PASSWORD, login, web_app  # noqa: F401 - web_app: the app on this test's engine

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}


@pytest.fixture
def eng(engine):  # type: ignore[no-untyped-def]
    result = engine.repository.deploy_files([BPMN / f for f in C.BPMN_FILES])
    assert [d.key for d in result.definitions] == [C.KEY]
    return engine


def _open(eng, case_id: str) -> dict:  # type: ignore[no-untyped-def]
    """Open tasks by (activity, candidate group)."""
    out = {}
    for t in eng.tasks.list(instance_id=case_id):
        groups = [link.group_id for link in eng.tasks.identity_links(t.id) if link.group_id]
        out[(t.task_definition_key, groups[0] if groups else None)] = t
    return out


def _events(eng, case_id: str, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in eng.history.events(case_id) if e.event_type == kind]


def _apply(eng, clock, when: datetime, variant: str = "special", key: str = "SG-2026-0001", **overrides):  # type: ignore[no-untyped-def]
    """网上申报 received at ``when``: the precondition check runs, the window's 形式审查 waits."""
    clock.set(when)
    case = eng.runtime.start(C.KEY, business_key=key, variables=C.sample_application(variant, **overrides))
    assert C.run_handlers(eng) == ["construction-precheck"]
    return case


def _accept(eng, clock, case, when: datetime):  # type: ignore[no-untyped-def]
    clock.set(when)
    (intake,) = [t for t in eng.tasks.list(instance_id=case.id) if t.task_definition_key == "intake"]
    eng.tasks.complete(intake.id, "clerk1", {"accepted": True, "supplementNeeded": False, "intakeNote": ""})


def _review(eng, task, user: str, opinion: str = "agree", reason: str = "") -> None:  # type: ignore[no-untyped-def]
    eng.tasks.complete(task.id, user, {"opinion": opinion, "opinionReason": reason})


def _fire_due(eng, clock, when: datetime) -> list:  # type: ignore[no-untyped-def]
    clock.set(when)
    results = eng.jobs.execute_due()
    eng.jobs.execute_due()  # what the first run queued (notifications)
    return results


# --- the diagram and the tables ------------------------------------------------------------------------------
def test_diagram_is_camunda_dialect_with_a_legible_layout():
    root = etree.parse(str(BPMN / C.BPMN_FILES[0])).getroot()
    assert root.get("exporter") == "Camunda Modeler"
    process = root.find("bpmn:process", NS)
    flow_nodes = {el.get("id") for el in process.iter() if el.get("id") and etree.QName(el).localname not in (
        "sequenceFlow", "process", "incoming", "outgoing", "documentation", "conditionExpression",
        "multiInstanceLoopCharacteristics", "timerEventDefinition", "messageEventDefinition", "timeDate",
        "extensionElements", "script") and etree.QName(el).namespace == NS["bpmn"]}
    shapes = {s.get("bpmnElement"): s.find("dc:Bounds", NS) for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    assert flow_nodes <= set(shapes), f"elements without a shape: {flow_nodes - set(shapes)}"
    flows = {f.get("id") for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    assert flows == edges
    # no two shapes overlap, except a container and what it contains and a boundary event on its task
    box = {k: tuple(float(b.get(a)) for a in ("x", "y", "width", "height")) for k, b in shapes.items()}
    parent = {el.get("id"): el.getparent().get("id") for el in process.iter() if el.get("id")}
    attached = {el.get("id"): el.get("attachedToRef") for el in process.iter(f"{{{NS['bpmn']}}}boundaryEvent")}

    def inside(child: str, container: str) -> bool:
        while child in parent and parent[child] != process.get("id"):
            child = parent[child]
            if child == container:
                return True
        return False

    ids = sorted(box)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if inside(a, b) or inside(b, a) or attached.get(a) == b or attached.get(b) == a:
                continue
            (x1, y1, w1, h1), (x2, y2, w2, h2) = box[a], box[b]
            assert not (x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1), f"{a} overlaps {b}"


def test_the_dmn_table_b3_and_the_module_list_the_same_departments():
    root = etree.parse(str(BPMN / C.BPMN_FILES[1])).getroot()
    (b3,) = [d for d in root.findall("dmn:decision", NS) if d.get("id") == "sg_parallel_depts"]
    assert b3.find("dmn:decisionTable", NS).get("hitPolicy") == "COLLECT"
    names = [o.get("name") for o in b3.iter(f"{{{NS['dmn']}}}output")]
    rows = []
    for rule in b3.iter(f"{{{NS['dmn']}}}rule"):
        values = [json.loads(e.find("dmn:text", NS).text) for e in rule.findall("dmn:outputEntry", NS)]
        row = dict(zip(names, values))
        rows.append((row["dept"], row["deptName"], row["group"], row["promiseWd"], row["onTimeout"], row["lead"]))
    assert rows == [(d.code, d.name, d.group, d.promise_wd, d.on_timeout, d.lead) for d in C.PARALLEL_DEPARTMENTS]
    assert {d.group for d in C.PARALLEL_DEPARTMENTS} <= set(C.DEPARTMENTS)


def test_the_item_is_in_the_registry_with_its_limits_and_materials():
    item = next(i for i in registry() if i.key == C.KEY)
    assert item is C.CONSTRUCTION_ITEM and item.limits == {"promised": "10wd", "legal": "45wd"}
    assert (BPMN / item.bpmn).is_file()
    gap = [m.name for m in item.materials if m.gap_allowed]
    assert gap == ["施工图设计文件审查合格书或审图承诺书", "危险性较大的分部分项工程清单及安全管理措施"]
    checklist = {m["key"]: m for m in C.material_checklist(C.sample_application("special"))}
    assert checklist["award"]["status"] == "waived" and checklist["fire_design"]["status"] == "conditional"
    assert {m["key"]: m for m in C.material_checklist(C.sample_application("special", specialFire=True))}[
        "fire_design"]["status"] == "required"
    assert checklist["lightning_design"]["status"] == "not_needed" and checklist["land"]["status"] == "waived"
    other = {m["key"]: m["status"] for m in C.material_checklist(C.sample_application(
        "ordinary", projectCode="2026-330106-47-01-100002"))}
    assert other["drawing_review"] == "gap_allowed" and other["fire_design"] == "conditional"
    assert other["lightning_design"] == "not_needed" and other["power_of_attorney"] == "not_needed"
    assert C.check_application(C.sample_application("special")) == {}
    assert set(C.check_application({"deliveryMethod": "mail", "floorArea": -1})) >= {
        "projectCode", "floorArea", "applicantAddress"}


@pytest.mark.parametrize(("variant", "groups"), [
    ("special", {"housing", "housing_fire", "civil_defense"}),
    ("ordinary", {"housing"}),
    ("offsite", {"housing", "civil_defense"}),
    ("lightning", {"housing", "housing_fire", "meteorology"}),
])
def test_tables_b1_b2_b3_choose_the_departments(eng, clock, variant, groups):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), variant)
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    assert {g for (_k, g) in _open(eng, case.id)} == groups
    v = eng.runtime.variables(case.id)
    assert v["needPermit"] == "REQUIRED"
    assert v["specialFire"] is (variant in ("special", "lightning"))
    if variant == "offsite":
        assert [d["dept"] for d in v["depts"]] == ["housing_permit", "civil_defense_offsite"]


def test_a_small_project_needs_no_permit_and_is_told_so(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "small")
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    assert C.run_handlers(eng) == ["construction-notify-applicant"]
    inst = eng.runtime.instance(case.id)
    assert inst.state == "COMPLETED"
    v = eng.runtime.variables(case.id)
    assert v["needPermit"] == "EXEMPT" and v["noticeNo"] == "GZ-SG-2026-0001-exempt"
    assert eng.cases.clock(case.id).state == "STOPPED"


# --- happy path before the National Day holiday --------------------------------------------------------------
def test_happy_path_accepted_just_before_national_day(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0))
    assert eng.cases.clock(case.id).state == "WAITING"  # received, not accepted: the clock does not run
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))  # Wednesday; 10-01..10-07 National Day
    c = eng.cases.clock(case.id)
    assert (c.state, c.accepted_at) == ("RUNNING", at(2026, 9, 30, 10, 0))
    # 10 wd: 10-08, 09, Sat 10 (调休), 12, 13, 14, 15, 16, 19, 20
    assert c.promised_due == at(2026, 10, 20, 17, 30)
    assert c.warn_at == at(2026, 10, 16, 17, 30)  # max(1, ceil(20% of 10)) = 2 wd before
    assert c.legal_due == at(2026, 12, 8, 17, 30)  # 45 wd
    tasks = _open(eng, case.id)
    permit = tasks[("review_escalate", "housing")]
    fire = tasks[("review_escalate", "housing_fire")]
    rf = tasks[("review_deemed", "civil_defense")]
    assert permit.due == at(2026, 10, 9, 17, 30) and permit.follow_up == at(2026, 10, 8, 17, 30)  # 2 wd, warn 1 wd
    assert rf.due == at(2026, 10, 10, 17, 30)  # 3 wd: the 调休 Saturday counts
    assert fire.due == at(2026, 10, 20, 17, 30)  # 10 wd
    clock.set(at(2026, 10, 8, 11, 0))
    _review(eng, permit, "housing1")
    _review(eng, rf, "rf1")
    clock.set(at(2026, 10, 15, 15, 0))
    _review(eng, fire, "fire1", "agree", "消防设计符合规范")
    (lead,) = eng.tasks.list(instance_id=case.id)
    assert lead.task_definition_key == "lead_decision" and lead.due == at(2026, 10, 16, 17, 30)
    v = eng.runtime.variables(case.id)
    assert v["opinionSummary"] == ("住建局（施工许可，牵头）：同意；住建局（消防设计审查）：同意，消防设计符合规范；"
                                   "人防办（防空地下室结建核准）：同意")
    assert not v["anyDisagree"] and "names" not in v
    clock.set(at(2026, 10, 16, 9, 30))
    eng.tasks.complete(lead.id, "housing_lead", {"decision": "approve", "decisionReason": ""})
    assert C.run_handlers(eng) == ["construction-issue-permit"]
    c = eng.cases.clock(case.id)
    assert (c.state, c.stopped_at, c.signal) == ("STOPPED", at(2026, 10, 16, 9, 30), "ON_TIME")  # issued in time
    v = eng.runtime.variables(case.id)
    region = eng.services.settings.region_code
    assert v["permitNo"].startswith(f"{region}20261016") and len(v["permitNo"]) == 22
    (pickup,) = eng.tasks.list(instance_id=case.id)
    assert pickup.task_definition_key == "deliver_window"
    assert pickup.due == at(2026, 10, 30, 17, 30)  # §44: 10 wd to hand the certificate over
    clock.set(at(2026, 10, 19, 10, 0))
    eng.tasks.complete(pickup.id, "clerk1")
    assert eng.runtime.instance(case.id).state == "COMPLETED"
    (stopped,) = _events(eng, case.id, "CaseClockStopped")
    assert stopped.payload["onTime"] is True


def test_mail_delivery_hands_the_permit_to_ems(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "ordinary", deliveryMethod="mail",
                  applicantAddress="杭州市滨江区网商路699号")
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    (permit,) = eng.tasks.list(instance_id=case.id)
    _review(eng, permit, "housing1")
    (lead,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(lead.id, "housing_lead", {"decision": "approve"})
    assert C.run_handlers(eng) == ["construction-issue-permit", "construction-ems-handover"]
    v = eng.runtime.variables(case.id)
    assert v["emsNo"].startswith("EA") and v["emsNo"].endswith("CN") and len(v["emsNo"]) == 13
    assert eng.runtime.instance(case.id).state == "COMPLETED"


# --- 补正 --------------------------------------------------------------------------------------------------------
def test_supplement_before_acceptance_keeps_the_clock_waiting_around_the_spring_festival(eng, clock):
    # project 100002: the drawing review certificate is not in the shared database yet
    case = _apply(eng, clock, at(2026, 2, 11, 15, 0), "ordinary", projectCode="2026-330106-47-01-100002")
    v = eng.runtime.variables(case.id)
    assert v["preconditionsOk"] is False and v["missingPreconditions"] == ["施工图审查合格书"]
    clock.set(at(2026, 2, 12, 10, 0))
    (intake,) = eng.tasks.list(instance_id=case.id)
    assert intake.due == at(2026, 2, 25, 17, 30)  # 5 wd (§32) from receipt on 02-11: 12, 13, Sat 14, 24, 25
    eng.tasks.complete(intake.id, "clerk1", {"accepted": False, "supplementNeeded": True,
                                             "intakeNote": "请补交施工图设计文件审查合格书或签署审图承诺书"})
    assert eng.cases.clock(case.id).state == "WAITING"
    timer = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "timer"]
    assert [(j.activity_id, j.due) for j in timer] == [("supplement_deadline", at(2026, 3, 18, 17, 30))]  # 20 wd
    clock.set(at(2026, 2, 25, 9, 0))  # after the holiday
    eng.runtime.correlate(C.SUPPLEMENT_MESSAGE, business_key="SG-2026-0001",
                          variables={"drawingReviewCertNo": "施审（2026）第0131号"})
    assert C.run_handlers(eng) == ["construction-precheck"]
    assert eng.runtime.variables(case.id)["preconditionsOk"] is True
    assert eng.cases.clock(case.id).state == "WAITING"
    timers = {(j.activity_id, j.state): j.due for j in eng.jobs.list(states=("CANCELLED", "DONE", "PENDING"),
                                                                      instance_id=case.id) if j.job_type == "timer"}
    assert ("supplement_deadline", "CANCELLED") in timers and ("supplement_deadline", "PENDING") not in timers
    # the window's five days start again from the resubmission: 02-26, 27, Sat 28, 03-02, 03
    assert timers[("intake_deadline", "PENDING")] == at(2026, 3, 3, 17, 30)
    _accept(eng, clock, case, at(2026, 2, 26, 10, 0))  # 受理日 = the day of the complete materials' acceptance
    c = eng.cases.clock(case.id)
    assert c.accepted_at == at(2026, 2, 26, 10, 0)
    assert c.promised_due == at(2026, 3, 11, 17, 30)  # 02-27, Sat 02-28 (调休), 03-02..06, 09, 10, 11
    (permit,) = eng.tasks.list(instance_id=case.id)
    assert permit.due == at(2026, 2, 28, 17, 30)  # 2 wd: 02-27 and Saturday 02-28 (调休)


def test_supplement_not_delivered_in_time_returns_the_application(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "ordinary", projectCode="2026-330106-47-01-100002")
    clock.set(at(2026, 4, 1, 10, 0))
    (intake,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(intake.id, "clerk1", {"accepted": False, "supplementNeeded": True, "intakeNote": "补审图"})
    # 20 wd from 04-01 over Qingming (04-04..06) and Labour Day (05-01..05; Saturday 05-09 works)
    (timer,) = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "timer"]
    assert timer.due == at(2026, 4, 30, 17, 30)
    _fire_due(eng, clock, at(2026, 4, 30, 17, 29))
    assert eng.runtime.instance(case.id).state == "ACTIVE"
    _fire_due(eng, clock, at(2026, 4, 30, 17, 31))
    assert eng.runtime.instance(case.id).state == "COMPLETED"
    c = eng.cases.clock(case.id)
    assert c.state != "RUNNING" and c.accepted_at is None  # never accepted: 退件 without a clock
    assert eng.tasks.list(instance_id=case.id) == []


def test_supplement_after_acceptance_suspends_the_clock_and_moves_the_deadlines(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "ordinary")
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))  # promised 10 wd → 04-16
    assert eng.cases.clock(case.id).promised_due == at(2026, 4, 16, 17, 30)
    (permit,) = eng.tasks.list(instance_id=case.id)
    assert permit.due == at(2026, 4, 3, 17, 30)  # 2 wd: 04-02, 04-03
    clock.set(at(2026, 4, 2, 10, 0))
    c = eng.tasks.request_correction(permit.id, materials=["危险性较大的分部分项工程清单"],
                                     reason="安全管理措施缺少深基坑专项方案", expected_days=5, user_id="housing1")
    assert (c.state, c.suspensions[-1]["kind"]) == ("SUSPENDED", "supplement")
    assert eng.tasks.pending_correction(case.id) is not None
    clock.set(at(2026, 4, 7, 18, 0))  # past the task's due time: nothing fires while suspended
    eng.jobs.execute_due()
    assert not _events(eng, case.id, "TaskOverdue") and eng.tasks.task(permit.id).state == "ACTIVE"
    clock.set(at(2026, 4, 8, 9, 0))
    c = eng.tasks.correction_received(permit.id, user_id="clerk1", note="已补交专项方案")
    assert c.state == "RUNNING" and c.suspended_days == 4  # 04-02, 03, 07, 08 (Qingming 04-04..06)
    assert c.promised_due == at(2026, 4, 22, 17, 30)  # 04-16 + 4 wd
    assert eng.tasks.task(permit.id).due == at(2026, 4, 10, 17, 30)  # 04-03 + 4 wd: 07, 08, 09, 10
    _review(eng, eng.tasks.task(permit.id), "housing1")
    assert eng.tasks.list(instance_id=case.id)[0].task_definition_key == "lead_decision"


# --- timeout policies ----------------------------------------------------------------------------------------
def test_civil_defense_timing_out_is_deemed_approved(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0))
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    tasks = _open(eng, case.id)
    _review(eng, tasks[("review_escalate", "housing")], "housing1")
    rf = tasks[("review_deemed", "civil_defense")]
    assert rf.due == at(2026, 10, 10, 17, 30)
    _fire_due(eng, clock, at(2026, 10, 10, 17, 29))
    assert eng.tasks.task(rf.id).state == "ACTIVE"  # a minute before: still open (the warning fired the day before)
    assert [e.task_id for e in _events(eng, case.id, "TaskDeadlineWarning")].count(rf.id) == 1
    _fire_due(eng, clock, at(2026, 10, 10, 17, 31))
    done = eng.tasks.task(rf.id)
    assert done.state == "COMPLETED" and done.deemed and done.completed_by == "system"
    (deemed,) = _events(eng, case.id, "TaskDeemedApproved")
    assert "超时默认同意" in deemed.payload["reason"]
    open_now = _open(eng, case.id)
    formal = [t for (k, _g), t in open_now.items() if k == "review_deemed__formalOpinion"]
    assert len(formal) == 1 and formal[0].name.startswith("出具正式意见")
    assert formal[0].due == at(2026, 10, 12, 17, 30)  # 1 wd after Saturday 10-10
    assert ("review_escalate", "housing_fire") in open_now  # the fire review goes on
    _review(eng, open_now[("review_escalate", "housing_fire")], "fire1")
    v = eng.runtime.variables(case.id)
    assert "人防办（防空地下室结建核准）：同意（超时默认同意）" in v["opinionSummary"]
    rows = {d["dept"]: d for d in v["depts"]}
    assert rows["civil_defense"]["deemed"] is True and rows["housing_permit"]["deemed"] is False


def test_civil_defense_escalates_where_the_local_rule_does_not_allow_deemed_approval(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0), rfDeemedAllowed=False)
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    assert ("review_escalate", "civil_defense") in _open(eng, case.id)
    assert not any(k == "review_deemed" for (k, _g) in _open(eng, case.id))


def test_another_department_timing_out_is_escalated_and_stays_open(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0))
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    permit = _open(eng, case.id)[("review_escalate", "housing")]
    assert permit.due == at(2026, 10, 9, 17, 30)
    _fire_due(eng, clock, at(2026, 10, 9, 17, 31))
    assert eng.tasks.task(permit.id).state == "ACTIVE"  # the department still has to answer
    (overdue,) = [e for e in _events(eng, case.id, "TaskOverdue") if e.payload["policy"] == "ESCALATE"]
    assert "2026-10-09" in overdue.payload["reason"]
    (escalation,) = [t for t in eng.tasks.list(instance_id=case.id) if t.task_definition_key.endswith("__escalation")]
    assert escalation.name == "督办：部门审查（超时督办）（已超期）"
    assert [link.group_id for link in eng.tasks.identity_links(escalation.id)] == ["supervisor"]
    assert escalation.due == at(2026, 10, 10, 17, 30)  # 1 wd: the 调休 Saturday
    assert not _events(eng, case.id, "TaskDeemedApproved")
    assert eng.cases.clock(case.id).signal == "ON_TIME"  # the department is late, the case is not (yet)


# --- expert review: a clock suspension ------------------------------------------------------------------------
def test_expert_review_suspends_the_clock_and_moves_every_deadline(eng, clock):
    case = _apply(eng, clock, at(2026, 3, 31, 16, 0), specialFireDesign=True)  # 特殊消防设计: experts review it
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))  # domain.md §1.6: 10 wd → 04-16
    c = eng.cases.clock(case.id)
    assert c.promised_due == at(2026, 4, 16, 17, 30) and c.legal_due == at(2026, 6, 8, 17, 30)
    tasks = _open(eng, case.id)
    fire = tasks[("review_escalate", "housing_fire")]
    assert fire.due == at(2026, 4, 16, 17, 30)
    clock.set(at(2026, 4, 2, 11, 0))
    _review(eng, tasks[("review_escalate", "housing")], "housing1")
    _review(eng, tasks[("review_deemed", "civil_defense")], "rf1")
    clock.set(at(2026, 4, 8, 10, 0))
    eng.runtime.correlate(C.EXPERT_START_MESSAGE, business_key="SG-2026-0001",
                          variables={"expertReviewReason": "超限高层消防设计专家评审", "expertExpectedDays": 5})
    assert C.run_handlers(eng) == ["onewindow-clock-suspend"]
    c = eng.cases.clock(case.id)
    assert c.state == "SUSPENDED"
    assert (c.suspensions[-1]["kind"], c.suspensions[-1]["reason"]) == ("expert-review", "超限高层消防设计专家评审")
    assert eng.tasks.task(fire.id).state == "ACTIVE"  # the fire review stays open with the department
    clock.set(at(2026, 4, 17, 9, 0))  # past the original deadline: nothing fires while suspended
    eng.jobs.execute_due()
    assert not _events(eng, case.id, "TaskOverdue") and not _events(eng, case.id, "CaseOverdue")
    clock.set(at(2026, 4, 14, 15, 0))  # the expert report arrives
    eng.runtime.correlate(C.EXPERT_REPORT_MESSAGE, business_key="SG-2026-0001",
                          variables={"expertReportNo": "ZJPS-2026-017"})
    assert C.run_handlers(eng) == ["onewindow-clock-resume"]
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.suspended_days == 5  # 04-08, 09, 10, 13, 14
    assert c.promised_due == at(2026, 4, 23, 17, 30)  # domain.md §1.6: 04-16 + 5 wd
    assert c.legal_due == at(2026, 6, 15, 17, 30)  # 50 wd
    assert eng.tasks.task(fire.id).due == at(2026, 4, 23, 17, 30)  # the department's limit moved too
    timeouts = sorted(j.due for j in eng.jobs.list(instance_id=case.id) if j.job_type == "task-timeout")
    assert timeouts == [at(2026, 4, 23, 17, 30)]  # the fire review's timeout job moved with it
    assert eng.cases.clock(case.id).signal == "ON_TIME"
    clock.set(at(2026, 4, 21, 10, 0))
    _review(eng, eng.tasks.task(fire.id), "fire1", "agree", "按专家评审意见修改后符合要求")
    (lead,) = eng.tasks.list(instance_id=case.id)
    assert lead.task_definition_key == "lead_decision" and lead.due == at(2026, 4, 22, 17, 30)
    assert eng.runtime.variables(case.id)["expertReportNo"] == "ZJPS-2026-017"


# --- rejection and withdrawal --------------------------------------------------------------------------------
def test_lead_department_refuses_after_a_department_disagrees(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "lightning")
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    tasks = _open(eng, case.id)
    _review(eng, tasks[("review_escalate", "housing")], "housing1")
    _review(eng, tasks[("review_escalate", "housing_fire")], "fire1")
    _review(eng, tasks[("review_escalate", "meteorology")], "qx1", "disagree", "防雷装置设计不符合GB 50057要求")
    v = eng.runtime.variables(case.id)
    assert v["anyDisagree"] is True and "气象局（防雷装置设计审核）：不同意，防雷装置设计不符合GB 50057要求" in v["opinionSummary"]
    (lead,) = eng.tasks.list(instance_id=case.id)
    clock.set(at(2026, 4, 3, 10, 0))
    eng.tasks.complete(lead.id, "housing_lead", {"decision": "deny", "decisionReason": "防雷装置设计审核未通过"})
    (notice,) = eng.tasks.list(instance_id=case.id)
    assert notice.task_definition_key == "notify_denial" and notice.due == at(2026, 4, 20, 17, 30)  # 10 wd
    assert C.run_handlers(eng) == []  # no permit is issued
    eng.tasks.complete(notice.id, "clerk1")
    assert eng.runtime.instance(case.id).state == "COMPLETED"
    assert "permitNo" not in eng.runtime.variables(case.id)
    assert eng.cases.clock(case.id).state == "STOPPED"


def test_a_disagreement_without_reasons_counts_as_agreement(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "offsite")
    _accept(eng, clock, case, at(2026, 4, 1, 10, 0))
    tasks = _open(eng, case.id)
    _review(eng, tasks[("review_escalate", "housing")], "housing1")
    _review(eng, tasks[("review_escalate", "civil_defense")], "rf1", "disagree", "")
    v = eng.runtime.variables(case.id)
    rows = {d["dept"]: d for d in v["depts"]}
    assert rows["civil_defense_offsite"]["opinion"] == "agree"
    assert rows["civil_defense_offsite"]["note"] == "不同意但未说明理由，视为同意"
    assert v["anyDisagree"] is False


def test_no_supplement_notice_within_five_working_days_counts_as_accepted_from_receipt(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 28, 10, 0))  # Monday; nobody at the window handles it
    (intake,) = eng.tasks.list(instance_id=case.id)
    (timer,) = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "timer"]
    assert timer.due == at(2026, 10, 10, 17, 30)  # 5 wd (§32): 09-29, 09-30, 10-08, 10-09, Saturday 10-10 (调休)
    _fire_due(eng, clock, at(2026, 10, 10, 17, 29))
    assert eng.cases.clock(case.id).state == "WAITING"
    _fire_due(eng, clock, at(2026, 10, 10, 17, 31))
    assert eng.tasks.task(intake.id).state != "ACTIVE"
    c = eng.cases.clock(case.id)
    assert (c.state, c.accepted_at) == ("RUNNING", at(2026, 9, 28, 10, 0))  # accepted from the day of receipt
    assert c.promised_due == at(2026, 10, 16, 17, 30)  # 10 wd from 09-28: 09-29, 30, 10-08, 09, 10, 12..16
    assert eng.runtime.variables(case.id)["deemedAccepted"] is True
    permit = _open(eng, case.id)[("review_escalate", "housing")]
    assert permit.due == at(2026, 10, 13, 17, 30)  # the department's 2 wd count from its task: 10-12, 10-13


def test_window_rejects_at_intake(eng, clock):
    case = _apply(eng, clock, at(2026, 4, 1, 9, 0), "ordinary")
    clock.set(at(2026, 4, 1, 10, 0))
    (intake,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(intake.id, "clerk1", {"accepted": False, "supplementNeeded": False,
                                             "intakeNote": "不属于本中心受理范围（市政基础设施由市级受理）"})
    assert eng.runtime.instance(case.id).state == "COMPLETED"
    assert eng.cases.clock(case.id).state != "RUNNING" and eng.cases.clock(case.id).accepted_at is None


def test_withdrawal_ends_the_case_and_its_open_reviews(eng, clock):
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0))
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    assert len(eng.tasks.list(instance_id=case.id)) == 3
    clock.set(at(2026, 10, 8, 10, 0))
    eng.runtime.terminate(case.id, reason="申请人撤回：建设单位调整设计方案", actor="clerk1")
    assert eng.runtime.instance(case.id).state == "TERMINATED"
    assert eng.tasks.list(instance_id=case.id) == []
    c = eng.cases.clock(case.id)
    assert (c.state, c.stopped_at) == ("STOPPED", at(2026, 10, 8, 10, 0))
    pending = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type in ("task-timeout", "task-warning")]
    assert pending == []  # the reviews' deadline jobs went with them
    with pytest.raises(Conflict):
        eng.cases.suspend(case.id, reason="too late", kind="other")


# --- the window's 一窗受理 (engine.intake) -------------------------------------------------------------------------
def test_accepted_at_the_window_goes_straight_to_the_departments(eng, clock):
    clock.set(at(2026, 9, 30, 10, 0))
    item = C.CONSTRUCTION_ITEM
    materials = {k: {"status": "received"} for k, m in zip(item.material_keys(), item.materials) if m.required}
    view = eng.intake.accept(C.KEY, materials=materials, actor="clerk1", applicant={
        "name": "杭州西溪科创投资有限公司", "idNumber": "91330106MA2B3C4D5E", "phone": "13905710001",
        "delivery": "pickup"})
    assert view.promised_due == at(2026, 10, 20, 17, 30)
    assert C.run_handlers(eng) == ["construction-precheck"]  # project data shared from the 工改 system
    tasks = _open(eng, view.instance_id)
    assert set(tasks) == {("review_escalate", "housing"), ("review_escalate", "housing_fire"),
                          ("review_deemed", "civil_defense")}
    assert eng.cases.clock(view.instance_id).accepted_at == at(2026, 9, 30, 10, 0)


# --- what a supervisor sees -----------------------------------------------------------------------------------
def test_an_overdue_case_shows_why_it_is_late_on_the_case_page(eng, clock, web_app):
    eng.identity.add_user("fire1", PASSWORD, name="消防审查一", groups=["housing_fire"], roles=["reviewer"],
                          create_groups=True, actor="test")
    case = _apply(eng, clock, at(2026, 9, 29, 16, 0))
    _accept(eng, clock, case, at(2026, 9, 30, 10, 0))
    tasks = _open(eng, case.id)
    clock.set(at(2026, 10, 8, 11, 0))
    _review(eng, tasks[("review_deemed", "civil_defense")], "rf1")
    _fire_due(eng, clock, at(2026, 10, 21, 9, 0))  # past the promised 10-20 17:30: the case and two reviews are late
    assert eng.cases.clock(case.id).signal == "OVERDUE"
    client = login(web_app.test_client(), "boss")
    page = client.get("/cases/SG-2026-0001")
    assert page.status_code == 200, page.text
    html = page.text
    assert "2026-10-20 17:30" in html  # the promised date that passed
    assert "督办：部门审查（超时督办）（已超期）" in html  # the escalations the late reviews caused
    marks = json.loads(html.split('id="ow-highlights">', 1)[1].split("</script>", 1)[0])
    assert "review_escalate" in marks["overdue"] and "review_deemed" in marks["completed"]
    reviewer = login(web_app.test_client(), "fire1")
    form = reviewer.get(f"/tasks/{tasks[('review_escalate', 'housing_fire')].id}")
    assert form.status_code == 200 and "需补正" in form.text and "不同意" in form.text
