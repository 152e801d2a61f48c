"""Console script ``onewindow``: the engine's command group (the web app adds ``serve`` later)."""

from __future__ import annotations

from engine.cli import cli


def main() -> None:
    cli(prog_name="onewindow")
