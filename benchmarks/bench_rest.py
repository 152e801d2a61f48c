"""REST benchmark (not a test): the approval workload of bench_approval (start → window task → 3 parallel department
tasks → final task: 5 completions per case) driven over HTTP on loopback against ``/engine-rest``, with
authentication on (HTTP Basic against the engine's users, the 5-minute login cache) as in production.

Each client is a keep-alive HTTP/1.1 connection (``http.client``; ``--client requests``: a ``requests.Session``)
and does, per case: ``POST /process-definition/key/.../start``, then in rounds ``GET /task?processInstanceId=...``
(the case's open tasks) and ``POST /task/{id}/complete`` for each task listed: the window task, the three
parallel reviews, the final task — 1 start + 3 queries + 5 completions = 9 requests a case.
The server runs in separate processes under waitress (threads); with N server processes, N waitress processes
serve on N ports: by default client i keeps its connection to process i mod N (what a reverse proxy balancing N
``onewindow serve`` processes gets; a case then stays in one process's workflow cache), ``--spread request`` sends
each request to the next process instead; ``--server workers`` runs ``onewindow serve --workers N`` on one port
instead (the kernel spreads the 20 connections over the workers by a hash, unevenly). ``--think-ms`` adds a pause before each request, drawn from an exponential distribution
with that mean, so that the clients' requests arrive independently, not in step (people do not click at the rate
of a loop; default 0: a closed loop, where latency is bounded by throughput: Little's law). CPU seconds
of the server processes and of the client process are reported per request.

Scenarios: (a) one client in sequence on SQLite: cases/s and completion latency; (b) 20 concurrent clients on
SQLite; (c) the same two on PostgreSQL (``--postgres-url``, a server URL: a scratch database is created and
dropped), with 1 and with ``--pg-processes`` server processes.

    python benchmarks/bench_rest.py [--cases 150] [--clients 20] [--cases-per-client 10] [--threads 8]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--pg-processes 1,2]
        [--spread client|request] [--server ports|workers] [--think-ms 0,100] [--only a,b,c]
        [--client lean|requests] [--json out.json]
    python benchmarks/bench_rest.py --serve --database-url URL --port P [--threads 8]   (one server process)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "bpmn" / "sample" / "sample_parallel_approval.bpmn"
KEY = "sample_parallel_approval"
USER, PASSWORD = "bench-clerk", "bench-password-1"
GROUPS = ("window", "market", "fire", "environment")
APPROVE = {"accepted": {"value": True, "type": "Boolean"}, "marketApproved": {"value": True, "type": "Boolean"},
           "fireApproved": {"value": True, "type": "Boolean"}, "envApproved": {"value": True, "type": "Boolean"}}


# --- server ---------------------------------------------------------------------------------------------------
def serve(url: str, port: int, threads: int) -> None:
    """One server process as ``onewindow serve`` runs it (web.cli._serve), without the timers."""
    import logging

    from engine.bootstrap import build_engine
    from engine.settings import Settings
    from web.cli import _serve

    logging.getLogger("waitress").setLevel(logging.ERROR)
    _serve(build_engine(Settings(database_url=url)), "127.0.0.1", port, threads, timers=False)


def prepare(url: str) -> None:
    """Schema, the diagram and the benchmark's user: a clerk (starts cases) who is in every department the
    diagram's tasks go to, so the task queries run with the SQL scope filter of a normal user."""
    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    engine.repository.deploy_files([SAMPLE])
    engine.identity.add_user(USER, PASSWORD, groups=GROUPS, roles=("clerk", "reviewer"), create_groups=True)
    engine.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """``processes`` server processes on one database: N separate waitress processes, each on its own port
    (``mode="ports"``, the default), or ``onewindow serve --workers N`` (one port; the kernel hands each keep-alive
    connection to one worker: ``mode="workers"``)."""

    def __init__(self, url: str, processes: int, threads: int, mode: str = "ports") -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if mode == "workers":
            self.ports = [free_port()]
            env.update(ONEWINDOW_DATABASE_URL=url, ONEWINDOW_SECRET_KEY="bench-" + "k" * 40)
            self.procs = [subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--no-timers", "--port",
                                            str(self.ports[0]), "--threads", str(threads), "--workers",
                                            str(processes)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)]
        else:
            self.ports = [free_port() for _ in range(processes)]
            self.procs = [subprocess.Popen([sys.executable, __file__, "--serve", "--database-url", url, "--port",
                                            str(p), "--threads", str(threads)], env=env) for p in self.ports]
        self.mode, self.processes = mode, processes
        self.bases = [f"http://127.0.0.1:{p}/engine-rest" for p in self.ports]

    def pids(self) -> list[int]:
        """The processes that serve (CPU accounting): the workers of ``--workers`` (not their idle parent)."""
        if self.mode != "workers" or self.processes == 1:
            return [p.pid for p in self.procs]
        path = Path(f"/proc/{self.procs[0].pid}/task/{self.procs[0].pid}/children")
        return [int(x) for x in path.read_text().split()] if path.exists() else [self.procs[0].pid]

    def __enter__(self) -> Servers:
        import requests

        deadline = time.monotonic() + 60
        for base in self.bases:
            while True:
                try:
                    if requests.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
        while self.mode == "workers" and self.processes > 1 and len(self.pids()) < self.processes:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:  # only the processes this benchmark started
            p.terminate()
        for p in self.procs:
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()


# --- client ---------------------------------------------------------------------------------------------------
class LeanSession:
    """A keep-alive HTTP/1.1 connection (``http.client``) with HTTP Basic on every request: what a load generator
    is, a fraction of the client CPU of ``requests`` (which would otherwise take a third of the two cores the
    server runs on); ``--client requests`` measures with ``requests.Session`` instead."""

    def __init__(self, base: str) -> None:
        import base64
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.prefix = parts.path
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def request(self, method: str, path: str, json_body: Any = None, params: dict[str, str] | None = None
                ) -> tuple[int, Any]:
        from urllib.parse import urlencode

        url = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        headers = self.headers
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        for attempt in (0, 1):
            try:
                self.conn.request(method, url, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, OSError):  # the server closed an idle keep-alive connection: reconnect once
                self.conn.close()
                if attempt:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, (json.loads(data) if data else None)


class RequestsSession:
    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.auth = (USER, PASSWORD)

    def request(self, method: str, path: str, json_body: Any = None, params: dict[str, str] | None = None
                ) -> tuple[int, Any]:
        r = self.session.request(method, self.base + path, json=json_body, params=params, timeout=60)
        return r.status_code, (r.json() if r.content else None)


SESSIONS = {"lean": LeanSession, "requests": RequestsSession}
CLIENT = {"kind": "lean"}  # --client


class Client:
    def __init__(self, bases: list[str], offset: int = 0, spread: str = "client", think: float = 0.0,
                 kind: str = "lean") -> None:
        if spread == "client":
            bases = [bases[offset % len(bases)]]
        self.think = think
        self.random = random.Random(offset)  # the pauses: exponential with mean ``think`` (independent arrivals)
        self.sessions = [SESSIONS[kind](base) for base in bases]
        self.i = offset
        self.lat: dict[str, list[float]] = {"start": [], "query": [], "complete": []}

    def _call(self, kind: str, method: str, path: str, json_body: Any = None,
              params: dict[str, str] | None = None) -> Any:
        self.i += 1
        session = self.sessions[self.i % len(self.sessions)]
        if self.think:
            time.sleep(self.random.expovariate(1 / self.think))
        t0 = time.perf_counter()
        status, data = session.request(method, path, json_body, params)
        self.lat[kind].append(time.perf_counter() - t0)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {str(data)[:300]}")
        return data

    def case(self, n: str) -> None:
        pi = self._call("start", "POST", f"/process-definition/key/{KEY}/start",
                        {"businessKey": n, "variables": {"applicant": {"value": "x", "type": "String"}}})
        done = 0
        while done < 5:  # the case's open tasks, then each of them completed: 1 + 3 + 1 completions in 3 rounds
            tasks = self._call("query", "GET", "/task", params={"processInstanceId": pi["id"], "maxResults": "10"})
            if not tasks:
                raise RuntimeError(f"case {n}: no task to complete after {done} completions")
            for task in tasks:
                self._call("complete", "POST", f"/task/{task['id']}/complete", {"variables": APPROVE})
                done += 1
        if done != 5:
            raise RuntimeError(f"case {n}: {done} completions instead of 5")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] * 1000


def summary(lat: dict[str, list[float]]) -> dict[str, Any]:
    return {f"{k}_{name}_ms": round(pct(v, q), 2) for k, v in lat.items()
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))} | \
        {"completions": len(lat["complete"]), "requests": sum(len(v) for v in lat.values())}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(bases: list[str], clients: int, cases_each: int, tag: str, pids: list[int],
                spread: str = "client", think: float = 0.0) -> dict[str, Any]:
    kind = CLIENT["kind"]
    workers = [Client(bases, i, spread, think, kind) for i in range(clients)]
    for i, w in enumerate(workers):  # warm up: log in once per server process, load the diagram
        w.case(f"WARM-{tag}-{i}")
        w.lat = {"start": [], "query": [], "complete": []}
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def go(w: Client, i: int) -> None:
        barrier.wait()
        try:
            for k in range(cases_each):
                w.case(f"{tag}-{i}-{k}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(w, i)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    load0 = os.getloadavg()[0]
    server0, client0 = sum(cpu_seconds(p) for p in pids), time.process_time()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server_cpu, client_cpu = sum(cpu_seconds(p) for p in pids) - server0, time.process_time() - client0
    if errors:
        raise errors[0]
    lat: dict[str, list[float]] = {"start": [], "query": [], "complete": []}
    for w in workers:
        for k, v in w.lat.items():
            lat[k].extend(v)
    cases = clients * cases_each
    requests_made = sum(len(v) for v in lat.values())
    return {"clients": clients, "client": kind, "cases": cases, "think_ms": think * 1000, "seconds": round(wall, 2),
            "cases_per_s": round(cases / wall, 1), "completions_per_s": round(5 * cases / wall, 1),
            "server_cpu_ms_per_request": round(1000 * server_cpu / requests_made, 2),
            "client_cpu_ms_per_request": round(1000 * client_cpu / requests_made, 2),
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2), **summary(lat)}


def check_ended(url: str, expected: int) -> None:
    from engine.bootstrap import build_engine
    from engine.settings import Settings

    engine = build_engine(Settings(database_url=url))
    ended = len(engine.runtime.instances(state="COMPLETED"))
    engine.close()
    if ended < expected:
        raise RuntimeError(f"only {ended} of {expected} cases ended")


def scenario(url: str, processes: int, threads: int, cases: int, clients: int, cases_each: int,
             label: str, spread: str, thinks: list[float], mode: str = "ports") -> dict[str, Any]:
    prepare(url)
    out: dict[str, Any] = {"label": label, "server_processes": processes, "threads": threads, "spread": spread,
                           "mode": mode, "runs": []}
    total = 0
    with Servers(url, processes, threads, mode) as servers:
        pids = servers.pids()
        if cases:
            out["runs"].append(run_clients(servers.bases, 1, cases, f"{label}-seq", pids, spread))
            total += cases
            print(label, "1 client:", json.dumps(out["runs"][-1]), flush=True)
        for think in thinks if clients else []:
            out["runs"].append(run_clients(servers.bases, clients, cases_each, f"{label}-par{think}", pids, spread,
                                           think))
            total += clients * cases_each
            print(label, f"{clients} clients, think {think * 1000:.0f} ms:", json.dumps(out["runs"][-1]), flush=True)
    check_ended(url, total)
    return out


def pg_database(server_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"ow_bench_rest_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--database-url")
    ap.add_argument("--port", type=int)
    ap.add_argument("--threads", type=int, default=8, help="waitress threads per server process")
    ap.add_argument("--cases", type=int, default=150, help="cases of the one sequential client")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--cases-per-client", type=int, default=10)
    ap.add_argument("--sqlite-processes", default="1", help="server processes on SQLite, e.g. 1,2")
    ap.add_argument("--postgres-url", default=os.environ.get("ONEWINDOW_BENCH_POSTGRES_URL"),
                    help="a PostgreSQL server URL (a scratch database is created on it); none: skip (c)")
    ap.add_argument("--pg-processes", default="1,2", help="server processes on PostgreSQL, e.g. 1,2")
    ap.add_argument("--spread", choices=("client", "request"), default="client",
                    help="several server processes: a client keeps to one (default) or each request goes to the next")
    ap.add_argument("--think-ms", default="0,100",
                    help="pauses before each request of the concurrent clients, one run each (comma-separated)")
    ap.add_argument("--server", choices=("ports", "workers"), default="ports",
                    help="ports: N waitress processes on N ports, client i keeping to process i mod N (what a reverse "
                         "proxy balancing N `onewindow serve` gets; default); workers: `onewindow serve --workers N` "
                         "on one port (the kernel spreads the connections by a hash: unevenly for 20 of them)")
    ap.add_argument("--only", default="a,b,c")
    ap.add_argument("--client", choices=sorted(SESSIONS), default="lean",
                    help="HTTP client of the driver: lean (http.client keep-alive, default) or requests")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.serve:
        serve(args.database_url, args.port, args.threads)
        return
    only = set(args.only.split(","))
    CLIENT["kind"] = args.client
    thinks = [float(x) / 1000 for x in args.think_ms.split(",")]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_at_start": [round(x, 2) for x in os.getloadavg()]},
        "scenarios": []}
    from benchmarks.bench_approval import _loop  # the same calibration loop (docs/performance.md)

    results["machine"]["calibration_one_core_s_before"] = _loop()
    print(json.dumps(results["machine"]), flush=True)
    if only & {"a", "b"}:
        for n in [int(x) for x in args.sqlite_processes.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.db"
                results["scenarios"].append(scenario(
                    url, n, args.threads, args.cases if "a" in only else 0,
                    args.clients if "b" in only else 0, args.cases_per_client, f"sqlite-{n}p", args.spread, thinks,
                    args.server))
    if "c" in only and args.postgres_url:
        for n in [int(x) for x in args.pg_processes.split(",")]:
            url, drop = pg_database(args.postgres_url)
            try:
                results["scenarios"].append(scenario(url, n, args.threads, args.cases, args.clients,
                                                     args.cases_per_client, f"postgresql-{n}p", args.spread,
                                                     thinks, args.server))
            finally:
                drop()
    results["machine"]["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["calibration_one_core_s_after"] = _loop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps(results["machine"]), flush=True)


if __name__ == "__main__":
    main()
