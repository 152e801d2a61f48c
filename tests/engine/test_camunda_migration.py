"""Camunda 7's own invoice example, unmodified: strict deployment refuses what cannot run; the opt-in lenient mode
runs it end to end, with the DMN decision requirements graph (COLLECT) routing to candidate groups."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DeploymentError
from engine.persistence.models import Deployment
from tests.conftest import fixture_bytes

FILES = ("invoice.v2.bpmn", "reviewInvoice.bpmn", "invoiceBusinessDecisions.dmn")


def _resources():
    return [(n, fixture_bytes("corpus", "camunda", "platform", n)) for n in FILES]


def test_strict_deployment_names_every_unsupported_element(engine):
    with pytest.raises(DeploymentError) as err:
        engine.repository.deploy(_resources())
    found = {(p.element_id, p.message.split(" (")[0].split(" with")[0]) for p in err.value.problems}
    assert ("approveInvoice", "camunda:taskListener") in found
    assert any(eid == "ServiceTask_1" for eid, _ in found)
    assert all(p.file == "invoice.v2.bpmn" and p.line for p in err.value.problems)
    assert engine.executor.read(lambda s: s.scalar(select(func.count()).select_from(Deployment))) == 0


@pytest.mark.parametrize("amount, category, groups", [
    (30.0, "Misc", ("accounting", "sales")),
    (500.0, "Misc", ("management",)),
    (1500.0, "Misc", ("management",)),
    (10.0, "Travel Expenses", ("accounting", "sales")),
])
def test_lenient_invoice_routes_by_dmn_collect(engine, clock, amount, category, groups):
    result = engine.repository.deploy(_resources(), lenient=True)
    assert len(result.warnings) == 3 and any("external task" in w for w in result.warnings)
    case = engine.runtime.start("invoice", variables={"amount": amount, "invoiceCategory": category,
                                                      "creditor": "Great Pizza for Everyone Inc.",
                                                      "invoiceNumber": "GPFE-23232323"})
    (approve,) = engine.tasks.list(instance_id=case.id)
    assert approve.task_definition_key == "approveInvoice" and approve.candidate_groups == groups
    assert approve.due == clock.now() + __import__("datetime").timedelta(weeks=1)  # ${dateTime().plusWeeks(1)...}
    assert engine.runtime.variables(case.id)["approverGroups"] == list(groups)


def test_lenient_invoice_end_to_end_with_external_worker_and_review_call_activity(engine):
    engine.repository.deploy(_resources(), lenient=True)
    variables = {"amount": 30.0, "invoiceCategory": "Misc", "creditor": "c", "invoiceNumber": "1"}
    case = engine.runtime.start("invoice", variables=variables)
    engine.tasks.complete(engine.tasks.list(instance_id=case.id)[0].id, "mary", {"approved": True})
    (prepare,) = engine.tasks.list(instance_id=case.id)
    assert prepare.task_definition_key == "prepareBankTransfer" and prepare.candidate_groups == ("accounting",)
    engine.tasks.complete(prepare.id, "peter")
    # Archive Invoice is camunda:async="true": the completion commits before it, a continuation job starts it
    assert engine.external_tasks.list() == [] and [r.outcome for r in engine.jobs.execute_due()] == ["fired"]
    topic = "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService"
    (job,) = engine.external_tasks.fetch_and_lock("worker-1", [(topic, 60_000)])
    assert engine.external_tasks.fetch_and_lock("worker-2", [(topic, 60_000)]) == []  # locked: invisible
    engine.external_tasks.complete(job.id, "worker-1")
    assert engine.runtime.instance(case.id).state == "COMPLETED"

    rejected = engine.runtime.start("invoice", variables={**variables, "invoiceNumber": "2"})
    engine.tasks.complete(engine.tasks.list(instance_id=rejected.id)[0].id, "mary", {"approved": False})
    (assign,) = engine.tasks.list(instance_id=rejected.id)
    assert (assign.task_definition_key, assign.assignee) == ("assignReviewer", "demo")  # in the called process
    engine.tasks.complete(assign.id, "demo", {"reviewer": "peter"})
    (review,) = engine.tasks.list(instance_id=rejected.id)
    assert (review.task_definition_key, review.assignee) == ("reviewInvoice", "peter")
    engine.tasks.complete(review.id, "peter", {"clarified": False})
    assert engine.runtime.instance(rejected.id).state == "COMPLETED"
