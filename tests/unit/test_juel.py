"""JUEL → Python translation (engine/scripting/juel.py), run through the real sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import ExpressionSyntaxError, ScriptError
from engine.scripting import juel
from engine.scripting.sandbox import Sandbox

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(time_limit=1.0, now=lambda: NOW)


def run(sb: Sandbox, text: str, **data: Any) -> Any:
    return sb.evaluate(juel.to_python(text), data)


def test_dialect_detection() -> None:
    assert juel.is_juel("${x}") and juel.is_juel("#{x}") and juel.is_juel("  a ${x} b ")
    assert not juel.is_juel("x > 1") and not juel.is_juel(None) and not juel.is_juel("f'{x}'")
    for python in ("x > 1", "u > 0", "input_item == 2", "not done", "input_item * 2", "len(lst) > 0", '"PT1H"'):
        assert juel.to_python(python) == python  # SpiffWorkflow's own dialect passes through untouched


@pytest.mark.parametrize("text, python", [
    ("${approved}", "approved"),
    ("${true}", "True"),
    ("${null}", "None"),
    ("  ${ x }  ", "x"),
    ("${007}", "7"),
    ("${a.b}", "juel_get(a, 'b')"),
    ("${a['b'][0]}", "juel_get(juel_get(a, 'b'), 0)"),
    ("${empty x}", "juel_empty(x)"),
    ("${a / b}", "juel_div(a, b)"),
    ("Hello ${name}!", "'Hello ' + juel_str(name) + '!'"),
])
def test_translation_shape(text: str, python: str) -> None:
    assert juel.to_python(text) == python


@pytest.mark.parametrize("text, data, expected", [
    ("${amount > 1000 && type == 'A'}", {"amount": 1500, "type": "A"}, True),
    ("${amount > 1000 && type == 'A'}", {"amount": 1500, "type": "B"}, False),
    ("${!(amount > 1000 && type == 'A')}", {"amount": 10, "type": "A"}, True),
    ("${amount gt 1000 and type eq 'A'}", {"amount": 1001, "type": "A"}, True),
    ("${a lt b or a ge c}", {"a": 5, "b": 1, "c": 5}, True),
    ("${a le b && a ne b}", {"a": 1, "b": 2}, True),
    ("${not approved}", {"approved": False}, True),
    ("${amount > 1000}", {"amount": "1500"}, True),          # string coerced to a number
    ("${amount < 1000}", {"amount": "999.5"}, True),
    ("${count == '3'}", {"count": 3}, True),                 # number == numeric string compares numbers
    ("${count == 'x'}", {"count": 3}, False),
    ("${'b' > 'a'}", {}, True),                               # two strings compare as strings
    ("${null == x}", {"x": None}, True),
    ("${x == null}", {"x": 0}, False),
    ("${x > 1}", {"x": None}, False),
    ("${flag == true}", {"flag": "true"}, True),
    ("${flag}", {"flag": "TRUE"}, "TRUE"),                  # a whole ${} keeps the value's type
    ("${flag ? 1 : 2}", {"flag": "true"}, 1),
    ("${x ? 'y' : 'n'}", {"x": None}, "n"),
    ("${nrOfCompletedInstances/nrOfInstances >= 0.6}", {"nrOfCompletedInstances": 3, "nrOfInstances": 5}, True),
    ("${nrOfCompletedInstances/nrOfInstances >= 0.6}", {"nrOfCompletedInstances": 2, "nrOfInstances": 5}, False),
    ("${7 / 2}", {}, 3.5),
    ("${8 div 4}", {}, 2.0),
    ("${7 % 3}", {}, 1),
    ("${-7 mod 3}", {}, -1),                                  # Java remainder keeps the dividend's sign
    ("${1 + 2 * 3 - 4}", {}, 3),
    ("${(1 + 2) * 3}", {}, 9),
    ("${-x + 1}", {"x": 3}, -2),
    ("${'1' + '2'}", {}, 3),                                  # JUEL + is numeric
    ("${1.5e1 + .5}", {}, 15.5),
    ("${empty s}", {"s": ""}, True),
    ("${empty s}", {"s": []}, True),
    ("${empty s}", {"s": {}}, True),
    ("${empty s}", {"s": None}, True),
    ("${not empty s}", {"s": [1]}, True),
    ("${empty s}", {"s": 0}, False),
    ("${applicant.name}", {"applicant": {"name": "李四"}}, "李四"),
    ("${applicant['name']}", {"applicant": {"name": "王五"}}, "王五"),
    ("${items[1]}", {"items": ["a", "b"]}, "b"),
    ("${items['0']}", {"items": ["a", "b"]}, "a"),
    ("${m.inner.v}", {"m": {"inner": {"v": 1}}}, 1),
    ("#{x}", {"x": 7}, 7),
    ("第${n}轮", {"n": 3}, "第3轮"),
    ("${a}-${b}", {"a": "x", "b": True}, "x-true"),
    ("[${a}]", {"a": None}, "[]"),
    (r"${'it\'s'}", {}, "it's"),
    (r'${"say \"hi\""}', {}, 'say "hi"'),
    (r"${'a\\b'}", {}, "a\\b"),
    (r"${'keep \n'}", {}, "keep \\n"),                       # JUEL has no \n escape
    (r"cost \${x}", {}, "cost ${x}"),                         # escaped: literal text
    ("${'}' == '}'}", {}, True),                              # braces inside strings
    ("${len(items)}", {"items": [1, 2]}, 2),                  # plain function calls
])
def test_juel_semantics(sb: Sandbox, text: str, data: dict[str, Any], expected: Any) -> None:
    result = run(sb, text, **data)
    assert result == expected and type(result) is type(expected)


def test_logical_operators_short_circuit(sb: Sandbox) -> None:
    assert run(sb, "${x != null && x.k == 1}", x=None) is False  # right side never reads null.k
    assert run(sb, "${x == null || x.k == 1}", x=None) is True


def test_date_chain(sb: Sandbox) -> None:
    assert run(sb, "${dateTime().plusDays(2).plusHours(1).toDate()}") == datetime(2026, 3, 4, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize("text, needle", [
    ("${a >}", "unexpected end of expression at position 5"),
    ("${}", "empty expression at position 2"),
    ("${   }", "empty expression"),
    ("${a ~ b}", "unexpected character '~' at position 4"),
    ("${a b}", "unexpected 'b' at position 4"),
    ("${a)}", "unexpected ')' at position 3"),
    ("${(a}", "expected ')'"),
    ("${a ? b}", "expected ':'"),
    ("${'abc}", "never closed"),
    ("${a", "'${' at position 0 is never closed"),
    ("x ${a} ${b", "at position 7 is never closed"),
    ("${a.}", "unexpected end"),
    ("${a.'x'}", "expected a property name after '.'"),
    ("${dateTime().plusWeeks(1).foo(2)}", "method calls are not supported"),
    ("${service.find(x)}", "method calls are not supported ('find(...)'"),
    ("${execution.getVariable('x')}", "method calls are not supported"),
    ("${x.__class__}", "'__class__' cannot be used"),
    ("${_secret}", "cannot be used as a variable name"),
    ("${class}", "cannot be used as a variable name"),
])
def test_syntax_errors_name_the_expression_and_position(text: str, needle: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as err:
        juel.to_python(text)
    assert needle in err.value.message
    assert err.value.expression == text.strip()
    assert text.strip() in err.value.message


def test_runtime_errors_are_script_errors(sb: Sandbox) -> None:
    with pytest.raises(ScriptError, match="property 'b' not found"):
        run(sb, "${a.b}", a={})
    with pytest.raises(ScriptError, match="division by zero"):
        run(sb, "${1 / 0}")
    with pytest.raises(ScriptError, match="cannot read 'k' of null"):
        run(sb, "${x.k}", x=None)
    with pytest.raises(ScriptError, match="cannot coerce"):
        run(sb, "${x > 1}", x="abc")
    with pytest.raises(ScriptError, match="not defined"):
        run(sb, "${missing}")


def test_helpers_are_pure_functions() -> None:
    helpers = juel.juel_helpers(lambda: NOW)
    assert {"juel_get", "juel_empty", "juel_div", "juel_eq", "juel_cmp", "juel_arith", "juel_bool",
            "juel_str"} <= set(helpers)
    assert helpers["juel_empty"]([]) is True and helpers["juel_empty"]("x") is False
    assert helpers["juel_div"](1, 4) == 0.25
    assert helpers["juel_eq"](1500, "1500") is True and helpers["juel_eq"](None, None) is True
    assert helpers["juel_cmp"](">", "1500", 1000) is True
    assert helpers["juel_str"](False) == "false"
    assert helpers["today"]() == NOW.date()


@pytest.mark.parametrize("text, expected", [
    ("PT4H", "'PT4H'"),
    ("P2D", "'P2D'"),
    ("P1DT2H30M", "'P1DT2H30M'"),
    ("PT0.25S", "'PT0.25S'"),
    (" P1W ", "'P1W'"),
    ("2030-02-01T08:00:00Z", "'2030-02-01T08:00:00Z'"),
    ("2030-02-01T08:00:00+08:00", "'2030-02-01T08:00:00+08:00'"),
    ("2030-02-01T08:00:00", "'2030-02-01T08:00:00'"),
    ("R3/PT10M", "'R3/PT10M'"),
    ("R/PT1H", "'R/PT1H'"),
    ("R2/2030-01-01T00:00:00Z/PT1H", "'R2/2030-01-01T00:00:00Z/PT1H'"),
    ("${duration}", "duration"),
    ("#{'PT' + 'x'}", "juel_arith('+', 'PT', 'x')"),
    ('"PT0.25S"', '"PT0.25S"'),
    ('f"PT{h}H"', 'f"PT{h}H"'),
    ("due_time", "due_time"),
    ("hours * 60 + minutes", "hours * 60 + minutes"),
    ("a - b * c", "a - b * c"),
])
def test_timer_literals(text: str, expected: str) -> None:
    assert juel.timer_to_python(text) == expected


@pytest.mark.parametrize("cron", ["0 0/5 * * * ?", "0 0 12 ? * MON-FRI", "*/10 * * * *"])
def test_cron_cycles_are_refused_clearly(cron: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="cron timer cycles .* not supported yet"):
        juel.timer_to_python(cron)


def test_translated_timer_literals_compile(sb: Sandbox) -> None:
    for text in ("PT4H", "R3/PT10M", "2030-02-01T08:00:00Z"):
        assert sb.evaluate(juel.timer_to_python(text), {}) == text
