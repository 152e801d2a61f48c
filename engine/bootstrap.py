"""The composition root: ``build_engine(settings)`` wires everything; nothing is wired at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from engine.api import Engine
from engine._executor import Executor
from engine.calendar import parse_office_hours
from engine.calendar.service import CalendarStore
from engine.clock import Clock, SystemClock
from engine.definitions.deployment import ModelCache
from engine.persistence import migrate
from engine.persistence.db import create_db_engine
from engine.runtime.cases import WorkflowCache
from engine.runtime.script_engine import SandboxScriptEngine
from engine.scripting.sandbox import Sandbox
from engine.settings import Settings
# modules that register job handlers (deadline warnings and timeouts, notifications)
import engine.caseclock.policies  # noqa: E402,F401
import engine.jobs.listeners  # noqa: E402,F401 - camunda:taskListener event="timeout"
from engine.outbox import JsonlNotifier, LogNotifier, SmtpNotifier  # noqa: E402


@dataclass
class Services:
    settings: Settings
    sandbox: Sandbox
    script_engine: Any
    models: ModelCache
    tz: ZoneInfo
    workflows: WorkflowCache
    calendar: CalendarStore | None = None
    notifier: Any = None


def _notifier(settings: Settings) -> Any:
    """The JSON-lines file or the log; with ``smtp_host`` also e-mail (SmtpNotifier passes every message on)."""
    base = JsonlNotifier(settings.notify_file) if settings.notify_file else LogNotifier()
    if not settings.smtp_host:
        return base
    return SmtpNotifier(settings.smtp_host, settings.smtp_port, user=settings.smtp_user,
                        password=settings.smtp_password, sender=settings.smtp_from, also=base)


def build_engine(settings: Settings | None = None, *, clock: Clock | None = None, upgrade: bool = True) -> Engine:
    """Build an engine on ``settings.database_url``; ``upgrade`` creates or migrates the schema first."""
    settings = settings or Settings.from_env()
    db = create_db_engine(settings.database_url, echo=settings.sql_echo)
    if upgrade:
        migrate.ensure_current(db)
    clock = clock or SystemClock()
    calendar = CalendarStore(db, tz=ZoneInfo(settings.timezone), office_hours=parse_office_hours(settings.office_hours),
                             region=settings.calendar_region, ttl=settings.calendar_cache_seconds)
    sandbox = Sandbox({"workdays": calendar.workdays_function(clock.now)}, time_limit=settings.script_time_limit,
                      now=clock.now)
    services = Services(settings=settings, sandbox=sandbox, script_engine=SandboxScriptEngine(sandbox),
                        models=ModelCache(sandbox), tz=ZoneInfo(settings.timezone), workflows=WorkflowCache(),
                        calendar=calendar,
                        notifier=_notifier(settings))
    services.script_engine.zone = services.tz  # cron cycles inside cases are evaluated in the engine's zone
    executor = Executor(db, clock, services)
    return Engine(db, executor, services)
