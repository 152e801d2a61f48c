"""A real HTTP server on loopback (werkzeug, threaded) serving the app on the test's engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


class LiveServer:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.rest = f"{self.url}/engine-rest"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def app(engine):  # type: ignore[no-untyped-def]
    from web.app import create_app

    return create_app(engine, config={"REST_AUTH": False})


@pytest.fixture
def live(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with LiveServer(app) as server:
        yield server
