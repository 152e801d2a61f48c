"""Console script ``onewindow``: the engine's command group plus ``serve`` (the web app; engine/cli.py never
imports Flask)."""

from __future__ import annotations

from typing import Any

import click

from engine.cli import cli, handle_errors


def _run_handlers(engine: Any, stop: Any, every: float = 2.0) -> None:
    """The service items' automatic steps (processes/*.HANDLERS: realistic fakes of the external systems) as an
    in-process external-task worker, for the demo."""
    import logging

    from processes.demo import all_handlers
    from processes.worker import drain

    handlers = all_handlers()
    while not stop.wait(every):
        try:
            drain(engine, handlers, worker_id="demo-handlers")
        except Exception:  # noqa: BLE001 - keep serving; the next round retries
            logging.getLogger("onewindow.demo").exception("automatic steps failed")


def _serve(engine: Any, host: str, port: int, threads: int, timers: bool, handlers: bool = False, *,
           sockets: list[Any] | None = None, name: str | None = None) -> None:
    """Serve ``engine`` (closed at the end) with waitress until SIGTERM/Ctrl-C, the timers in-process unless off;
    ``handlers``: the items' automatic steps too (demo); ``sockets``: listening sockets to serve on instead of
    ``host``:``port`` (a worker of ``serve --workers``, web/prefork.py), ``name`` the worker's."""
    import gc
    import signal
    import threading

    import waitress

    from engine.jobs.worker import JobWorker
    from web.app import create_app

    app = create_app(engine)
    worker = None
    if timers:
        worker = JobWorker(engine)
        worker.start()
    stop_handlers = threading.Event()
    if handlers:
        threading.Thread(target=_run_handlers, args=(engine, stop_handlers), name="demo-handlers",
                         daemon=True).start()

    def _stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)  # waitress stops its loop on SystemExit; the finally below stops the timers

    signal.signal(signal.SIGTERM, _stop)
    # what start-up made (modules, the diagrams, SQLAlchemy's metadata, Flask's app: ~130,000 objects) is kept
    # out of the cyclic garbage collector's full passes, which stop every request thread while they run (80 ms
    # with it, 30 ms without on a server holding 512 cached cases; docs/performance.md, REST)
    gc.collect()
    gc.freeze()
    click.echo(f"OneWindow on http://{host}:{port}/ ({name + ', ' if name else ''}timers: "
               f"{'in this process, worker ' + worker.worker_id if worker else 'off'})", err=True)
    try:
        where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
        waitress.serve(app, threads=threads, ident="onewindow", **where)
    finally:
        stop_handlers.set()
        if worker is not None:
            worker.stop()
        engine.close()


def _build(clock: Any = None, upgrade: bool = True) -> Any:
    from engine.bootstrap import build_engine
    from engine.cli import _clock_from_env
    from engine.settings import Settings

    return build_engine(Settings.from_env(), clock=clock or _clock_from_env(), upgrade=upgrade)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=int, help="port to listen on")
@click.option("--threads", default=8, show_default=True, type=int, help="request threads (waitress)")
@click.option("--no-timers", is_flag=True, help="do not run the timers in this process (a separate `onewindow "
              "worker` runs them)")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="server processes sharing the port (POSIX); about twice the CPU cores")
def serve(host: str, port: int, threads: int, no_timers: bool, workers: int) -> None:
    """Serve the web app and the REST API (waitress) with the timers running in-process."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if workers > 1:
        from web.prefork import serve_workers

        serve_workers(lambda upgrade: _build(upgrade=upgrade), _serve, host=host, port=port, threads=threads,
                      timers=not no_timers, workers=workers)
        return
    _serve(_build(), host, port, threads, not no_timers)


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=int, help="port to listen on")
@click.option("--seed-only", is_flag=True, help="seed the demo data and exit (no web server)")
@click.option("--bpmn-dir", default=None, type=click.Path(file_okay=False), help="diagrams to deploy (default bpmn/)")
@click.option("--cases", default=200, show_default=True, type=click.IntRange(0, 5000),
              help="applications in the simulated months (0: only the ten sample cases)")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 365),
              help="calendar days of simulated work before now")
@handle_errors
def demo(host: str, port: int, seed_only: bool, bpmn_dir: str | None, cases: int, days: int) -> None:
    """Seed a demo system (departments, a user of every role, the diagrams of bpmn/, cases in every state driven
    through the engine on a moved clock) and serve the web app on it with the timers running."""
    from engine import demo as seeding

    def say(message: str) -> None:
        click.echo(f"  {message}", err=True)

    engine = _build()
    try:
        click.echo(f"seeding the demo in {engine.services.settings.database_url}", err=True)
        seeding.seed_identity(engine, say)
        seeding.deploy(engine, bpmn_dir, say)
        now = engine.clock.now()
    finally:
        engine.close()
    seeding.seed_cases(_build, now, say)
    if cases:
        from processes.demo import simulate

        click.echo(f"simulating {days} days of work ({cases} applications) on a moved clock", err=True)
        started = simulate(_build, now, days=days, cases=cases, password=seeding.DEMO_PASSWORD, say=say)
        click.echo(f"  {started} cases started", err=True)
    click.echo("demo users (password for every one: " + seeding.DEMO_PASSWORD + "):")
    for user in seeding.USERS:
        click.echo(f"  {user.id:<8} {user.name:<6} {user.what}")
    engine = _build()
    try:
        others = [u for u in engine.identity.users() if u.id not in {d.id for d in seeding.USERS}]
    finally:
        engine.close()
    if others:
        click.echo("  reviewers of the other departments: " + ", ".join(
            f"{u.id} ({'/'.join(u.groups)})" for u in others))
    if seed_only:
        click.echo("seeded; `onewindow instances --json` lists the cases, `onewindow demo` serves them")
        return
    click.echo(f"open http://{host}:{port}/ and sign in as one of them (Ctrl-C stops)")
    _serve(_build(), host, port, 8, True, handlers=True)


def main() -> None:
    cli(prog_name="onewindow")


if __name__ == "__main__":
    main()
