"""``onewindow demo`` until the web app lands: deploy the diagrams in bpmn/, start one case and show the inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.tasks.queries import TaskQuery


def _default_bpmn_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "bpmn"
    return here if here.is_dir() else Path.cwd() / "bpmn"


def run_demo(engine: Any, bpmn_dir: str | None) -> None:
    root = Path(bpmn_dir) if bpmn_dir else _default_bpmn_dir()
    files = sorted([*root.rglob("*.bpmn"), *root.rglob("*.dmn")])
    if not files:
        raise click.ClickException(f"no .bpmn files under {root}")
    result = engine.repository.deploy_files(files, name="demo", source="demo")
    for d in (*result.definitions, *result.unchanged):
        click.echo(f"deployed {d.key} version {d.version}")
    existing = engine.runtime.instances(business_key="DEMO-0001")
    if not existing:
        engine.runtime.start("sample_parallel_approval", business_key="DEMO-0001",
                             variables={"applicant": "示例企业有限公司"}, started_by="demo")
    click.echo(f"database: {engine.services.settings.database_url}")
    click.echo("demo users (the web app adds logins): clerk1 (group window), market1 (market), fire1 (fire), "
               "env1 (environment)")
    click.echo("inbox of group 'window':")
    for t in engine.tasks.list(TaskQuery(candidate_group="window")):
        click.echo(f"  {t.id}  {t.name}  case {t.business_key}")
    click.echo("next: onewindow claim TASK --user clerk1; onewindow complete TASK --user clerk1 --var accepted=true")
