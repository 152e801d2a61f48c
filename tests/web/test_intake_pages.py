"""/intake (一窗受理) with the Flask test client on a real engine: a clerk accepts with the promised date on the
receipt; 一次性告知 → 补正 → accept (the clock starts at acceptance); 容缺受理 with its follow-up task; 不予受理
needs a reason; validation messages keep the values; uploads stored by hash; access (reviewer 403) and CSRF."""

from __future__ import annotations

import hashlib
import html
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from processes import SAMPLE_ITEM
from tests.web.conftest import login, token

BJ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
ITEM = SAMPLE_ITEM.key
KEYS = SAMPLE_ITEM.material_keys()
APPLICANT = {"applicant_name": "杭州示例科技有限公司", "applicant_id_number": "91330100MA2XXXXX1K",
             "applicant_phone": "13800001234", "applicant_address": "杭州市上城区示例路1号", "delivery": "pickup"}
NEW = f"/intake/new/{ITEM}"


@pytest.fixture(autouse=True)
def sample(web):  # type: ignore[no-untyped-def]
    path = ROOT / "bpmn" / SAMPLE_ITEM.bpmn
    web.repository.deploy([(path.name, path.read_bytes())])
    return web


def form(*missing: str, **extra: str) -> dict[str, str]:
    data = {f"status_{k}": "received" for k in KEYS}
    data.update({f"status_{k}": "missing" for k in missing})
    data.update(APPLICANT)
    data.update(extra)
    return data


def submit(client, path: str, data: dict, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": token(client, path), **data}, **kwargs)


def number_of(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r"/intake/a/([^/?\"]+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def test_clerk_sees_the_nav_link_and_the_items(client):
    login(client, "c1")
    page = client.get("/intake").get_data(as_text=True)
    assert 'id="nav-intake"' in page and "窗口受理" in page
    assert SAMPLE_ITEM.name in page and f'id="start-{ITEM}"' in page
    body = client.get(NEW).get_data(as_text=True)
    for m in SAMPLE_ITEM.materials:
        assert m.name in body
    for action in ("accept", "notify", "gap", "reject"):
        assert f'name="action" value="{action}" id="btn-{action}"' in body
    assert 'name="csrf_token"' in body


def test_accept_prints_the_receipt_with_the_promised_date(client, web, clock):
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=BJ))  # just before the National Day holiday
    login(client, "c1")
    done = submit(client, NEW, form(action="accept"))
    assert done.status_code == 302
    number = number_of(done)
    assert number == "330100-20260930-0001"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已受理" in page and 'id="print-receipt"' in page
    receipt = client.get(f"/intake/a/{number}/receipt").get_data(as_text=True)
    assert number in receipt
    assert re.search(r'id="promised-due"><strong>2026年10月20日</strong>', receipt)  # 10 working days
    assert "20 个工作日" in receipt and "2026年11月03日" in receipt  # the legal limit
    assert "@media print" in (ROOT / "web" / "static" / "css" / "intake.css").read_text()
    app = web.intake.application(number)
    assert app.created_by == "c1" and web.cases.clock(number).state == "RUNNING"


def test_notify_then_supplement_then_accept(client, web, clock):
    login(client, "c1")
    done = submit(client, NEW, form("business_license", action="notify"))
    assert done.status_code == 302
    number = number_of(done)
    assert web.runtime.instances(business_key=number) == []
    notice = client.get(f"/intake/a/{number}/notice").get_data(as_text=True)
    assert "营业执照复印件" in notice and "申请表" not in notice.split('id="notice-items"')[1]
    pending = client.get("/intake?tab=pending").get_data(as_text=True)
    assert number in pending and f'id="supplement-{number}"' in pending

    clock.advance(days=2)  # Wednesday 2026-03-04
    page = client.get(f"/intake/a/{number}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert 'value="supplement" id="btn-supplement"' in page
    supplied = submit(client, f"/intake/a/{number}", {**form(), "version": version, "action": "supplement"})
    assert supplied.status_code == 302
    assert web.intake.application(number).state == "NOTIFIED"
    page = client.get(f"/intake/a/{number}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    accepted = submit(client, f"/intake/a/{number}", {**form(), "version": version, "action": "accept"})
    assert accepted.status_code == 302
    clock_view = web.cases.clock(number)
    assert clock_view.accepted_at == datetime(2026, 3, 4, 9, 30, tzinfo=BJ)
    assert clock_view.promised_due == datetime(2026, 3, 18, 17, 30, tzinfo=BJ)
    again = submit(client, f"/intake/a/{number}", {**form(), "version": version, "action": "accept"})
    assert again.status_code == 409 and "已办理" in again.get_data(as_text=True)
    assert len(web.runtime.instances(business_key=number)) == 1


def test_accept_with_a_missing_material_keeps_the_values_and_says_what_is_missing(client, web):
    login(client, "c1")
    data = form("business_license", action="accept")
    data["remark_application_form"] = "已核对原件"
    refused = submit(client, NEW, data)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "营业执照复印件" in body and 'id="form-error"' in body
    assert 'class="material has-error" data-material="business_license"' in body
    assert 'class="material" data-material="application_form"' in body
    assert 'value="杭州示例科技有限公司"' in body and 'value="已核对原件"' in body
    assert 'id="status-business_license-missing" value="missing" checked' in body
    assert web.intake.count() == 0


def test_applicant_validation_messages_next_to_the_fields(client, web):
    login(client, "c1")
    refused = submit(client, NEW, form(action="accept", applicant_phone="12345", delivery="mail",
                                       applicant_address=""))
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "不是手机号" in body and "EMS邮寄时必须填写送达地址" in body
    assert 'value="12345"' in body and 'id="delivery-mail" value="mail" checked' in body
    assert web.intake.count() == 0


def test_gap_acceptance_and_its_follow_up_task(client, web):
    login(client, "c1")
    refused = submit(client, NEW, form("site_proof", action="gap"))
    assert refused.status_code == 422 and "容缺受理必须填写承诺补齐日期" in refused.get_data(as_text=True)
    not_allowed = submit(client, NEW, form("business_license", action="gap", commitment_due="2026-03-10"))
    assert not_allowed.status_code == 422 and "不允许容缺受理" in not_allowed.get_data(as_text=True)
    done = submit(client, NEW, form("site_proof", action="gap", commitment_due="2026-03-10"))
    assert done.status_code == 302
    app = web.intake.application(number_of(done))
    assert app.outcome == "gap" and app.commitment["due"] == "2026-03-10"
    task = web.tasks.task(app.follow_up_task_id)
    assert task.origin == "intake-gap" and task.state == "ACTIVE"
    receipt = client.get(f"/intake/a/{app.number}/receipt").get_data(as_text=True)
    assert 'id="commitment"' in receipt and "场地证明" in receipt and "2026-03-10" in receipt
    # the clerk finds the follow-up task in the window's inbox
    assert app.follow_up_task_id in client.get("/inbox?tab=group").get_data(as_text=True)


def test_reject_needs_a_reason_and_prints_the_notice(client, web):
    login(client, "c1")
    refused = submit(client, NEW, form(action="reject", reason=" "))
    assert refused.status_code == 422 and "不予受理必须填写理由" in refused.get_data(as_text=True)
    assert web.intake.count() == 0
    done = submit(client, NEW, form(action="reject", reason="申请事项不属于本机关职权范围"))
    number = number_of(done)
    refusal = client.get(f"/intake/a/{number}/refusal").get_data(as_text=True)
    assert "不予受理通知书" in refusal and "申请事项不属于本机关职权范围" in refusal
    assert client.get(f"/intake/a/{number}/receipt").status_code == 404  # no receipt for a refusal


def test_uploads_are_stored_by_hash(client, web, tmp_path):
    login(client, "c1")
    content = "申请表 PDF".encode()
    data = form("business_license", action="notify")
    data["file_application_form"] = (io.BytesIO(content), "申请表.pdf")
    done = submit(client, NEW, data, content_type="multipart/form-data")
    assert done.status_code == 302
    digest = hashlib.sha256(content).hexdigest()
    assert (tmp_path / "materials" / digest).read_bytes() == content
    app = web.intake.application(number_of(done))
    files = {m["key"]: m["files"] for m in app.materials}["application_form"]
    assert files == [{"name": "申请表.pdf", "sha256": digest, "size": len(content), "contentType": files[0]["contentType"]}]


def test_a_refused_submission_keeps_its_uploads(client, web, tmp_path):
    login(client, "c1")
    content = b"license scan"
    data = form("business_license", action="accept")
    data["file_application_form"] = (io.BytesIO(content), "scan.pdf")
    refused = submit(client, NEW, data, content_type="multipart/form-data")
    assert refused.status_code == 422
    kept = re.search(r"name=\"kept_application_form\" value='([^']*)'", refused.get_data(as_text=True)).group(1)
    done = submit(client, NEW, {**form("business_license", action="notify"), "kept_application_form": html.unescape(kept)})
    app = web.intake.application(number_of(done))
    files = {m["key"]: m["files"] for m in app.materials}["application_form"]
    assert [f["sha256"] for f in files] == [hashlib.sha256(content).hexdigest()]


@pytest.mark.parametrize("user", ["m1", "lead", "boss", "nobody"])
def test_only_clerks_and_admins_may_use_intake(client, user):
    login(client, user)
    assert client.get("/intake").status_code == 403
    assert client.get(NEW).status_code == 403
    assert 'id="nav-intake"' not in client.get("/inbox").get_data(as_text=True)
    refused = client.post(NEW, data={"csrf_token": token(client, "/inbox"), **form(action="accept")})
    assert refused.status_code == 403


def test_admin_may_use_intake_and_anonymous_goes_to_login(client):
    assert client.get("/intake").status_code == 302
    login(client, "root")
    assert client.get("/intake").status_code == 200


def test_csrf_refused(client, web):
    login(client, "c1")
    refused = client.post(NEW, data=form(action="accept"))
    assert refused.status_code == 400
    assert web.intake.count() == 0


def test_unknown_item_and_application_are_404(client):
    login(client, "c1")
    assert client.get("/intake/new/nope").status_code == 404
    assert client.get("/intake/a/330100-20260302-9999").status_code == 404


def test_the_applicant_finds_the_accepted_case_on_the_public_status_page(client, clock):
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=BJ))
    login(client, "c1")
    number = number_of(submit(client, NEW, form(action="accept", delivery="mail")))
    found = client.post("/status", data={"csrf_token": token(client, "/status"), "business_key": number,
                                         "phone_last4": "1234"})
    assert found.status_code == 200
    body = found.get_data(as_text=True)
    assert "2026-10-20" in body or "2026年10月20日" in body
    wrong = client.post("/status", data={"csrf_token": token(client, "/status"), "business_key": number,
                                         "phone_last4": "9999"})
    assert wrong.status_code == 404


def test_the_window_records_a_correction_asked_by_a_department_after_acceptance(client, web, clock):
    """要求补正 at a department's task stops the clock; the window lists the case under 已受理待补正 and records
    补正已收到 there: the clock runs again and the deadlines move by the working days it waited."""
    login(client, "c1")
    number = number_of(submit(client, NEW, {**form(), "action": "accept"}))
    case = web.runtime.instances(business_key=number)[0]
    before = web.cases.clock(number).promised_due
    [review] = [t for t in web.tasks.list(instance_id=case.id) if t.task_definition_key == "review_market"]
    web.tasks.request_correction(review.id, reason="营业执照复印件不清晰", materials=["营业执照复印件"], user_id="m1")
    assert web.cases.clock(number).state == "SUSPENDED"
    page = client.get("/intake?tab=corrections").get_data(as_text=True)
    assert f'data-case="{number}"' in page and "营业执照复印件不清晰" in page
    assert 'data-case=' not in client.get("/intake?tab=corrections&q=NOPE").get_data(as_text=True)
    clock.advance(days=7)  # a week later (5 working days) the applicant brings the copy
    r = client.post("/intake/correction-received", data={"csrf_token": token(client, "/intake?tab=corrections"),
                                                         "case": number, "note": "已补交清晰复印件"})
    assert r.status_code == 303
    view = web.cases.clock(number)
    assert view.state == "RUNNING" and view.promised_due > before
    assert f'data-case="{number}"' not in client.get("/intake?tab=corrections").get_data(as_text=True)
    assert any(e.event_type == "CorrectionReceived" and e.actor == "c1" for e in web.history.events(case.id))
    again = client.post("/intake/correction-received", data={"csrf_token": token(client, "/intake?tab=corrections"),
                                                             "case": number}, follow_redirects=True)
    assert "未能登记补正" in again.get_data(as_text=True)  # nothing waits any more: a sentence, nothing changed
    reviewer = client.application.test_client()
    login(reviewer, "m1")
    assert reviewer.post("/intake/correction-received", data={"csrf_token": token(reviewer, "/inbox"),
                                                              "case": number}).status_code == 403
