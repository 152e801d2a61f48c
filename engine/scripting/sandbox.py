"""The sandbox every script and expression of a diagram runs in.

RestrictedPython compiles the code (no imports, no names or attributes starting with ``_``, no ``exec``/``eval``/
``open``/``compile``/``globals``/``getattr``, no classes, no ``with``/``finally``/bare ``except``), guards attribute,
item and iteration access at run time, and a whitelist of builtins is all the code can call. On top of that:

* time is bounded: a tracer stops code that runs longer than ``time_limit`` seconds or nests calls too deeply. Its
  stop signal is not an ``Exception``, and ``except`` may only name built-in exception classes, so a script cannot
  swallow it (nor run code while it unwinds);
* C-level blow-ups a tracer cannot interrupt are bounded: ``range`` length, ``**``, ``<<``, ``*`` and ``+`` results
  (numbers and sequences), ``str.join``/``replace``/``list.extend``, ``sum`` of sequences, ``round`` digits, widths
  in f-string format specs; ``%`` string formatting, ``str.format`` and padding methods are refused;
* every failure becomes ``ExpressionSyntaxError`` (does not compile) or ``ScriptError`` (refused, timed out or failed
  at run time) with a clear message.

It is not an operating-system sandbox (memory is bounded only through time): only people trusted to design
processes deploy diagrams.
"""

from __future__ import annotations

import ast
import builtins as python_builtins
import math
import operator
import re
import reprlib
import sys
import textwrap
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from types import CodeType, FrameType
from typing import Any, NoReturn

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector

from engine.errors import ExpressionSyntaxError, ScriptError

from . import juel

EXPR_FILE = "<onewindow-expression>"
SCRIPT_FILE = "<onewindow-script>"
_FILES = (EXPR_FILE, SCRIPT_FILE)
MAX_INT_BITS = 100_000
MAX_DEPTH = 100  # nested calls (frames) a script may stack up
_MAX_FORMAT_NUMBER = 1_000  # widths and precisions in f-string format specs
_CACHE_SIZE = 2048
_DENIED_ATTRS = frozenset({
    "format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs", "translate", "maketrans", "to_bytes",
    "mro", "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_back",
    "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next"})
_CLASS_ATTRS = frozenset({"now", "today", "utcnow", "fromisoformat", "fromtimestamp", "fromordinal", "strptime",
                          "combine", "min", "max", "resolution", "fromkeys"})
_FORBIDDEN_NAMES = frozenset({"eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
                              "delattr", "hasattr", "breakpoint", "memoryview"})
CATCHABLE = frozenset(name for name, value in safe_builtins.items()
                      if isinstance(value, type) and issubclass(value, Exception))
_BUILTIN_NAMES = ("None", "False", "True", "abs", "bool", "callable", "chr", "divmod", "float", "hex", "int",
                  "isinstance", "len", "oct", "ord", "slice", "str", "tuple")
_DATA_TYPES = (type(None), bool, int, float, str, bytes, Decimal, date, time_of_day, timedelta, list, tuple, dict,
               set, frozenset)
_SEQUENCES = (str, bytes, list, tuple)


class _Stop(BaseException):
    """A refusal or the time limit. Not an ``Exception``: the script's own ``except`` clauses cannot catch it."""

    def __init__(self, message: str, reason: str = "forbidden") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def _refuse(message: str) -> NoReturn:
    raise _Stop(message)


def _protected(name: str | None) -> bool:
    return name is not None and (name in CATCHABLE or name.startswith("ow_"))


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: bounded ``** * % + <<`` and f-string formats; no ``with``, ``finally``,
    bare ``except``, classes, imports or introspection builtins; built-in exception names cannot be rebound."""

    _OPS = {ast.Pow: "ow_pow", ast.Mult: "ow_mul", ast.Mod: "ow_mod", ast.Add: "ow_add", ast.LShift: "ow_lshift"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = self._OPS.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(func=ast.Name(id="ow_format", ctx=ast.Load()),
                        args=[node.value, spec, ast.Constant(node.conversion)], keywords=[])
        new = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        return ast.fix_missing_locations(ast.copy_location(new, node))

    def visit_Try(self, node: ast.Try) -> ast.AST:
        if node.finalbody:
            self.error(node, "'finally' blocks are not allowed")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.type is None:
            self.error(node, "a bare 'except:' is not allowed: name the exceptions, e.g. 'except ValueError:'")
        else:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if not all(isinstance(t, ast.Name) and t.id in CATCHABLE for t in types):
                self.error(node, "'except' must name built-in exception classes such as ValueError or Exception")
        if _protected(node.name):
            self.error(node, f"'{node.name}' cannot be assigned")
        return super().visit_ExceptHandler(node)

    def _refused(self, node: ast.AST, message: str) -> ast.AST:
        self.error(node, message)
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        return self._refused(node, "'with' statements are not allowed")

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._refused(node, "class definitions are not allowed")

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        return self._refused(node, "import statements are not allowed")

    visit_ImportFrom = visit_Import

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _FORBIDDEN_NAMES:
            self.error(node, f"'{node.id}' is not allowed")
        elif not isinstance(node.ctx, ast.Load) and _protected(node.id):
            self.error(node, f"'{node.id}' cannot be assigned")
        return super().visit_Name(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        if _protected(node.arg):
            self.error(node, f"'{node.arg}' cannot be a parameter name")
        return super().visit_arg(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if _protected(node.name):
            self.error(node, f"'{node.name}' cannot be assigned")
        return super().visit_FunctionDef(node)


class _Guards:
    """The run-time checks compiled code calls: RestrictedPython's ``_*_`` hooks and our ``ow_*`` operators."""

    def __init__(self, max_sequence: int) -> None:
        self.max_sequence = max_sequence

    def size(self, n: int, what: str) -> None:
        if n > self.max_sequence:
            _refuse(f"{what} of {n} items is too large (the limit is {self.max_sequence})")

    def weight(self, seq: Any) -> int:
        """Items a sequence holds, counting one level of nested strings and collections."""
        total = len(seq)
        if isinstance(seq, list | tuple):
            for item in seq:
                if isinstance(item, str | bytes | list | tuple | dict | set | frozenset):
                    total += len(item)
                    if total > self.max_sequence:
                        break
        return total

    def mul(self, a: Any, b: Any) -> Any:
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, _SEQUENCES) and isinstance(n, int) and n > 1:
                self.size(self.weight(seq) * n, "a repeated sequence")
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            _refuse(f"a product of more than {MAX_INT_BITS} bits is too large")
        return a * b

    def add(self, a: Any, b: Any) -> Any:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.size(len(a) + len(b), "a concatenated sequence")
        return a + b

    def pow(self, a: Any, b: Any, mod: Any = None) -> Any:
        if mod is not None:
            return pow(a, b, mod)  # modular exponentiation stays small
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            if b * math.log2(abs(a)) > MAX_INT_BITS:
                _refuse(f"a power of more than {MAX_INT_BITS} bits is too large")
        return a**b

    def lshift(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
            _refuse(f"a shift to more than {MAX_INT_BITS} bits is too large")
        return a << b

    def mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, str | bytes):
            _refuse("'%' string formatting is not allowed; use an f-string")
        return a % b

    def format(self, value: Any, spec: str, conversion: int) -> str:
        if conversion != -1:
            value = {ord("r"): repr, ord("a"): ascii}.get(conversion, str)(value)
        if any(int(n) > _MAX_FORMAT_NUMBER for n in re.findall(r"\d+", spec)):
            _refuse(f"the format '{spec[:40]}' is too wide (numbers up to {_MAX_FORMAT_NUMBER})")
        return format(value, spec)

    def range(self, *args: int) -> range:
        r = range(*args)
        try:
            self.size(len(r), "a range")
        except OverflowError:
            _refuse("a range this long is too large")
        return r

    def sum(self, items: Any, start: Any = 0) -> Any:
        if isinstance(start, _SEQUENCES):
            _refuse("sum() adds numbers only; join sequences with a comprehension")
        return sum(items, start)

    def round(self, number: Any, ndigits: int | None = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > 10_000:
            _refuse("round() to more than 10000 digits is not allowed")
        return round(number, ndigits)

    def inplace(self, op: str, a: Any, b: Any) -> Any:
        checked = {"+=": self.add, "*=": self.mul, "**=": self.pow, "%=": self.mod, "<<=": self.lshift}
        plain = {"-=": operator.sub, "/=": operator.truediv, "//=": operator.floordiv, "&=": operator.and_,
                 "|=": operator.or_, "^=": operator.xor, ">>=": operator.rshift}
        fn = checked.get(op) or plain.get(op)
        if fn is None:
            _refuse(f"operator '{op}' is not allowed")
        return fn(a, b)

    def getattr(self, obj: Any, name: str) -> Any:
        if not isinstance(name, str) or name.startswith("_") or name in _DENIED_ATTRS:
            _refuse(f"access to attribute '{name}' is not allowed")
        if isinstance(obj, type) and name not in _CLASS_ATTRS:
            _refuse(f"access to attribute '{name}' of a class is not allowed")
        value = safer_getattr_raise(obj, name)
        if isinstance(obj, str | bytes) and name in ("join", "replace"):
            return self._join(obj) if name == "join" else self._replace(obj)
        if isinstance(obj, list) and name == "extend":
            return lambda items: obj.extend(self._bounded(list(items), len(obj)))
        return value

    def _bounded(self, items: list[Any], already: int) -> list[Any]:
        self.size(already + len(items), "a list")
        return items

    def _join(self, sep: Any) -> Callable[[Any], Any]:
        def join(items: Any) -> Any:
            parts = list(items)
            total = len(sep) * max(len(parts) - 1, 0)
            for part in parts:
                total += len(part) if isinstance(part, str | bytes) else 0
                self.size(total, "a joined string")
            return sep.join(parts)
        return join

    def _replace(self, text: Any) -> Callable[..., Any]:
        def replace(old: Any, new: Any, count: int = -1) -> Any:
            hits = text.count(old) if count < 0 else min(count, text.count(old))
            self.size(len(text) + hits * max(len(new) - len(old), 0) + (len(new) if not old else 0) * len(text),
                      "a replaced string")
            return text.replace(old, new, count)
        return replace

    @staticmethod
    def getitem(obj: Any, key: Any) -> Any:
        if isinstance(key, str) and key.startswith("__"):
            _refuse(f"access to item '{key}' is not allowed")
        return obj[key]


def _apply(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class _Watch:
    """One run's deadline and call-depth budget, checked by a tracer on our code's call and line events."""

    def __init__(self, limit: float, base: FrameType, max_depth: int) -> None:
        self.limit = limit
        self.deadline = time.monotonic() + limit
        self.base = base
        self.max_depth = max_depth

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in _FILES:
            return None
        self.on_line(frame, "line", arg)
        depth, f = 0, frame
        while f is not None and f is not self.base:
            depth += 1
            if depth > self.max_depth:
                _refuse(f"calls nested deeper than {self.max_depth} levels (runaway recursion?)")
            f = f.f_back
        return self.on_line

    def on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > self.deadline:
            raise _Stop(f"stopped after {self.limit:g} s: the time limit for scripts and expressions", "timeout")
        return self.on_line


class Sandbox:
    """Compiles (with a bounded cache) and runs expressions and scripts. Name lookup order: ``extra``, the task
    data (``context``), ``functions``, the JUEL helpers, then the safe builtins."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, *, time_limit: float = 2.0,
                 max_sequence: int = 1_000_000, now: Callable[[], datetime] | None = None) -> None:
        self.time_limit = time_limit
        self.max_sequence = max_sequence
        guards = _Guards(max_sequence)
        builtins: dict[str, Any] = {name: getattr(python_builtins, name) for name in (*_BUILTIN_NAMES, *CATCHABLE)}
        builtins.update({
            "list": list, "dict": dict, "set": set, "frozenset": frozenset, "sorted": sorted, "min": min, "max": max,
            "enumerate": enumerate, "zip": zip, "any": any, "all": all, "map": map, "filter": filter,
            "reversed": reversed, "next": next, "range": guards.range, "sum": guards.sum, "round": guards.round,
            "pow": guards.pow, "datetime": datetime, "date": date, "timedelta": timedelta,
        })
        self._protected: dict[str, Any] = {
            "__builtins__": builtins, "__name__": "onewindow_script",
            "_getattr_": guards.getattr, "_getitem_": guards.getitem, "_getiter_": iter, "_write_": full_write_guard,
            "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_inplacevar_": guards.inplace, "_apply_": _apply, "_print_": PrintCollector,
            "ow_pow": guards.pow, "ow_mul": guards.mul, "ow_mod": guards.mod, "ow_add": guards.add,
            "ow_lshift": guards.lshift, "ow_format": guards.format,
        }
        self._provided: dict[str, Any] = {**juel.juel_helpers(now), **dict(functions or {})}
        self._cache: OrderedDict[tuple[str, str], CodeType] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def injected_names(self) -> frozenset[str]:
        """Every name the sandbox puts next to the task data (guards, helpers, functions)."""
        return frozenset(self._protected) | frozenset(self._provided)

    # --- compiling -----------------------------------------------------------------------------------
    def _compile(self, src: str, mode: str) -> CodeType:
        key = (mode, src)
        with self._lock:
            code = self._cache.get(key)
            if code is not None:
                self._cache.move_to_end(key)
                return code
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        try:
            result = compiler(src, filename=EXPR_FILE if mode == "eval" else SCRIPT_FILE, policy=_Policy)
        except Exception as exc:  # null bytes, nesting too deep for the parser, ...
            raise ExpressionSyntaxError(f"{type(exc).__name__}: {exc}", expression=src) from None
        if result.errors or result.code is None:
            errors = [str(e) for e in result.errors] or ["does not compile"]
            found = re.search(r"Line (\d+)", errors[0])
            raise ExpressionSyntaxError("; ".join(errors), expression=src, line=int(found.group(1)) if found else None)
        with self._lock:
            self._cache[key] = result.code
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result.code

    def check_expression(self, src: str) -> None:
        """Raise ExpressionSyntaxError unless ``src`` is a Python expression the sandbox accepts."""
        if not src or not src.strip():
            raise ExpressionSyntaxError("empty expression", expression=src)
        self._compile(src.strip(), "eval")

    def check_script(self, src: str) -> None:
        """Raise ExpressionSyntaxError unless ``src`` is a Python script the sandbox accepts."""
        self._compile(textwrap.dedent(src or ""), "exec")

    # --- running -------------------------------------------------------------------------------------
    def evaluate(self, src: str, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        """The value of expression ``src`` against the task data ``context``."""
        if not src or not src.strip():
            raise ExpressionSyntaxError("empty expression", expression=src)
        text = src.strip()
        result = self._run(self._compile(text, "eval"), self._namespace(context, extra), text)
        if isinstance(result, Iterator) or (callable(result) and not isinstance(result, type)):
            raise ScriptError(f"the expression gives a {type(result).__name__}, not a value", expression=text)
        return result

    def execute(self, src: str, context: dict[str, Any], extra: Mapping[str, Any] | None = None) -> None:
        """Run a script against ``context`` (task data), writing its assignments back into it. Names the sandbox
        injected, functions, iterators and other non-data values never end up in the task data."""
        text = textwrap.dedent(src or "")
        ns = self._namespace(context, extra)
        self._run(self._compile(text, "exec"), ns, text)
        provided = {**self._provided, **(extra or {})}
        for name, value in ns.items():
            if name.startswith("_") or name in self._protected:
                continue
            if (name in context and context[name] is value) or (name in provided and provided[name] is value):
                continue
            if isinstance(value, _DATA_TYPES):
                context[name] = value
            else:
                context.pop(name, None)
        for name in [n for n in context if n not in ns and n not in CATCHABLE]:  # `del name` in the script
            del context[name]

    def _namespace(self, context: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
        ns = {**self._provided, **context, **(extra or {})}
        for name in CATCHABLE.intersection(ns):
            del ns[name]  # `except ValueError` always means the built-in class
        ns.update(self._protected)
        return ns

    def _run(self, code: CodeType, namespace: dict[str, Any], src: str) -> Any:
        base = sys._getframe()
        depth, f = 0, base
        while f is not None:
            depth, f = depth + 1, f.f_back
        watch = _Watch(self.time_limit, base, max(10, min(MAX_DEPTH, sys.getrecursionlimit() - depth - 100)))
        previous = sys.gettrace()
        sys.settrace(watch.on_call)
        try:
            return eval(code, namespace)  # noqa: S307 - compiled by RestrictedPython, guarded globals
        except _Stop as stop:
            raise ScriptError(stop.message + _where(stop, src), expression=src, reason=stop.reason) from None
        except ScriptError as exc:
            raise ScriptError(exc.message + _where(exc, src), expression=src, reason=exc.reason) from None
        except RecursionError:
            raise ScriptError("recursion too deep" + _where(None, src), expression=src, reason="forbidden") from None
        except MemoryError:
            raise ScriptError("out of memory", expression=src, reason="forbidden") from None
        except Exception as exc:
            raise ScriptError(f"{type(exc).__name__}: {_message(exc)}{_where(exc, src)}", expression=src) from exc
        finally:
            sys.settrace(previous)


def _message(exc: BaseException) -> str:
    text = str(exc) if all(isinstance(a, str) for a in exc.args) else reprlib.repr(exc.args)
    return text if len(text) <= 300 else text[:300] + "..."


def _where(exc: BaseException | None, src: str) -> str:
    """`` on line N: <code>`` for the deepest frame of the script in the exception's traceback."""
    line = None
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in _FILES:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None:
        return ""
    lines = src.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f" on line {line}" + (f": {text[:120]}" if text else "")
