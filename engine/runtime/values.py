"""Evaluating the Camunda attributes SpiffWorkflow ignores (assignee, candidates, due dates, priority, names)
and typing variables the Camunda way."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput, ScriptError
from engine.scripting import juel

DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def evaluate(sandbox: Any, text: str | None, data: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """A Camunda attribute value: JUEL ``${...}`` is evaluated against the task data, anything else is a literal."""
    if text is None:
        return None
    if not juel.is_juel(text):
        return text
    return sandbox.evaluate(juel.to_python(text), data, extra)


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple | set):
        out: list[str] = []
        for v in value:
            out.extend(as_list(v))
        return out
    return [str(value)]


def parse_duration(text: str) -> timedelta | None:
    m = DURATION.match(text.strip())
    if not m or text.strip() in ("P", "PT"):
        return None
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return timedelta(**parts)


def to_instant(value: Any, base: datetime, tz: ZoneInfo) -> datetime | None:
    """A due/follow-up value: datetime, date (end of that day), ISO date-time, or ISO duration from ``base``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), tz)
    if isinstance(value, timedelta):
        return base + value
    if isinstance(value, str):
        text = value.strip()
        duration = parse_duration(text)
        if duration is not None:
            return base + duration
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ScriptError(f"'{value}' is neither an ISO 8601 date-time nor a duration", expression=text) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise ScriptError(f"a due date must be a date-time or an ISO duration, got {type(value).__name__}")


def camunda_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if -(2**31) <= value < 2**31 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, datetime | date):
        return "Date"
    return "Json"


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def dump_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=json_default)


def check_variables(variables: dict[str, Any] | None) -> dict[str, Any]:
    """Variables given by a caller: names must be identifiers a diagram can refer to."""
    if not variables:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput("variables must be a mapping of name to value")
    for name in variables:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or name.startswith("__"):
            raise InvalidInput(f"variable name '{name}' is not valid: use letters, digits and _ (not starting with a digit)")
        try:
            json.dumps(variables[name], default=json_default)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"variable '{name}' cannot be stored: {exc}") from None
    return dict(variables)
