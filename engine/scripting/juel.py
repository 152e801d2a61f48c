"""Camunda JUEL → Python source for the sandbox.

Designers write Camunda's Unified Expression Language: ``${approved}``, ``${!approved}``,
``${amount > 1000 && type == 'A'}``, ``${nrOfCompletedInstances/nrOfInstances >= 0.6}``, ``#{x}``, ``empty``,
``not``, ``and``/``or``/``eq``/``ne``/``lt``/``gt``/``le``/``ge``/``div``/``mod``, ``a.b``, ``a['b']``,
``cond ? x : y`` and composite text (``第${n}轮``). A real tokenizer and recursive-descent parser turn them into a
Python expression calling the JUEL-semantics helpers below (JUEL coerces operands: ``'1500' > 1000`` compares
numbers, ``/`` always divides as floating point). Method calls are refused, except the Joda-style date chain
Camunda designers use for due dates: ``${dateTime().plusDays(2).toDate()}``.

Text without ``${``/``#{`` is SpiffWorkflow's own dialect (Python) and is returned unchanged.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.errors import ExpressionSyntaxError, ScriptError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]])
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
""", re.VERBOSE)
_WORD_OPS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=",
             "ge": ">=", "div": "/", "mod": "%"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
DATE_METHODS = {"plusYears", "plusMonths", "plusWeeks", "plusDays", "plusHours", "plusMinutes", "plusSeconds",
                "minusYears", "minusMonths", "minusWeeks", "minusDays", "minusHours", "minusMinutes",
                "minusSeconds", "toDate", "withTimeAtStartOfDay"}


def is_juel(text: str | None) -> bool:
    return text is not None and ("${" in text or "#{" in text)


class _Parser:
    def __init__(self, source: str, whole: str, offset: int) -> None:
        self.whole = whole
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            m = _TOKEN.match(source, pos)
            if m is None:
                self.fail(f"unexpected character '{source[pos]}'", offset + pos)
            kind = m.lastgroup or ""
            if kind != "ws":
                value = m.group()
                if kind == "id" and value in _WORD_OPS:
                    kind, value = "op", _WORD_OPS[value]
                elif kind == "id" and value == "empty":
                    kind = "op"
                self.tokens.append((kind, value, offset + pos))
            pos = m.end()
        self.i = 0
        self.end = offset + len(source)

    def fail(self, message: str, pos: int | None = None) -> None:
        where = f" at position {pos}" if pos is not None else ""
        raise ExpressionSyntaxError(f"{message}{where} in '{self.whole}'", expression=self.whole)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end of expression", self.end)
        assert tok is not None
        if value is not None and tok[1] != value:
            self.fail(f"expected '{value}' but found '{tok[1]}'", tok[2])
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] in ("op",) and tok[1] in values

    def parse(self) -> str:
        if not self.tokens:
            self.fail("empty expression")
        out = self.ternary()
        tok = self.peek()
        if tok is not None:
            self.fail(f"unexpected '{tok[1]}'", tok[2])
        return out

    def ternary(self) -> str:
        cond = self.or_()
        if self.at("?"):
            self.take("?")
            yes = self.ternary()
            self.take(":")
            no = self.ternary()
            return f"({yes} if juel_bool({cond}) else {no})"
        return cond

    def or_(self) -> str:
        left = self.and_()
        while self.at("||"):
            self.take()
            left = f"(juel_bool({left}) or juel_bool({self.and_()}))"
        return left

    def and_(self) -> str:
        left = self.equality()
        while self.at("&&"):
            self.take()
            left = f"(juel_bool({left}) and juel_bool({self.equality()}))"
        return left

    def equality(self) -> str:
        left = self.relational()
        while self.at("==", "!="):
            op = self.take()[1]
            right = self.relational()
            left = f"juel_eq({left}, {right})" if op == "==" else f"(not juel_eq({left}, {right}))"
        return left

    def relational(self) -> str:
        left = self.additive()
        while self.at("<", ">", "<=", ">="):
            op = self.take()[1]
            left = f"juel_cmp({op!r}, {left}, {self.additive()})"
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.take()[1]
            left = f"juel_arith({op!r}, {left}, {self.multiplicative()})"
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while self.at("*", "/", "%"):
            op = self.take()[1]
            right = self.unary()
            left = f"juel_div({left}, {right})" if op == "/" else f"juel_arith({op!r}, {left}, {right})"
        return left

    def unary(self) -> str:
        if self.at("-"):
            self.take()
            return f"juel_arith('-', 0, {self.unary()})"
        if self.at("!"):
            self.take()
            return f"(not juel_bool({self.unary()}))"
        if self.at("empty"):
            self.take()
            return f"juel_empty({self.unary()})"
        return self.postfix()

    def postfix(self) -> str:
        tok = self.peek()
        out = self.primary()
        is_date = tok is not None and tok[1] == "dateTime"
        while True:
            if self.at("."):
                self.take()
                name_tok = self.take()
                if name_tok[0] != "id":
                    self.fail(f"expected a property name after '.', found '{name_tok[1]}'", name_tok[2])
                if name_tok[1].startswith("_"):
                    self.fail(f"property '{name_tok[1]}' cannot be used", name_tok[2])
                if self.at("("):
                    if not is_date or name_tok[1] not in DATE_METHODS:
                        self.fail(f"method calls are not supported ('{name_tok[1]}(...)'; only the date chain "
                                  "dateTime().plusDays(n)...toDate() is)", name_tok[2])
                    args = self.arguments()
                    out = f"juel_date_call({out}, {name_tok[1]!r}, [{', '.join(args)}])"
                else:
                    out = f"juel_get({out}, {name_tok[1]!r})"
            elif self.at("["):
                self.take()
                key = self.ternary()
                self.take("]")
                out = f"juel_get({out}, {key})"
            else:
                return out

    def arguments(self) -> list[str]:
        self.take("(")
        args: list[str] = []
        if not self.at(")"):
            args.append(self.ternary())
            while self.at(","):
                self.take()
                args.append(self.ternary())
        self.take(")")
        return args

    def primary(self) -> str:
        kind, value, pos = self.take()
        if kind == "num":
            return value
        if kind == "str":
            return repr(_unescape(value[1:-1]))
        if kind == "id":
            if value in _LITERALS:
                return _LITERALS[value]
            if value.startswith("_") or "$" in value or keyword.iskeyword(value):
                self.fail(f"'{value}' cannot be used as a variable name", pos)
            if self.at("("):
                return f"{value}({', '.join(self.arguments())})"
            return value
        if value == "(":
            inner = self.ternary()
            self.take(")")
            return f"({inner})"
        self.fail(f"unexpected '{value}'", pos)
        return ""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), text)


def _split_composite(text: str) -> list[tuple[bool, str, int]]:
    """Split ``a ${x} b`` into literal and expression parts (is_expr, text, offset)."""
    parts: list[tuple[bool, str, int]] = []
    i = 0
    literal_start = 0
    while i < len(text):
        if text[i] in "$#" and text[i + 1:i + 2] == "{":
            if i > literal_start:
                parts.append((False, text[literal_start:i], literal_start))
            depth, j, quote = 1, i + 2, ""
            while j < len(text) and depth:
                ch = text[j]
                if quote:
                    if ch == "\\":
                        j += 1
                    elif ch == quote:
                        quote = ""
                elif ch in "'\"":
                    quote = ch
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            if depth:
                raise ExpressionSyntaxError(f"unbalanced braces: '{{' at position {i} is never closed in '{text}'",
                                            expression=text)
            parts.append((True, text[i + 2:j - 1], i + 2))
            i = literal_start = j
        else:
            i += 1
    if literal_start < len(text):
        parts.append((False, text[literal_start:], literal_start))
    return parts


@lru_cache(maxsize=4096)
def to_python(text: str) -> str:
    """Translate one Camunda expression to Python; non-JUEL text (SpiffWorkflow's dialect) is returned as is."""
    if not is_juel(text):
        return text
    stripped = text.strip()
    parts = _split_composite(stripped)
    if len(parts) == 1 and parts[0][0]:
        return _Parser(parts[0][1], stripped, parts[0][2]).parse()
    pieces = []
    for is_expr, chunk, offset in parts:
        pieces.append(f"juel_str({_Parser(chunk, stripped, offset).parse()})" if is_expr else repr(chunk))
    return " + ".join(pieces) if pieces else "''"


_ISO_DURATION = re.compile(r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                           r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_CRON = re.compile(r"^\S+(\s+\S+){4,6}$")


def is_iso_literal(text: str) -> bool:
    t = text.strip()
    if t.startswith("R"):
        head, _, rest = t.partition("/")
        if not re.fullmatch(r"R\d*", head) or not rest:
            return False
        return all(_ISO_DURATION.match(p) or _ISO_DATETIME.match(p) for p in rest.split("/"))
    return bool(_ISO_DURATION.match(t) or _ISO_DATETIME.match(t))


def timer_to_python(text: str) -> str:
    """A timer definition as Camunda Modeler writes it (bare ISO 8601 or ``${expr}``) → Python for SpiffWorkflow."""
    t = text.strip()
    if is_juel(t):
        return to_python(t)
    if is_iso_literal(t):
        return repr(t)
    if _CRON.match(t) and not any(c in t for c in "\"'()"):
        raise ExpressionSyntaxError(f"cron timer cycles ('{t}') are not supported yet: use an ISO 8601 "
                                    "repeating interval such as R/PT5M", expression=t)
    return text


# --- JUEL semantics (exposed to the sandbox) ------------------------------------------------------------
def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ScriptError(f"cannot use boolean {value} as a number")
    if isinstance(value, int | float | Decimal):
        return value
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                raise ScriptError(f"cannot coerce '{value}' to a number") from None
    raise ScriptError(f"cannot use {type(value).__name__} as a number")


def juel_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    if value is None:
        return False
    return bool(value)


def _numeric_pair(a: Any, b: Any) -> bool:
    nums = (int, float, Decimal)
    return (isinstance(a, nums) and not isinstance(a, bool)) or (isinstance(b, nums) and not isinstance(b, bool))


def juel_eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return juel_bool(a) == juel_bool(b)
    if _numeric_pair(a, b):
        try:
            return bool(_number(a) == _number(b))
        except ScriptError:
            return False
    return bool(a == b)


def juel_cmp(op: str, a: Any, b: Any) -> bool:
    if _numeric_pair(a, b):  # two strings compare as strings, as in JUEL
        a, b = _number(a), _number(b)
    if a is None or b is None:
        return False
    try:
        if op == "<":
            return bool(a < b)
        if op == ">":
            return bool(a > b)
        if op == "<=":
            return bool(a <= b)
        return bool(a >= b)
    except TypeError:
        raise ScriptError(f"cannot compare {type(a).__name__} and {type(b).__name__} with '{op}'") from None


def juel_arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        try:
            return _number(a) + _number(b)
        except ScriptError:
            return a + b  # lenient: concatenation of two non-numeric strings
    x, y = _number(a), _number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        raise ScriptError("division by zero")
    return x % y


def juel_div(a: Any, b: Any) -> Any:
    x, y = _number(a), _number(b)
    if y == 0:
        raise ScriptError("division by zero")
    return x / y


def juel_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def juel_get(obj: Any, key: Any) -> Any:
    if obj is None:
        raise ScriptError(f"cannot read '{key}' of null")
    if isinstance(obj, Mapping):
        if key not in obj:
            raise ScriptError(f"property '{key}' not found")
        return obj[key]
    if isinstance(obj, list | tuple | str):
        try:
            return obj[int(_number(key))]
        except IndexError:
            raise ScriptError(f"index {key} is out of range") from None
    raise ScriptError(f"cannot read '{key}' of a {type(obj).__name__}")


def juel_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class JodaDateTime:
    """The part of Joda-Time's DateTime that Camunda due-date expressions use."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "toDate":
            return self.value
        if name == "withTimeAtStartOfDay":
            return JodaDateTime(self.value.replace(hour=0, minute=0, second=0, microsecond=0))
        sign = 1 if name.startswith("plus") else -1
        unit = name[4:] if sign == 1 else name[5:]
        n = int(_number(args[0])) * sign if args else 0
        if unit in ("Years", "Months"):
            months = n * (12 if unit == "Years" else 1)
            return JodaDateTime(_add_months(self.value, months))
        delta = {"Weeks": timedelta(weeks=n), "Days": timedelta(days=n), "Hours": timedelta(hours=n),
                 "Minutes": timedelta(minutes=n), "Seconds": timedelta(seconds=n)}[unit]
        return JodaDateTime(self.value + delta)


def _add_months(value: datetime, months: int) -> datetime:
    import calendar

    month = value.month - 1 + months
    year, month = value.year + month // 12, month % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def juel_date_call(obj: Any, name: str, args: list[Any]) -> Any:
    if not isinstance(obj, JodaDateTime) or name not in DATE_METHODS:
        raise ScriptError(f"method '{name}' is not available here")
    return obj.call(name, args)


def juel_helpers(now: Callable[[], datetime] | None = None) -> dict[str, Callable[..., Any]]:
    """The functions translated expressions call; ``now`` gives ``dateTime()`` its clock."""
    from datetime import UTC

    clock = now or (lambda: datetime.now(UTC))
    return {
        "juel_bool": juel_bool, "juel_eq": juel_eq, "juel_cmp": juel_cmp, "juel_arith": juel_arith,
        "juel_div": juel_div, "juel_empty": juel_empty, "juel_get": juel_get, "juel_str": juel_str,
        "juel_date_call": juel_date_call, "dateTime": lambda: JodaDateTime(clock()),
        "now": lambda: clock(), "today": lambda: clock().date(),
    }


__all__ = ["is_juel", "to_python", "timer_to_python", "juel_helpers", "is_iso_literal", "date"]
