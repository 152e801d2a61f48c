"""Regenerate ``engine/calendar/data/cn.json`` from the installed ``chinese_calendar`` package:

    python -m engine.calendar.seed

The engine reads only the data file at run time; the package is needed just to refresh it when a new year's
official schedule (国务院办公厅关于部分节假日安排的通知) is published."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).with_name("data") / "cn.json"


def build() -> dict:
    from chinese_calendar import constants

    years = sorted({d.year for d in constants.holidays})
    out: dict = {"source": "chinese_calendar (PyPI chinesecalendar)", "years": {}}
    for year in years:
        out["years"][str(year)] = {
            "holidays": {d.isoformat(): str(name) for d, name in sorted(constants.holidays.items())
                         if d.year == year},
            "workdays": {d.isoformat(): str(name) for d, name in sorted(constants.workdays.items())
                         if d.year == year},
        }
    return out


def main() -> None:
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(build(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    main()
