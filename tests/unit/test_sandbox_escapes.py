"""Known sandbox escape payloads: every one is refused (at compile or run time) and has no effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ExpressionSyntaxError, ScriptError
from engine.scripting.sandbox import Sandbox

PAYLOADS = [
    "__import__('os').system('touch {m}')",
    "import os\nos.system('touch {m}')",
    "from os import system\nsystem('touch {m}')",
    "open('{m}', 'w').write('x')",
    "().__class__.__mro__[1].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()._module"
    ".__builtins__['__import__']('os').system('touch {m}')",
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
    "'{{0.__class__}}'.format(1)",
    "'%s' % 'x'",
    "d = datetime.now.__self__",
    "x = datetime.__subclasses__()",
    "while True:\n    pass",
    "x = 10 ** 10 ** 10",
    "x = 'a' * 10 ** 10",
    "x = list(range(10 ** 10))",
    "f = lambda n: f(n)\nf(1)",
    "x = [0]\nx *= 10 ** 9",
    "x = 'a'.ljust(10 ** 9)",
    "x = f'{{1:>1000000000}}'",
    "x = [1]\nfor i in range(200):\n    x = x + x",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_is_refused_and_has_no_effect(payload: str, tmp_path: Path):
    marker = tmp_path / "pwned"
    sb = Sandbox(time_limit=0.5, max_sequence=1_000_000)
    source = payload.format(m=marker)
    with pytest.raises((ExpressionSyntaxError, ScriptError)):
        sb.check_script(source)
        sb.execute(source, {"x": 1})
    assert not marker.exists()


def test_ordinary_scripts_still_work():
    sb = Sandbox()
    data = {"v": 1, "names": ["a", "b"], "m": {"k": 2}}
    sb.execute(
        "v += 1\n"
        "total = sum(i * 2 for i in range(10))\n"
        "upper = [n.upper() for n in names]\n"
        "k = m.get('k')\n"
        "due = datetime(2026, 10, 8) + timedelta(days=3)\n"
        "if v > 1:\n    flag = True\n"
        "pairs = {n: i for i, n in enumerate(names)}\n"
        "parts = 'a,b'.split(',')\n", data)
    assert data["v"] == 2 and data["total"] == 90 and data["upper"] == ["A", "B"] and data["k"] == 2
    assert data["due"].day == 11 and data["flag"] is True and data["pairs"] == {"a": 0, "b": 1}
    assert data["parts"] == ["a", "b"]
    assert "datetime" not in data and "timedelta" not in data  # injected names never leak into task data


def test_time_limit_reports_timeout():
    sb = Sandbox(time_limit=0.2)
    with pytest.raises(ScriptError) as err:
        sb.execute("i = 0\nwhile True:\n    i += 1", {})
    assert err.value.reason == "timeout"
