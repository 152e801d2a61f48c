"""Console script ``onewindow``: the engine's command group plus ``serve`` (the web app; engine/cli.py never
imports Flask)."""

from __future__ import annotations

import click

from engine.cli import cli


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=int, help="port to listen on")
@click.option("--threads", default=8, show_default=True, type=int, help="request threads (waitress)")
@click.option("--no-timers", is_flag=True, help="do not run the timers in this process (a separate `onewindow "
              "worker` runs them)")
def serve(host: str, port: int, threads: int, no_timers: bool) -> None:
    """Serve the web app and the REST API (waitress) with the timers running in-process."""
    import logging
    import signal

    import waitress

    from engine.bootstrap import build_engine
    from engine.cli import _clock_from_env
    from engine.jobs.worker import JobWorker
    from engine.settings import Settings
    from web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(Settings.from_env(), clock=_clock_from_env())
    app = create_app(engine)
    worker = None
    if not no_timers:
        worker = JobWorker(engine)
        worker.start()

    def _stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)  # waitress stops its loop on SystemExit; the finally below stops the timers

    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"OneWindow on http://{host}:{port}/ (timers: "
               f"{'in this process, worker ' + worker.worker_id if worker else 'off'})", err=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="onewindow")
    finally:
        if worker is not None:
            worker.stop()
        engine.close()


def main() -> None:
    cli(prog_name="onewindow")


if __name__ == "__main__":
    main()
