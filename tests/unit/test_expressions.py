"""JUEL as Camunda designers write it, translated and run in the sandbox (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import ExpressionSyntaxError, ScriptError
from engine.scripting import juel
from engine.scripting.sandbox import Sandbox

NOW = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(time_limit=1.0, now=lambda: NOW)


def ev(sb: Sandbox, text: str, **data):
    return sb.evaluate(juel.to_python(text), data)


@pytest.mark.parametrize("text, data, expected", [
    ("${approved}", {"approved": True}, True),
    ("${!approved}", {"approved": True}, False),
    ("${not approved}", {"approved": False}, True),
    ("${amount > 1000 && type == 'A'}", {"amount": 1500, "type": "A"}, True),
    ("${amount > 1000 && type == 'A'}", {"amount": 500, "type": "A"}, False),
    ("${amount > 1000 and type eq \"A\"}", {"amount": 1500, "type": "A"}, True),
    ("${amount gt 1000 or type ne 'A'}", {"amount": 10, "type": "B"}, True),
    ("${nrOfCompletedInstances/nrOfInstances >= 0.6}", {"nrOfCompletedInstances": 3, "nrOfInstances": 5}, True),
    ("${nrOfCompletedInstances/nrOfInstances >= 0.6}", {"nrOfCompletedInstances": 2, "nrOfInstances": 5}, False),
    ("#{x}", {"x": 7}, 7),
    ("${empty list}", {"list": []}, True),
    ("${empty name}", {"name": "张三"}, False),
    ("${not empty name}", {"name": None}, False),
    ("${amount > 1000}", {"amount": "1500"}, True),  # JUEL coerces the string to a number
    ("${count == '3'}", {"count": 3}, True),
    ("${a lt b}", {"a": 1, "b": 2}, True),
    ("${a le b && b ge a}", {"a": 2, "b": 2}, True),
    ("${7 div 2}", {}, 3.5),
    ("${7 mod 2}", {}, 1),
    ("${applicant.name}", {"applicant": {"name": "李四"}}, "李四"),
    ("${items[1]}", {"items": ["a", "b"]}, "b"),
    ("${m['k']}", {"m": {"k": 1}}, 1),
    ("${x == null}", {"x": None}, True),
    ("${urgent ? 2 : 5}", {"urgent": True}, 2),
    ("${-a + 3 * 2}", {"a": 1}, 5),
    ("第${n}轮", {"n": 3}, "第3轮"),
    ("${a}-${b}", {"a": "x", "b": True}, "x-true"),
    ("${approved == true}", {"approved": True}, True),
])
def test_juel(sb, text, data, expected):
    assert ev(sb, text, **data) == expected


def test_python_dialect_passes_through(sb):
    assert juel.to_python("x > 1") == "x > 1"
    assert sb.evaluate("input_item * 2", {"input_item": 4}) == 8
    assert sb.evaluate("len(lst) > 0", {"lst": [1]}) is True


def test_date_chain(sb):
    assert ev(sb, "${dateTime().plusWeeks(1).toDate()}") == NOW + timedelta(weeks=1)
    assert ev(sb, "${dateTime().plusDays(2).plusHours(3).toDate()}") == NOW + timedelta(days=2, hours=3)
    assert ev(sb, "${dateTime().plusMonths(5).toDate()}") == datetime(2027, 2, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, needle", [
    ("${a >}", "unexpected end"),
    ("${a && }", "unexpected end"),
    ("${}", "empty"),
    ("${a ~ b}", "unexpected character"),
    ("${a b}", "unexpected 'b'"),
    ("${service.find(x)}", "method calls are not supported"),
    ("${x.__class__}", None),
    ("${_secret}", "cannot be used"),
    ("${class}", "cannot be used"),
    ("${a", "never closed"),
])
def test_bad_juel_is_a_clear_compile_error(sb, text, needle):
    with pytest.raises(ExpressionSyntaxError) as err:
        sb.check_expression(juel.to_python(text))
    if needle:
        assert needle in str(err.value)
    assert text.strip() in str(err.value) or err.value.expression


def test_runtime_errors_are_script_errors(sb):
    with pytest.raises(ScriptError, match="not defined"):
        ev(sb, "${missing > 1}")
    with pytest.raises(ScriptError, match="division by zero"):
        ev(sb, "${1 / 0}")
    with pytest.raises(ScriptError, match="not found"):
        ev(sb, "${a.b}", a={})


@pytest.mark.parametrize("text, expected", [
    ("PT4H", "'PT4H'"), ("P2D", "'P2D'"), ("P1DT2H30M", "'P1DT2H30M'"), ("PT0.25S", "'PT0.25S'"),
    ("2030-02-01T08:00:00Z", "'2030-02-01T08:00:00Z'"), ("R3/PT10M", "'R3/PT10M'"), ("R/PT1H", "'R/PT1H'"),
    ("R2/2030-01-01T00:00:00Z/PT1H", "'R2/2030-01-01T00:00:00Z/PT1H'"), ('"PT0.25S"', '"PT0.25S"'),
    ("${duration}", "duration"), ("due_time", "due_time"),
])
def test_timer_literals(text, expected):
    assert juel.timer_to_python(text) == expected


def test_cron_is_refused_clearly():
    with pytest.raises(ExpressionSyntaxError, match="cron"):
        juel.timer_to_python("0 0/5 * * * ?")
