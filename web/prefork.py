"""``onewindow serve --workers N``: N server processes sharing one listening socket (the pre-fork model of
gunicorn), so that the request threads of one process no longer wait for each other's turn at Python's global
interpreter lock: the operating system shares the cores among the processes instead.

The parent migrates the schema, settles the session key (every worker must sign cookies with the same one), takes
the port, and forks the workers; each worker builds its own engine (no database connection crosses a fork) and
serves with waitress. Each worker listens on its own ``SO_REUSEPORT`` socket (Linux, BSD), so the kernel spreads
new connections evenly over the workers (one socket shared by all goes to whichever wakes first: 11 of 20
connections in one of 4 workers, measured); elsewhere they share the parent's socket. A keep-alive connection
stays with the worker that accepted it (so a case's next request usually finds the case in that worker's workflow
cache).
Every worker runs the timers unless they run elsewhere (``--no-timers``): a job is armed in the process whose
command created it (a one-second timer fires after one second, not at the next 30-second sweep of another
process), and each job fires at most once whatever the number of processes (it is taken with a lease). A worker
that dies is replaced; SIGTERM or Ctrl-C stops them all. POSIX only (``os.fork``).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import click

RESTART_WINDOW = 10.0  # seconds: a worker that dies sooner after its start counts as a failed start
MAX_FAILED_STARTS = 5  # in a row: then the server gives up (a broken configuration, not a crash)
STOP_TIMEOUT = 30.0  # seconds the workers get to finish their requests after SIGTERM


REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, reuse_port: bool, listen: bool = True,
                     backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    if listen:
        sock.listen(backlog)
        sock.setblocking(False)
    return sock


def serve_workers(build: Callable[[bool], Any], serve: Callable[..., None], *, host: str, port: int, threads: int,
                  timers: bool, workers: int) -> None:
    """``build(upgrade)`` makes an engine; ``serve(engine, host, port, threads, timers, sockets=..., name=...)``
    serves it in a worker until SIGTERM."""
    if not hasattr(os, "fork"):
        raise click.ClickException("--workers needs a POSIX system (os.fork); run one process per port instead")
    engine = build(True)  # the schema is migrated once, here, before any worker starts
    try:
        if not os.environ.get("ONEWINDOW_SECRET_KEY"):
            from web.app import create_app
            from web.ui.base import secret_key

            os.environ["ONEWINDOW_SECRET_KEY"] = secret_key(create_app(engine))  # read or made once, inherited
    finally:
        engine.close()
    # with SO_REUSEPORT the parent's socket is bound, not listening: it holds the port (a taken port fails here, at
    # once) and receives no connection; the workers' sockets join it
    sock = listening_socket(host, port, reuse_port=REUSE_PORT, listen=not REUSE_PORT)
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker number, started at)
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                own = sock
                if REUSE_PORT:
                    own = listening_socket(host, port, reuse_port=True)
                    sock.close()  # the parent's, which holds the port
                serve(build(False), host, port, threads, timers, sockets=[own],
                      name=f"worker {number}, pid {os.getpid()}")
            except (SystemExit, KeyboardInterrupt):
                pass
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = (number, time.monotonic())

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"OneWindow: {workers} worker processes on http://{host}:{port}/ (parent pid {os.getpid()})", err=True)
    for number in range(workers):
        spawn(number)
    failed = 0
    deadline = None
    while children:
        if stopping and deadline is None:
            deadline = time.monotonic() + STOP_TIMEOUT
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if deadline is not None and time.monotonic() > deadline:
                for child in list(children):
                    os.kill(child, signal.SIGKILL)
                deadline = time.monotonic() + STOP_TIMEOUT
            time.sleep(0.1)
            continue
        number, started = children.pop(pid)
        if stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        failed = failed + 1 if time.monotonic() - started < RESTART_WINDOW else 0
        click.echo(f"OneWindow: worker {number} (pid {pid}) ended with {code}; "
                   + ("giving up: it keeps failing at start" if failed >= MAX_FAILED_STARTS else "starting another"),
                   err=True)
        if failed >= MAX_FAILED_STARTS:
            stop(signal.SIGTERM, None)
            sock.close()
            raise click.ClickException(f"worker {number} failed {failed} times in a row at start")
        spawn(number)
    sock.close()
