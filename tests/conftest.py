"""Shared fixtures: an isolated cache and ledger, a local HTTP server for download tests, and the
hint an exercise checker gives a wrong answer."""

from __future__ import annotations

import http.server
import threading

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own cache and results folder; FMBOOK_DATA is kept as set by the caller."""
    monkeypatch.setenv("FMBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FMBOOK_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("FMBOOK_PROFILE", "smoke")
    yield


class _Routes(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def http_server():
    """A server on 127.0.0.1: set ``server.routes[path] = (status, body)``; ``server.url(path)``."""
    handler = type("Handler", (_Routes,), {"routes": {}, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.routes = handler.routes
    server.hits = handler.hits
    server.url = lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hint_of():
    """``hint_of("NN.name", answer)``: the message of the specific hint a wrong answer gets.

    Fails the test when the checker accepts the answer instead.
    """
    from fmbook.exercises import Hint, get

    def _hint_of(exercise_id: str, answer) -> str:
        with pytest.raises(Hint) as info:
            get(exercise_id).checker(answer)
        return str(info.value)

    return _hint_of
