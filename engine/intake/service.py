"""The façade of the window intake: ``engine.intake`` (one decision = one transaction)."""

from __future__ import annotations

import logging
from datetime import date
from functools import partial
from typing import Any

from engine.errors import EngineError

from . import commands
from .commands import ApplicationView

log = logging.getLogger(__name__)


class IntakeService:
    """一窗受理. ``items()``/``item(key)``: the service items of the registry (processes/). Decisions on a new
    application (``item_key``) or on one waiting for 补正 (``application``: its 办件编号 or id):
    ``accept``, ``accept_with_gap`` (容缺受理), ``notify`` (一次性告知), ``reject`` (不予受理), or ``decide(decision, ...)``
    with ``decision`` one of accept/gap/notify/reject; ``supplement`` (补正) records materials that came.

    ``materials``: {material key: {"status": received|missing|noncompliant, "form": original|copy, "copies": n,
    "remark": text, "files": [{"name", "sha256", "size", "contentType"}]}}; materials not given are missing.
    ``applicant``: {"name", "idNumber", "phone", "address", "delivery": pickup|mail, "contact"}.
    """

    def __init__(self, ex: Any) -> None:
        self._ex = ex

    # service items
    def items(self) -> tuple[Any, ...]:
        return commands.service_items()

    def item(self, key: str) -> Any:
        return commands.service_item(key)

    # decisions
    def decide(self, decision: str, *, item_key: str | None = None, application: str | None = None,
               materials: dict[str, dict[str, Any]] | None = None, applicant: dict[str, Any] | None = None,
               reason: str | None = None, commitment_due: date | str | None = None,
               commitment_note: str | None = None, expected_version: int | None = None,
               actor: str | None = None, variables: dict[str, Any] | None = None) -> ApplicationView:
        view = self._ex.run(partial(commands.decide, decision=decision, item_key=item_key, application=application,
                                    materials=materials, applicant=applicant, reason=reason,
                                    commitment_due=commitment_due, commitment_note=commitment_note,
                                    expected_version=expected_version, actor=actor, variables=variables))
        if view.state == "ACCEPTED":
            self._complete_window_step(view, actor)
        return view

    def accept(self, item_key: str | None = None, **kwargs: Any) -> ApplicationView:
        return self.decide("accept", item_key=item_key, **kwargs)

    def accept_with_gap(self, item_key: str | None = None, *, commitment_due: date | str | None,
                        **kwargs: Any) -> ApplicationView:
        return self.decide("gap", item_key=item_key, commitment_due=commitment_due, **kwargs)

    def notify(self, item_key: str | None = None, **kwargs: Any) -> ApplicationView:
        return self.decide("notify", item_key=item_key, **kwargs)

    def reject(self, item_key: str | None = None, *, reason: str | None, **kwargs: Any) -> ApplicationView:
        return self.decide("reject", item_key=item_key, reason=reason, **kwargs)

    def supplement(self, application: str, materials: dict[str, dict[str, Any]], *,
                   expected_version: int | None = None, actor: str | None = None) -> ApplicationView:
        return self._ex.run(partial(commands.supplement, application=application, materials=materials,
                                    expected_version=expected_version, actor=actor))

    # reads
    def application(self, application: str) -> ApplicationView:
        return self._ex.read(lambda s: commands.get_application(s, self._ex.services.tz, application))

    def applications(self, *, state: str | None = None, item_key: str | None = None, search: str | None = None,
                     limit: int = 100, offset: int = 0) -> list[ApplicationView]:
        return self._ex.read(lambda s: commands.list_applications(s, self._ex.services.tz, state=state,
                                                                  item_key=item_key, search=search, limit=limit,
                                                                  offset=offset))

    def count(self, state: str | None = None) -> int:
        return self._ex.read(lambda s: commands.count_applications(s, state=state))

    # the diagram's window step
    def _complete_window_step(self, view: ApplicationView, actor: str | None) -> None:
        """The acceptance is the diagram's window step (``ServiceItem.intake_activity``): complete it for the clerk
        (accepted = true). Its own transaction after the acceptance: should it fail, the step stays in the window's
        inbox and is completed there by hand — the case, its clock and its number stand."""
        item = commands.service_item(view.item_key)
        activity = getattr(item, "intake_activity", None)
        if not activity or not view.instance_id:
            return
        from engine.tasks import commands as task_commands
        from engine.tasks import queries as task_queries

        tasks = self._ex.read_rows(lambda c: task_queries.list_tasks(c, task_queries.TaskQuery(
            instance_id=view.instance_id, task_definition_key=activity)))
        for task in tasks:
            try:
                self._ex.run(partial(task_commands.complete, task_id=task.id, user_id=actor,
                                     variables={"accepted": True, "applicant": view.applicant["name"]}),
                             optimistic=True)
            except EngineError as exc:  # the step stays open for the window: logged, the acceptance stands
                log.warning("window step %s of case %s not completed after intake: %s", task.id, view.number, exc)
