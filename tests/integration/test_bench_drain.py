"""The benchmarks' wait between phases (benchmarks/harness.py ``wait_until_drained``).

Regression: after the open-loop send phase at 500 flows/s on SQLite, the production-shape
service still held thousands of requests whose clients had given up, and worked through them
for a minute or more. On the busy machine it was starved to under 0.1 core meanwhile, so the
old wait (CPU under 0.1 core for a second) let the next phases start at once: their requests
queued behind the backlog and none was answered within its 6-second window (a "stall"). Idle
now also needs a prompt answer to a probe, which a backlog holds up.

A real HTTP server on loopback stands in for the service: its answers are held back while it
"has a backlog", exactly what a probe meets then.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from benchmarks.harness import LOOPBACK, answers_within, wait_until_drained


@dataclass
class HeldServer:
    url: str
    released: threading.Event


@pytest.fixture
def server() -> Iterator[HeldServer]:
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            released.wait(timeout=60)  # bounded, so a failing test cannot hang the thread
            body = b'{"status":"ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield HeldServer(f"http://{LOOPBACK}:{httpd.server_address[1]}/", released)
    finally:
        released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=30)


def test_a_service_that_does_not_answer_is_not_drained_however_little_cpu_it_uses(
    server: HeldServer,
) -> None:
    # This process (the "service") sleeps throughout: by CPU alone it is idle.
    assert not answers_within(server.url, 0.5)
    assert wait_until_drained(os.getpid(), server.url, patience=3.0) is False


def test_a_service_that_answers_promptly_and_is_idle_is_drained(server: HeldServer) -> None:
    server.released.set()
    assert answers_within(server.url, 30.0)
    # Generous bounds: on a loaded machine a 1-second window may need a few tries.
    assert wait_until_drained(os.getpid(), server.url, patience=120.0, prompt=10.0) is True
