"""办件编号 (the business key of a case received at the window): ``Settings.case_number_format`` with ``{region}``
(``Settings.region_code``, 行政区划代码), ``{date}`` (the local day in the engine's time zone, with a strftime spec,
e.g. ``{date:%Y%m%d}``) and ``{seq}`` (e.g. ``{seq:04d}``). Default ``{region}-{date:%Y%m%d}-{seq:04d}`` →
``330100-20260302-0001``.

The sequence belongs to the number with ``{seq}`` left out (its *scope*): with the default format a daily
sequence per region, with ``{region}{date:%Y}{seq:06d}`` a yearly one. It is one row of ``case_number_counter``
per scope, taken inside the command that records the application with ``UPDATE ... SET value = value + 1
RETURNING value`` (the row lock makes a second clerk wait for the first one's commit and then read the next
value); the first number of a scope INSERTs the row, and two clerks racing for that first row collide on its
primary key: the loser's command is re-run by the executor and takes the next value. A number that a refused
command took is rolled back with it: no gaps from refusals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, update

from engine.errors import InvalidInput
from engine.persistence.models import CaseNumberCounter

_T = CaseNumberCounter.__table__
MAX_LENGTH = 64


class _Marker:
    def __format__(self, spec: str) -> str:
        return "#"


def render(fmt: str, region: str, day: date, seq: Any) -> str:
    """The number for ``seq`` (or the scope, when ``seq`` is the marker); InvalidInput for a broken format."""
    if "{seq" not in fmt:
        raise InvalidInput(f"case number format '{fmt}' has no {{seq}} field (ONEWINDOW_CASE_NUMBER_FORMAT): "
                           f"numbers would not be unique")
    try:
        text = fmt.format(region=region, date=day, seq=seq)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"case number format '{fmt}' cannot be used (ONEWINDOW_CASE_NUMBER_FORMAT): {exc!r}; "
                           f"the fields are {{region}}, {{date:%Y%m%d}} and {{seq:04d}}") from None
    if not text or len(text) > MAX_LENGTH:
        raise InvalidInput(f"case number format '{fmt}' gives '{text}': a number is 1 to {MAX_LENGTH} characters")
    return text


def scope_of(fmt: str, region: str, day: date) -> str:
    return render(fmt, region, day, _Marker())


def next_number(uow: Any, at: datetime | None = None) -> str:
    """Take the next 办件编号 in this command's transaction."""
    settings = uow.services.settings
    day = (at or uow.now).astimezone(uow.services.tz).date()
    fmt, region = settings.case_number_format, settings.region_code
    scope = scope_of(fmt, region, day)
    conn = uow.session.connection()
    value = conn.execute(update(_T).where(_T.c.scope == scope).values(value=_T.c.value + 1)
                         .returning(_T.c.value)).scalar()
    if value is None:  # the first number of the scope (a race for it is an IntegrityError: the command is re-run)
        conn.execute(insert(_T).values(scope=scope, value=1))
        value = 1
    return render(fmt, region, day, int(value))
