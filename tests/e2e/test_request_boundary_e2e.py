"""The request boundary over real HTTP (uvicorn in front of the app): a body over the limit is
answered 413 before it is sent whole, and a NUL in an unauthenticated form is a 422 (issue 15.3,
15.4). Spoken over raw sockets, so nothing in between reads the body for us."""

from __future__ import annotations

import contextlib
import select
import socket

import pytest

from tests.e2e.shared_servers import SharedServers
from tests.support.ports import LOOPBACK
from tests.support.server import ServerProcess

FIFTY_MB = 50 * 1024 * 1024
# Generous bounds for a busy machine.
ANSWER_WITHIN = 30.0


@pytest.fixture(scope="module")
def server(shared_servers: SharedServers) -> ServerProcess:
    """The shared SQLite server (conftest.py): the request limits are the defaults."""
    return shared_servers.get("sqlite")


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {LOOPBACK}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _read_answer(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (it does after these answers). A
    close with our unread upload still in the server's buffer is a reset, which may drop the
    answer on its way: then what arrived before it (possibly nothing)."""
    sock.settimeout(ANSWER_WITHIN)
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_declared_length_over_the_limit_is_answered_before_the_body(
    server: ServerProcess,
) -> None:
    with socket.create_connection((LOOPBACK, server.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(
            _head(
                "/otp/send-failover",
                {"Content-Type": "application/json", "Content-Length": str(FIFTY_MB)},
            )
        )
        answer = _read_answer(sock)  # not one byte of the body was sent
    assert _status(answer) == 413, answer[:300]
    assert b'"code":"payload_too_large"' in answer


def test_a_chunked_upload_is_cut_off_near_the_limit(server: ServerProcess) -> None:
    """Chunks of 1 KB until the server answers (or resets): long before 50 MB are sent."""
    sent = 0
    answer = b""
    with socket.create_connection((LOOPBACK, server.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(
            _head(
                "/otp/send-failover",
                {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            )
        )
        chunk = b"400\r\n" + b" " * 1024 + b"\r\n"
        while sent < FIFTY_MB:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = _read_answer(sock)
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                answer = _read_answer(sock)
                break
            sent += 1024
    # The server answers 413 and closes; the close may reset the connection before the answer
    # is read (the kernel drops it with our unsent chunks): the upload stops either way.
    assert not answer or _status(answer) == 413, answer[:300]
    # The server stops at 64 KB; what the sockets' buffers took on top is far below 50 MB.
    assert sent < 16 * 1024 * 1024


def test_a_nul_in_an_unauthenticated_form_is_a_422(server: ServerProcess) -> None:
    body = b"grant_type=client_credentials&client_id=a%00b"
    with socket.create_connection((LOOPBACK, server.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(
            _head(
                "/oauth/token",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Length": str(len(body)),
                    "Authorization": "Basic YTpi",
                    "Connection": "close",
                },
            )
            + body
        )
        answer = _read_answer(sock)
    assert _status(answer) == 422, answer[:300]
    assert b'"type":"string_nul_character"' in answer
