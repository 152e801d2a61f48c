"""A full approval driven only through pycamunda 0.6.1 over real HTTP: deploy the Camunda Modeler diagram, start
with a business key, work the candidate-group inboxes (claim, complete with variables), see the case end in
history. pycamunda indexes the JSON keys it reads, so a missing key fails here."""

from __future__ import annotations

from pathlib import Path

import pycamunda.deployment
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pytest

DIAGRAM = Path(__file__).resolve().parents[2] / "bpmn" / "sample" / "sample_parallel_approval.bpmn"


class HistoricProcessInstances(pycamunda.base.CamundaRequest):
    """pycamunda 0.6.1 has no history module: its own request machinery, pointed at /history/process-instance."""

    business_key = pycamunda.request.QueryParameter("processInstanceBusinessKey")

    def __init__(self, url: str, business_key: str) -> None:
        super().__init__(url=url + "/history/process-instance")
        self.business_key = business_key

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().__call__(pycamunda.base.RequestMethod.GET, *args, **kwargs).json()


def _only_task(url: str, group: str, key: str) -> pycamunda.task.Task:
    tasks = pycamunda.task.GetList(url, candidate_group=group, process_instance_business_key=key)()
    assert len(tasks) == 1, [t.task_definition_key for t in tasks]
    return tasks[0]


def _claim_and_complete(url: str, group: str, user: str, key: str, **variables: object) -> str:
    task = _only_task(url, group, key)
    pycamunda.task.Claim(url, task.id_, user_id=user)()
    assert pycamunda.task.Get(url, task.id_)().assignee == user
    assert pycamunda.task.GetList(url, candidate_group=group, process_instance_business_key=key)() == ()
    complete = pycamunda.task.Complete(url, task.id_)
    for name, value in variables.items():
        complete.add_variable(name, value)
    complete()
    return task.task_definition_key


def test_full_approval_through_pycamunda(live):
    url = live.rest
    create = pycamunda.deployment.Create(url, name="一窗通办 sample", enable_duplicate_filtering=True)
    create.add_resource(("sample_parallel_approval.bpmn", DIAGRAM.read_bytes()))
    deployed = create()
    [definition] = deployed.deployed_process_definitions.values()
    assert definition.key == "sample_parallel_approval" and definition.version == 1
    assert pycamunda.deployment.Get(url, deployed.id_)().name == "一窗通办 sample"

    again = pycamunda.deployment.Create(url, name="一窗通办 sample", enable_duplicate_filtering=True)
    again.add_resource(("sample_parallel_approval.bpmn", DIAGRAM.read_bytes()))
    redeployed = again()
    assert redeployed.deployed_process_definitions is None and redeployed.id_ == deployed.id_  # nothing new

    latest = pycamunda.processdef.Get(url, key="sample_parallel_approval")()
    assert latest.id_ == definition.id_
    start = pycamunda.processdef.StartInstance(url, key="sample_parallel_approval", business_key="ZW-2026-0001")
    start.add_variable("applicant", "张三")
    start.add_variable("amount", 1200)
    instance = start()
    assert instance.business_key == "ZW-2026-0001" and not instance.suspended
    [listed] = pycamunda.processinst.GetList(url, business_key="ZW-2026-0001")()
    assert listed.id_ == instance.id_
    tree = pycamunda.processinst.GetActivityInstance(url, instance.id_)()
    assert [c.activity_id for c in tree.child_activity_instances] == ["intake"]

    assert _claim_and_complete(url, "window", "clerk1", "ZW-2026-0001", accepted=True) == "intake"
    for group, flag in (("market", "marketApproved"), ("fire", "fireApproved"), ("environment", "envApproved")):
        _claim_and_complete(url, group, f"{group}-reviewer", "ZW-2026-0001", **{flag: True})
    assert _claim_and_complete(url, "window", "clerk1", "ZW-2026-0001") == "deliver"

    assert pycamunda.processinst.GetList(url, business_key="ZW-2026-0001")() == ()
    with pytest.raises(pycamunda.NotFound):
        pycamunda.processinst.Get(url, instance.id_)()
    [historic] = HistoricProcessInstances(url, "ZW-2026-0001")()
    assert historic["state"] == "COMPLETED" and historic["endTime"] is not None
    assert historic["id"] == instance.id_ and historic["durationInMillis"] >= 0


def test_claim_of_a_claimed_task_through_pycamunda(live):
    url = live.rest
    create = pycamunda.deployment.Create(url, name="sample")
    create.add_resource(("sample_parallel_approval.bpmn", DIAGRAM.read_bytes()))
    create()
    pycamunda.processdef.StartInstance(url, key="sample_parallel_approval", business_key="ZW-2")()
    task = _only_task(url, "window", "ZW-2")
    pycamunda.task.Claim(url, task.id_, user_id="clerk1")()
    with pytest.raises(pycamunda.NoSuccess) as err:
        pycamunda.task.Claim(url, task.id_, user_id="clerk2")()
    assert "TaskAlreadyClaimedException" in str(err.value) and "clerk1" in str(err.value)
