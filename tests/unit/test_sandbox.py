"""The RestrictedPython sandbox (engine/scripting/sandbox.py): escapes refused, ordinary scripts unharmed."""

from __future__ import annotations

import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ExpressionSyntaxError, ScriptError
from engine.scripting.sandbox import Sandbox

CATCH_WARNINGS = ("[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
                  "._module.__builtins__['__import__']('os').system('touch {m}')")

PAYLOADS = [
    "__import__('os').system('touch {m}')",
    "import os\nos.system('touch {m}')",
    "from os import path",
    "open('/etc/passwd').read()",
    "open('{m}', 'w').write('x')",
    "().__class__.__mro__[1].__subclasses__()",
    CATCH_WARNINGS,
    "getattr(x, '__class__')",
    "type(x).__subclasses__()",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "vars()",
    "(lambda: 0).__code__",
    "f = lambda: 0\ny = f.__globals__",
    "g = (i for i in [1])\nh = g.gi_frame.f_back.f_globals",
    "def gen():\n    yield 1\nframe = gen().gi_frame",
    "'{{0.__class__}}'.format(1)",
    "'{{x}}'.format_map({{'x': 1}})",
    "'%s' % 'x'",
    "d = datetime.now.__self__",
    "x = datetime.__subclasses__()",
    "x = str.mro()",
    "x = dict.__init__",
    "while True:\n    pass",
    "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass",
    "try:\n    while True:\n        pass\nfinally:\n    open('{m}', 'w')",
    "try:\n    x = 1\nexcept:\n    pass",
    "Exception = BaseException",
    "def f(ValueError):\n    return 1",
    "try:\n    x = 1\nexcept (lambda: Exception)():\n    pass",
    "class A:\n    pass",
    "with x:\n    pass",
    "x = 10 ** 10 ** 10",
    "x = 'a' * 10 ** 10",
    "x = [0] * 10 ** 10",
    "x = list(range(10 ** 10))",
    "x = 1 << 10 ** 10",
    "x = round(1, -10 ** 9)",
    "f = lambda n: f(n + 1)\nf(0)",
    "f = lambda *a: f(*a)\nf(0)",
    "f = lambda n: f(n + 1)\ntry:\n    f(0)\nexcept Exception:\n    pass\nwhile True:\n    pass",
    "x = [0]\nx *= 10 ** 9",
    "x = 'a'.ljust(10 ** 9)",
    "x = f'{{1:>1000000000}}'",
    "x = [1]\nfor i in range(200):\n    x = x + x",
    "x = [0]\nfor i in range(64):\n    x.extend(x)",
    "s = 'a' * 10 ** 6\nt = s.replace('a', s)",
    "s = 'a' * 10 ** 6\nt = ''.join([s for i in range(1000)])",
    "x = sum([[0] * 1000 for i in range(1000)], [])",
    "x = (1).to_bytes(10 ** 9, 'big')",
    "x = 'a'.translate({{97: 'b' * 10 ** 6}})",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_payload_is_refused_without_effect(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    source = payload.format(m=marker)
    sb = Sandbox(time_limit=0.3)
    data: dict[str, Any] = {"x": 1}
    started = time.monotonic()
    with pytest.raises((ExpressionSyntaxError, ScriptError)) as err:
        sb.check_script(source)
        sb.execute(source, data)
    assert time.monotonic() - started < 5
    assert not marker.exists()
    assert data == {"x": 1}
    if isinstance(err.value, ScriptError):
        assert err.value.reason in ("forbidden", "timeout"), err.value.message
    assert not isinstance(err.value, SyntaxError)


EXPRESSION_PAYLOADS = [
    "__import__('os').system('touch {m}') == 0",
    "().__class__.__bases__[0].__subclasses__()",
    CATCH_WARNINGS,
    "'{{0.__class__}}'.format(1)",
    "10 ** 10 ** 10 > 0",
    "len('a' * 10 ** 10) > 0",
    "len(list(range(10 ** 10))) > 0",
    "(lambda f: f(f))(lambda f: f(f))",
    "sum(1 for i in range(10 ** 6) for j in range(10 ** 6)) > 0",
]


@pytest.mark.parametrize("payload", EXPRESSION_PAYLOADS)
def test_condition_payload_is_refused_without_effect(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    source = payload.format(m=marker)
    sb = Sandbox(time_limit=0.3)
    with pytest.raises((ExpressionSyntaxError, ScriptError)):
        sb.check_expression(source)
        sb.evaluate(source, {})
    assert not marker.exists()


def test_timeout_is_reported_and_cannot_be_swallowed() -> None:
    sb = Sandbox(time_limit=0.2)
    for script in ("i = 0\nwhile True:\n    i += 1",
                   "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass"):
        started = time.monotonic()
        with pytest.raises(ScriptError) as err:
            sb.execute(script, {})
        assert err.value.reason == "timeout"
        assert "time limit" in err.value.message and "on line" in err.value.message
        assert time.monotonic() - started < 3


def test_refusals_cannot_be_caught_by_the_script() -> None:
    with pytest.raises(ScriptError) as err:
        Sandbox().execute("try:\n    x = 'a' * 10 ** 10\nexcept Exception:\n    x = 'caught'", {})
    assert err.value.reason == "forbidden" and "too large" in err.value.message


def test_previous_tracer_is_restored() -> None:
    before = sys.gettrace()
    sb = Sandbox(time_limit=0.1)
    sb.execute("x = 1", {})
    with pytest.raises(ScriptError):
        sb.execute("while True:\n    pass", {})
    assert sys.gettrace() is before


def test_time_limits_are_per_run_and_per_thread() -> None:
    slow, fast = Sandbox(time_limit=10.0), Sandbox(time_limit=0.2)
    results: dict[str, Any] = {}

    def long_but_fine() -> None:
        data: dict[str, Any] = {}
        slow.execute("i = 0\nwhile i < 100000:\n    i += 1", data)
        results["slow"] = data["i"]

    thread = threading.Thread(target=long_but_fine)
    thread.start()
    with pytest.raises(ScriptError) as err:
        fast.execute("while True:\n    pass", {})
    thread.join()
    assert err.value.reason == "timeout" and results["slow"] == 100000


ORDINARY = """
v += 1
total = sum(i * 2 for i in range(10))
upper = [n.upper() for n in names]
k = m.get('k')
missing = m.get('nope', 'default')
due = datetime(2026, 10, 8) + timedelta(days=3)
if v > 1:
    flag = True
else:
    flag = False
n = 0
while n < 3:
    n += 1
pairs = {name: i for i, name in enumerate(names)}
parts = ' a,b '.strip().split(',')
label = f"{v:03d}-{amount:.2f}-{due:%Y-%m-%d}"
try:
    bad = int('x')
except ValueError as exc:
    bad = 'not a number'
def double(value):
    return value * 2
doubled = list(map(double, [1, 2]))
first, *rest = [1, 2, 3]
m['added'] = 1
names.append('c')
print('debug output is discarded')
"""


def test_ordinary_scripts_still_work() -> None:
    data: dict[str, Any] = {"v": 1, "names": ["a", "b"], "m": {"k": 2}, "amount": 3.14159}
    Sandbox().execute(ORDINARY, data)
    assert data["v"] == 2 and data["total"] == 90 and data["upper"] == ["A", "B"]
    assert data["k"] == 2 and data["missing"] == "default" and data["flag"] is True and data["n"] == 3
    assert data["due"] == datetime(2026, 10, 11) and data["pairs"] == {"a": 0, "b": 1}
    assert data["parts"] == ["a", "b"] and data["label"] == "002-3.14-2026-10-11"
    assert data["bad"] == "not a number" and data["doubled"] == [2, 4] and data["rest"] == [2, 3]
    assert data["m"] == {"k": 2, "added": 1} and data["names"] == ["a", "b", "c"]
    assert "double" not in data and "exc" not in data


@pytest.mark.parametrize("expression, data, expected", [
    ("x > 1", {"x": 2}, True),
    ("u > 0", {"u": 0}, False),
    ("input_item == 2", {"input_item": 2}, True),
    ("not done", {"done": False}, True),
    ("input_item * 2", {"input_item": 4}, 8),
    ("len(lst) > 0", {"lst": [1]}, True),
    ("sorted(xs, reverse=True)[0]", {"xs": [3, 9, 1]}, 9),
    ("round(abs(-2.345), 2)", {}, 2.35),
    ("isinstance(x, str) and x.startswith('a')", {"x": "abc"}, True),
    ("(date(2026, 1, 31) + timedelta(days=1)).month", {}, 2),
    ("max(a, b) if a is not None else min(b, 0)", {"a": 1, "b": 5}, 5),
    ("any(x > 2 for x in xs) and all(x > 0 for x in xs)", {"xs": [1, 3]}, True),
    ("2 ** 10 + 7 % 3 + (1 << 4)", {}, 1041),
    ("'ab' * 3 + 'c'", {}, "abababc"),
    ("dict(zip(['a', 'b'], reversed([1, 2])))", {}, {"a": 2, "b": 1}),
    ("set(filter(None, [0, 1, 1]))", {}, {1}),
])
def test_spiff_style_expressions(expression: str, data: dict[str, Any], expected: Any) -> None:
    assert Sandbox().evaluate(expression, data) == expected


def test_lookup_order_extra_context_functions_helpers_builtins() -> None:
    sb = Sandbox({"who": lambda: "function", "len": lambda v: -1, "now": lambda: "function-now"})
    assert sb.evaluate("who()", {}) == "function"
    assert sb.evaluate("who", {"who": "data"}) == "data"
    assert sb.evaluate("who", {"who": "data"}, {"who": "extra"}) == "extra"
    assert sb.evaluate("len([1, 2])", {}) == -1  # functions shadow builtins
    assert sb.evaluate("now()", {}) == "function-now"  # functions shadow the JUEL helpers
    assert sb.evaluate("juel_empty(x)", {"x": []}) is True


def test_task_data_stays_data() -> None:
    sb = Sandbox({"add_days": lambda d, n: d + timedelta(days=n)})
    data: dict[str, Any] = {"start": date(2026, 1, 1), "gone": 1, "kept": {"a": 1}, "Warning": "data"}
    sb.execute("due = add_days(start, 2)\nf = lambda: 1\nit = iter_src = map(str, [1])\ndel gone\n"
               "now = 'shadowed by the script'\nloopCounter = loopCounter", data, {"loopCounter": 3, "extra_fn": len})
    assert data == {"start": date(2026, 1, 1), "kept": {"a": 1}, "Warning": "data", "due": date(2026, 1, 3),
                    "now": "shadowed by the script"}


def test_compile_errors_are_expression_syntax_errors_with_lines() -> None:
    sb = Sandbox()
    with pytest.raises(ExpressionSyntaxError) as err:
        sb.check_script("x = 1\ny = (")
    assert err.value.line == 2 and "Line 2" in err.value.message and not isinstance(err.value, SyntaxError)
    with pytest.raises(ExpressionSyntaxError) as err:
        sb.check_script("x = 1\ny = x.__class__")
    assert err.value.line == 2 and '"__class__"' in err.value.message
    with pytest.raises(ExpressionSyntaxError, match="empty expression"):
        sb.check_expression("   ")
    with pytest.raises(ExpressionSyntaxError):
        sb.evaluate("x >", {"x": 1})
    with pytest.raises(ExpressionSyntaxError):
        sb.check_expression("x = 1")  # a statement is not an expression
    sb.check_script("    x = 1\n    if x:\n        y = 2\n")  # indented CDATA is dedented


def test_runtime_errors_name_type_message_and_line() -> None:
    with pytest.raises(ScriptError) as err:
        Sandbox().execute("a = 1\nb = a / 0", {})
    assert err.value.reason == "error"
    assert err.value.message == "ZeroDivisionError: division by zero on line 2: b = a / 0"
    assert isinstance(err.value.__cause__, ZeroDivisionError)
    with pytest.raises(ScriptError, match="NameError: name 'nope' is not defined"):
        Sandbox().evaluate("nope + 1", {})
    with pytest.raises(ScriptError, match="AttributeError"):
        Sandbox().evaluate("'x'.nope", {})


def test_expressions_must_give_values() -> None:
    with pytest.raises(ScriptError, match="generator, not a value"):
        Sandbox().evaluate("(x for x in [1])", {})
    with pytest.raises(ScriptError, match="not a value"):
        Sandbox().evaluate("lambda: 1", {})
