"""Engine settings. ``Settings.from_env()`` is the only reader of the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "onewindow-data"


@dataclass(frozen=True)
class Settings:
    database_url: str
    script_time_limit: float = 2.0
    timezone: str = "Asia/Shanghai"
    # A case whose SpiffWorkflow task tree holds more tasks than this is compacted after a step
    # (finished history above the active frontier is dropped from the live tree; our history keeps it).
    compact_threshold: int = 120
    sql_echo: bool = False
    # working-day calendar: office hours (deadlines end at the close of the last period), the region whose
    # calendar overrides apply by default (None = national only), how long a process caches the overrides
    office_hours: str = "08:30-12:00,14:30-17:30"
    calendar_region: str | None = None
    calendar_cache_seconds: float = 60.0
    # how long a process keeps a user's groups, roles and active flag for logins and request checks (REST Basic
    # authentication, the pages' session user): changes made through this process apply at once, changes made by
    # another process within this many seconds; 0 = read them on every request
    identity_cache_seconds: float = 5.0
    # notifications (outbox): a JSON-lines file to deliver them to (the edge: mail/SMS gateways plug in here);
    # None = the log
    notify_file: str | None = None
    # e-mail delivery of the notifications (engine.outbox.SmtpNotifier), off unless smtp_host is set
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "onewindow@localhost"
    # window intake (一窗受理): the 办件编号 is ``case_number_format`` with {region} (``region_code``, 行政区划代码),
    # {date} (the local day, strftime spec) and {seq} (the sequence of the number with {seq} left out: daily here)
    region_code: str = "330100"
    case_number_format: str = "{region}-{date:%Y%m%d}-{seq:04d}"

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("ONEWINDOW_DATABASE_URL")
        if not url:
            data_dir = Path(os.environ.get("ONEWINDOW_DATA_DIR", DEFAULT_DATA_DIR))
            url = f"sqlite:///{data_dir / 'onewindow.db'}"
        return cls(
            database_url=url,
            script_time_limit=float(os.environ.get("ONEWINDOW_SCRIPT_TIME_LIMIT", "2.0")),
            timezone=os.environ.get("ONEWINDOW_TIMEZONE", "Asia/Shanghai"),
            office_hours=os.environ.get("ONEWINDOW_OFFICE_HOURS", "08:30-12:00,14:30-17:30"),
            calendar_region=os.environ.get("ONEWINDOW_CALENDAR_REGION") or None,
            identity_cache_seconds=float(os.environ.get("ONEWINDOW_IDENTITY_CACHE_SECONDS") or 5.0),
            notify_file=os.environ.get("ONEWINDOW_NOTIFY_FILE") or None,
            smtp_host=os.environ.get("ONEWINDOW_SMTP_HOST") or None,
            smtp_port=int(os.environ.get("ONEWINDOW_SMTP_PORT") or 25),
            smtp_user=os.environ.get("ONEWINDOW_SMTP_USER") or None,
            smtp_password=os.environ.get("ONEWINDOW_SMTP_PASSWORD") or None,
            smtp_from=os.environ.get("ONEWINDOW_SMTP_FROM") or "onewindow@localhost",
            region_code=os.environ.get("ONEWINDOW_REGION_CODE") or "330100",
            case_number_format=os.environ.get("ONEWINDOW_CASE_NUMBER_FORMAT") or "{region}-{date:%Y%m%d}-{seq:04d}",
        )
