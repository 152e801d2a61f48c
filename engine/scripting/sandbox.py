"""The sandbox every script and expression of a diagram runs in.

RestrictedPython compiles the code (no imports, no names or attributes starting with ``_``, no ``exec``/``eval``/
``open``/``compile``/``globals``), guards attribute, item and iteration access at run time, and a whitelist of
builtins is all the code can call. On top of that:

* time is bounded: a tracer stops code that runs longer than ``time_limit`` seconds;
* C-level blow-ups a tracer cannot interrupt are bounded: ``range`` length, ``**`` and ``*`` results (numbers and
  sequences), string padding methods, ``%`` string formatting and format specs in f-strings;
* every failure becomes ``ExpressionSyntaxError`` (does not compile) or ``ScriptError`` (refused or failed at run
  time) with a clear message.

It is not an operating-system sandbox: only people trusted to design processes deploy diagrams.
"""

from __future__ import annotations

import ast
import math
import operator
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

from engine.errors import ExpressionSyntaxError, ScriptError

from . import juel

EXPR_FILE = "<onewindow-expression>"
SCRIPT_FILE = "<onewindow-script>"
_DENIED_ATTRS = {"format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs", "mro",
                 "gi_frame", "gi_code", "cr_frame", "ag_frame", "f_globals", "f_back", "tb_frame"}
_REMOVED_BUILTINS = {"setattr", "delattr", "__build_class__", "id", "hash", "callable", "issubclass",
                     "chr", "ord", "hex", "oct", "complex", "slice", "pow", "range", "repr", "divmod"}
MAX_INT_BITS = 100_000


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: ``**``, ``*`` and ``%`` go through bounded helpers; no f-string format specs."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = {ast.Pow: "ow_pow", ast.Mult: "ow_mul", ast.Mod: "ow_mod"}.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        if node.format_spec is not None:
            self.error(node, "format specifications in f-strings are not allowed")
        return self.node_contents_visit(node)


def _guarded_pow(a: Any, b: Any, *mod: Any) -> Any:
    if mod:
        raise ScriptError("pow with a modulus is not allowed", reason="forbidden")
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * math.log2(abs(a)) > MAX_INT_BITS:
            raise ScriptError(f"{a} ** {b} is too large", reason="forbidden")
    return a**b


class _Bounds:
    def __init__(self, max_sequence: int) -> None:
        self.max_sequence = max_sequence

    def mul(self, a: Any, b: Any) -> Any:
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, str | list | tuple | bytes) and isinstance(n, int):
                if len(seq) * n > self.max_sequence:
                    raise ScriptError(f"a sequence of {len(seq) * n} items is too large", reason="forbidden")
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise ScriptError("number too large", reason="forbidden")
        return a * b

    def mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, str | bytes):
            raise ScriptError("'%' string formatting is not allowed; use f-strings or +", reason="forbidden")
        return a % b

    def range(self, *args: int) -> range:
        r = range(*args)
        if len(r) > self.max_sequence:
            raise ScriptError(f"range of {len(r)} items is too large", reason="forbidden")
        return r


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    if not isinstance(name, str) or name.startswith("_") or name in _DENIED_ATTRS:
        raise ScriptError(f"access to attribute '{name}' is not allowed", reason="forbidden")
    if isinstance(obj, type) and name not in ("now", "today", "fromisoformat", "combine", "min", "max"):
        raise ScriptError(f"access to attribute '{name}' of a class is not allowed", reason="forbidden")
    return safer_getattr(obj, name, default)


def _getitem(obj: Any, key: Any) -> Any:
    if isinstance(key, str) and key.startswith("__"):
        raise ScriptError(f"access to item '{key}' is not allowed", reason="forbidden")
    return obj[key]


_INPLACE = {"+=": operator.add, "-=": operator.sub, "/=": operator.truediv, "//=": operator.floordiv,
            "&=": operator.and_, "|=": operator.or_, "^=": operator.xor}


class _Deadline:
    """Stops traced code (frames compiled from our sources) once the deadline passes."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.deadline = 0.0

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise ScriptError(f"stopped after {self.limit:g} s: the time limit for scripts", reason="timeout")
        return self.local

    def global_(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename in (EXPR_FILE, SCRIPT_FILE):
            if time.monotonic() > self.deadline:
                raise ScriptError(f"stopped after {self.limit:g} s: the time limit for scripts", reason="timeout")
            return self.local
        return None


class Sandbox:
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, *, time_limit: float = 2.0,
                 max_sequence: int = 1_000_000, now: Callable[[], datetime] | None = None) -> None:
        self.time_limit = time_limit
        bounds = _Bounds(max_sequence)
        builtins = {k: v for k, v in safe_builtins.items() if k not in _REMOVED_BUILTINS}
        builtins.update({
            "list": list, "tuple": tuple, "dict": dict, "set": set, "frozenset": frozenset, "sum": sum, "min": min,
            "max": max, "sorted": sorted, "enumerate": enumerate, "zip": zip, "any": any, "all": all, "map": map,
            "filter": filter, "reversed": reversed, "range": bounds.range, "pow": _guarded_pow,
            "datetime": datetime, "date": date, "timedelta": timedelta,
        })
        self._globals: dict[str, Any] = {
            "__builtins__": builtins, "__name__": "onewindow_script", "__metaclass__": type,
            "_getattr_": _getattr, "_getitem_": _getitem, "_getiter_": iter, "_write_": full_write_guard,
            "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_inplacevar_": self._inplace, "_apply_": lambda f, *a, **kw: f(*a, **kw),
            "ow_pow": _guarded_pow, "ow_mul": bounds.mul, "ow_mod": bounds.mod,
        }
        self._bounds = bounds
        self._helpers = {**juel.juel_helpers(now), **dict(functions or {})}
        self._injected = set(self._globals) | set(self._helpers)
        self._cache: OrderedDict[tuple[str, str], CodeType] = OrderedDict()
        self._lock = threading.Lock()
        self._deadline = _Deadline(time_limit)

    def _inplace(self, op: str, a: Any, b: Any) -> Any:
        if op == "*=":
            return self._bounds.mul(a, b)
        if op == "**=":
            return _guarded_pow(a, b)
        if op == "%=":
            return self._bounds.mod(a, b)
        fn = _INPLACE.get(op)
        if fn is None:
            raise ScriptError(f"operator '{op}' is not allowed", reason="forbidden")
        return fn(a, b)

    # --- compiling -----------------------------------------------------------------------------------
    def _compile(self, src: str, mode: str) -> CodeType:
        key = (mode, src)
        with self._lock:
            code = self._cache.get(key)
            if code is not None:
                self._cache.move_to_end(key)
                return code
        filename = EXPR_FILE if mode == "eval" else SCRIPT_FILE
        try:
            result = compile_restricted(src, filename=filename, mode=mode, policy=_Policy)
        except SyntaxError as exc:  # RestrictedPython's own errors have lineno None: never let them escape
            line = f" (line {exc.lineno})" if exc.lineno else ""
            raise ExpressionSyntaxError(f"{exc.msg or exc}{line}", expression=src, line=exc.lineno) from None
        except Exception as exc:
            raise ExpressionSyntaxError(f"{type(exc).__name__}: {exc}", expression=src) from None
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 2048:
                self._cache.popitem(last=False)
        return result

    def check_expression(self, src: str) -> None:
        """Raise ExpressionSyntaxError unless ``src`` is a Python expression the sandbox accepts."""
        if not src or not src.strip():
            raise ExpressionSyntaxError("empty expression", expression=src)
        self._compile(src.strip(), "eval")

    def check_script(self, src: str) -> None:
        self._compile(_dedent(src), "exec")

    # --- running -------------------------------------------------------------------------------------
    def _run(self, code: CodeType, namespace: dict[str, Any], src: str) -> Any:
        previous = sys.gettrace()
        self._deadline.deadline = time.monotonic() + self.time_limit
        tracer = self._deadline.global_
        sys.settrace(tracer)
        try:
            return eval(code, namespace)  # noqa: S307 - code compiled by RestrictedPython, guarded globals
        except ScriptError:
            raise
        except RecursionError:
            raise ScriptError("recursion too deep", expression=src, reason="forbidden") from None
        except MemoryError:
            raise ScriptError("out of memory", expression=src, reason="forbidden") from None
        except (NameError, AttributeError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError,
                ArithmeticError, LookupError, AssertionError, StopIteration, RuntimeError, Exception) as exc:
            raise ScriptError(_describe(exc, src), expression=src) from exc
        finally:
            sys.settrace(previous)

    def _namespace(self, context: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
        ns = dict(self._globals)
        ns.update(self._helpers)
        ns.update(context)
        if extra:
            ns.update(extra)
        return ns

    def evaluate(self, src: str, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        code = self._compile(src.strip(), "eval")
        return self._run(code, self._namespace(context, extra), src)

    def execute(self, src: str, context: dict[str, Any], extra: Mapping[str, Any] | None = None) -> None:
        """Run a script against ``context`` (task data), writing its assignments back into it."""
        text = _dedent(src)
        code = self._compile(text, "exec")
        ns = self._namespace(context, extra)
        before = set(ns)
        self._run(code, ns, text)
        injected = self._injected | set(extra or {})
        for name, value in ns.items():
            if name in injected and name not in context:
                continue
            if name.startswith("_") or callable(value) and not isinstance(value, type) and name not in context:
                continue
            if name in context or name not in before:
                context[name] = value
        for name in [n for n in context if n not in ns]:
            del context[name]


def _dedent(src: str) -> str:
    import textwrap

    return textwrap.dedent(src).strip("\n")


def _describe(exc: BaseException, src: str) -> str:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (EXPR_FILE, SCRIPT_FILE):
            line = tb.tb_lineno
        tb = tb.tb_next
    where = ""
    if line is not None:
        lines = src.splitlines()
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        where = f" on line {line}" + (f": {text}" if text else "")
    return f"{type(exc).__name__}: {exc}{where}"
