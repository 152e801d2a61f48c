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

import calendar
import keyword
import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NoReturn

from engine.errors import ExpressionSyntaxError, ScriptError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]])
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
""", re.VERBOSE | re.DOTALL)
_WORD_OPS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=",
             "ge": ">=", "div": "/", "mod": "%"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_ESCAPE = re.compile(r"\\([\\'\"])")  # JUEL string literals escape only \\, \' and \"
DATE_METHODS = {"plusYears", "plusMonths", "plusWeeks", "plusDays", "plusHours", "plusMinutes", "plusSeconds",
                "minusYears", "minusMonths", "minusWeeks", "minusDays", "minusHours", "minusMinutes",
                "minusSeconds", "toDate", "withTimeAtStartOfDay"}
_LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))
Token = tuple[str, str, int]  # kind, text, position in the whole expression text


def is_juel(text: str | None) -> bool:
    """True when ``text`` holds a JUEL expression (``${...}`` or ``#{...}``), else it is SpiffWorkflow's Python."""
    return text is not None and ("${" in text or "#{" in text)


def _emit(op: str, left: str, right: str) -> str:
    if op in ("||", "&&"):
        return f"(juel_bool({left}) {'or' if op == '||' else 'and'} juel_bool({right}))"
    if op == "==":
        return f"juel_eq({left}, {right})"
    if op == "!=":
        return f"(not juel_eq({left}, {right}))"
    if op in ("<", ">", "<=", ">="):
        return f"juel_cmp({op!r}, {left}, {right})"
    return f"juel_div({left}, {right})" if op == "/" else f"juel_arith({op!r}, {left}, {right})"


class _Parser:
    """Recursive descent over one ``${...}`` body; each rule returns Python source."""

    def __init__(self, source: str, whole: str, offset: int) -> None:
        self.whole = whole
        self.tokens: list[Token] = []
        pos = 0
        while pos < len(source):
            m = _TOKEN.match(source, pos)
            if m is None:
                self.fail(f"unexpected character '{source[pos]}'", offset + pos)
            kind, value = m.lastgroup or "", m.group()
            if kind == "id" and value in _WORD_OPS:
                kind, value = "op", _WORD_OPS[value]
            elif kind == "id" and value == "empty":
                kind = "op"
            if kind != "ws":
                self.tokens.append((kind, value, offset + pos))
            pos = m.end()
        self.i = 0
        self.start, self.end = offset, offset + len(source)

    def fail(self, message: str, pos: int) -> NoReturn:
        raise ExpressionSyntaxError(f"{message} at position {pos} in '{self.whole}'", expression=self.whole)

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> Token:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end of expression" + (f" (expected '{value}')" if value else ""), self.end)
        if value is not None and tok[1] != value:
            self.fail(f"expected '{value}' but found '{tok[1]}'", tok[2])
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] in values

    def parse(self) -> str:
        if not self.tokens:
            self.fail("empty expression", self.start)
        out = self.ternary()
        tok = self.peek()
        if tok is not None:
            self.fail(f"unexpected '{tok[1]}'", tok[2])
        return out

    def ternary(self) -> str:
        cond = self.binary(0)
        if not self.at("?"):
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        return f"({yes} if juel_bool({cond}) else {self.ternary()})"

    def binary(self, level: int) -> str:
        """One precedence level of ``|| && ==/!= relational +/- * / %``, left-associative."""
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.at(*_LEVELS[level]):
            op = self.take()[1]
            left = _emit(op, left, self.binary(level + 1))
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
        first = self.peek()
        out = self.primary()
        is_date = first is not None and first[1] == "dateTime"
        while True:
            if self.at("."):
                self.take()
                name_tok = self.take()
                name = name_tok[1]
                if name_tok[0] != "id":
                    self.fail(f"expected a property name after '.', found '{name}'", name_tok[2])
                if name.startswith("_"):
                    self.fail(f"property '{name}' cannot be used", name_tok[2])
                if self.at("("):
                    if not is_date or name not in DATE_METHODS:
                        self.fail(f"method calls are not supported ('{name}(...)'; pass values as process "
                                  "variables instead; only the date chain dateTime().plusDays(n)...toDate() is "
                                  "understood)", name_tok[2])
                    out = f"juel_date_call({out}, {name!r}, [{', '.join(self.arguments())}])"
                else:
                    out = f"juel_get({out}, {name!r})"
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
            return str(int(value)) if value.isdigit() else value  # JUEL reads 007 as 7; Python refuses it
        if kind == "str":
            return repr(_ESCAPE.sub(r"\1", value[1:-1]))
        if kind == "id":
            if value in _LITERALS:
                return _LITERALS[value]
            if value.startswith("_") or "$" in value or keyword.iskeyword(value):
                self.fail(f"'{value}' cannot be used as a variable name", pos)
            return f"{value}({', '.join(self.arguments())})" if self.at("(") else value
        if value == "(":
            inner = self.ternary()
            self.take(")")
            return f"({inner})"
        self.fail(f"unexpected '{value}'", pos)


def _split_composite(text: str) -> list[tuple[bool, str, int]]:
    """Split ``a ${x} b`` into literal and expression parts (is_expr, text, offset); ``\\${`` is a literal."""
    parts: list[tuple[bool, str, int]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1:i + 2] in ("$", "#") and text[i + 2:i + 3] == "{":
            literal.append(text[i + 1:i + 3])
            i += 3
            continue
        if text[i] not in "$#" or text[i + 1:i + 2] != "{":
            literal.append(text[i])
            i += 1
            continue
        if literal:
            parts.append((False, "".join(literal), i))
            literal = []
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
            elif ch in "{}":
                depth += 1 if ch == "{" else -1
            j += 1
        if depth:
            raise ExpressionSyntaxError(f"unbalanced braces: '{text[i:i + 2]}' at position {i} is never closed "
                                        f"in '{text}'", expression=text)
        parts.append((True, text[i + 2:j - 1], i + 2))
        i = j
    if literal:
        parts.append((False, "".join(literal), len(text)))
    return parts


@lru_cache(maxsize=4096)
def to_python(text: str) -> str:
    """Translate one Camunda expression to Python; non-JUEL text (SpiffWorkflow's dialect) is returned as is.

    A text that is one ``${...}`` keeps the value's type; composite text becomes string concatenation."""
    if not is_juel(text):
        return text
    stripped = text.strip()
    parts = _split_composite(stripped)
    if len(parts) == 1 and parts[0][0]:
        return _Parser(parts[0][1], stripped, parts[0][2]).parse()
    pieces = [f"juel_str({_Parser(chunk, stripped, offset).parse()})" if is_expr else repr(chunk)
              for is_expr, chunk, offset in parts]
    return " + ".join(pieces) if pieces else "''"


_ISO_DURATION = re.compile(r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                           r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_CRON_FIELD = re.compile(r"^(?=.*[\d*?])[\d*?/,\-LW#]+$|^[A-Z]{3}([-,][A-Z]{3})*$", re.IGNORECASE)


def is_iso_literal(text: str) -> bool:
    """An ISO 8601 duration, date-time or repeating interval (``R3/PT10M``, ``R2/<start>/PT1H``)."""
    t = text.strip()
    if t.startswith("R"):
        head, _, rest = t.partition("/")
        if not re.fullmatch(r"R\d*", head) or not rest:
            return False
        return all(_ISO_DURATION.match(p) or _ISO_DATETIME.match(p) for p in rest.split("/"))
    return bool(_ISO_DURATION.match(t) or _ISO_DATETIME.match(t))


def _is_cron(text: str) -> bool:
    fields = text.split()
    return 5 <= len(fields) <= 7 and all(_CRON_FIELD.match(f) for f in fields) and bool(re.match(r"[\d*]", text))


def timer_to_python(text: str) -> str:
    """A timer definition as Camunda Modeler writes it (bare ISO 8601 or ``${expr}``) → Python for SpiffWorkflow.

    Anything else (a Python string literal, an f-string, a variable name) is already Python and is unchanged."""
    t = text.strip()
    if is_juel(t):
        return to_python(t)
    if is_iso_literal(t):
        return repr(t)
    if _is_cron(t):
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
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        raise ScriptError(f"cannot coerce '{value[:80]}' to a number")
    raise ScriptError(f"cannot use {type(value).__name__} as a number")


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def juel_bool(value: Any) -> bool:
    """JUEL truthiness: strings are true only when they read 'true' (Boolean.valueOf); null is false."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False if value is None else bool(value)


def juel_eq(a: Any, b: Any) -> bool:
    """``==``: null equals only null, booleans compare as booleans, a number against a numeric string as numbers."""
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return juel_bool(a) == juel_bool(b)
    if _is_num(a) or _is_num(b):
        try:
            return bool(_number(a) == _number(b))
        except ScriptError:
            return False
    return bool(a == b)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {"<": operator.lt, ">": operator.gt, "<=": operator.le,
                                                  ">=": operator.ge}


def juel_cmp(op: str, a: Any, b: Any) -> bool:
    """``< > <= >=``: numbers when either side is a number (strings coerced), strings compare as strings."""
    if _is_num(a) or _is_num(b):
        a, b = _number(a), _number(b)
    if a is None or b is None:
        return False
    try:
        return bool(_COMPARE[op](a, b))
    except TypeError:
        raise ScriptError(f"cannot compare {type(a).__name__} and {type(b).__name__} with '{op}'") from None


def juel_arith(op: str, a: Any, b: Any) -> Any:
    """``+ - * %`` with JUEL coercion (``%`` keeps the dividend's sign, as in Java)."""
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
    if isinstance(x, int) and isinstance(y, int):
        return (abs(x) % abs(y)) * (1 if x >= 0 else -1)
    return math.fmod(x, y)


def juel_div(a: Any, b: Any) -> Any:
    """``/`` and ``div``: always floating-point division."""
    x, y = _number(a), _number(b)
    if y == 0:
        raise ScriptError("division by zero")
    try:
        return x / y
    except TypeError:  # Decimal mixed with float
        return float(x) / float(y)


def juel_empty(value: Any) -> bool:
    """``empty x``: true for null, '' and empty collections."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def juel_get(obj: Any, key: Any) -> Any:
    """``a.b`` / ``a['b']`` / ``a[0]``: only maps and lists; a missing property is an error."""
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
    """A value as composite text prints it: null → '', booleans → true/false."""
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
        sign, unit = (1, name[4:]) if name.startswith("plus") else (-1, name[5:])
        n = int(_number(args[0])) * sign if args else 0
        if unit in ("Years", "Months"):
            month = self.value.month - 1 + n * (12 if unit == "Years" else 1)
            year, month = self.value.year + month // 12, month % 12 + 1
            day = min(self.value.day, calendar.monthrange(year, month)[1])
            return JodaDateTime(self.value.replace(year=year, month=month, day=day))
        return JodaDateTime(self.value + timedelta(**{unit.lower(): n}))


def juel_date_call(obj: Any, name: str, args: list[Any]) -> Any:
    if not isinstance(obj, JodaDateTime) or name not in DATE_METHODS:
        raise ScriptError(f"method '{name}' is not available here")
    return obj.call(name, args)


def juel_helpers(now: Callable[[], datetime] | None = None) -> dict[str, Callable[..., Any]]:
    """The functions translated expressions call; ``now`` gives ``dateTime()``, ``now()`` and ``today()`` a clock."""
    clock = now or (lambda: datetime.now(UTC))
    return {
        "juel_bool": juel_bool, "juel_eq": juel_eq, "juel_cmp": juel_cmp, "juel_arith": juel_arith,
        "juel_div": juel_div, "juel_empty": juel_empty, "juel_get": juel_get, "juel_str": juel_str,
        "juel_date_call": juel_date_call, "dateTime": lambda: JodaDateTime(clock()),
        "now": lambda: clock(), "today": lambda: clock().date(),
    }


__all__ = ["is_juel", "to_python", "timer_to_python", "juel_helpers", "is_iso_literal", "date"]
