"""FEEL unary tests as Camunda Modeler writes them → SpiffWorkflow match expressions."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.definitions.dmn import evaluation_order, feel_unary_test, split_decisions


@pytest.mark.parametrize("feel, expected", [
    ("", None), ("-", None), ("  -  ", None), ("< 250", "< 250"), ('"Misc"', '"Misc"'),
    ("[250..1000]", "250 <= ? <= 1000"), ("]250..1000[", "250 < ? < 1000"), ("(1..5]", "1 < ? <= 5"),
    ('"budget", "exceptional"', '? in ("budget", "exceptional",)'),
    ('not("a")', '? not in ("a",)'), ("true", "True"), ("null", "None"), ("x > 1", "x > 1"),
])
def test_feel_unary_tests(feel, expected):
    assert feel_unary_test(feel) == expected


def test_drg_is_split_per_decision_with_requirements():
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    root = etree.fromstring(f"""<definitions xmlns="{ns}" id="d" name="n" namespace="x">
      <decision id="a" name="A"><decisionTable id="t1"/></decision>
      <decision id="b" name="B"><informationRequirement id="i"><requiredDecision href="#a"/></informationRequirement>
        <decisionTable id="t2"/></decision>
      <decision id="c" name="C"><informationRequirement id="j"><requiredDecision href="#b"/></informationRequirement>
        <decisionTable id="t3"/></decision></definitions>""".encode())
    docs, reqs = split_decisions(root)
    assert [d.find(f"{{{ns}}}decision").get("id") for d in docs] == ["a", "b", "c"]
    assert all(len(d.findall(f"{{{ns}}}decision")) == 1 for d in docs)
    assert evaluation_order("c", reqs) == ["a", "b"] and evaluation_order("a", reqs) == []


@pytest.mark.parametrize("seal, employees, expected", [
    (True, 0, ["SEAL", "ALWAYS"]), (False, 3, ["SOCIAL", "ALWAYS"]), (True, 5, ["SEAL", "SOCIAL", "ALWAYS"]),
])
def test_dash_and_empty_cells_match_anything_in_a_deployed_table(engine, seal, employees, expected):
    """Camunda Modeler writes '-' (or nothing) for 'any input'; both must match whatever the value."""
    from tests.conftest import deploy_fixture

    deploy_fixture(engine, "dmn/any_cells.dmn", "dmn/any_cells.bpmn")
    case = engine.runtime.start("any_cells", variables={"needSeal": seal, "employees": employees})
    assert engine.runtime.variables(case.id)["branches"] == expected
