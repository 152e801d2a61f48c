"""A receiveTask waits for its message like a message catch event: a correlation by business key moves it on and
its variables become case variables (SpiffWorkflow gives receive tasks its plain BPMN message definition, which
never equalled the one a correlation sends)."""

from __future__ import annotations

import pytest

from engine.runtime.instances import MessageCorrelationError
from tests.conftest import deploy_fixture


def test_a_receive_task_catches_its_message(engine):
    deploy_fixture(engine, "engine/receive_task.bpmn")
    case = engine.runtime.start("receive_task", business_key="EMS-1")
    other = engine.runtime.start("receive_task", business_key="EMS-2")
    assert engine.runtime.instance(case.id).active_activity_ids == ("wait",)
    with pytest.raises(MessageCorrelationError):
        engine.runtime.correlate("NoSuchMessage", business_key="EMS-1")
    engine.runtime.correlate("EmsSigned", business_key="EMS-1", variables={"signedBy": "张三"})
    assert engine.runtime.instance(case.id).active_activity_ids == ("look",)
    assert engine.runtime.variables(case.id)["signedBy"] == "张三"
    assert engine.runtime.instance(other.id).active_activity_ids == ("wait",)  # the other case still waits
    with pytest.raises(MessageCorrelationError):  # it waits no more
        engine.runtime.correlate("EmsSigned", business_key="EMS-1")
