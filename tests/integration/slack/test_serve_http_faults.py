"""`helpdesk serve`'s HTTP server against clients that misbehave: silent, chunked, hanging up, too many."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.slack_local import make_server


class EchoRuntime:
    """Stands in for the Slack runtime: answers every request 200 with the body's length."""

    def __init__(self) -> None:
        self.handled = 0

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        self.handled += 1
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"ok": True})}


@pytest.fixture
def server() -> Iterator[tuple[Any, EchoRuntime]]:
    runtime = EchoRuntime()
    srv = make_server(runtime, "127.0.0.1", 0, timeout=0.5, max_connections=4)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv, runtime
    finally:
        srv.shutdown()
        srv.server_close()


def _connect(srv: Any) -> socket.socket:
    return socket.create_connection(srv.server_address, timeout=5)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _request(body: bytes, **headers: str) -> bytes:
    lines = [
        "POST /slack/events HTTP/1.1",
        "Host: localhost",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_silent_client_is_disconnected(server) -> None:
    srv, runtime = server
    started = time.monotonic()
    with _connect(srv) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")  # and then nothing
        assert _read_all(sock) == b""  # the server closed the connection
    assert time.monotonic() - started < 4 and runtime.handled == 0


def test_a_chunked_body_is_refused_and_the_stream_never_read_as_a_request(server) -> None:
    srv, runtime = server
    smuggled = b"5\r\nhello\r\n0\r\n\r\nPOST /slack/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    with _connect(srv) as sock:
        sock.sendall(_request(smuggled, Transfer_Encoding="chunked"))
        reply = _read_all(sock)
    assert reply.startswith(b"HTTP/1.1 411") and reply.count(b"HTTP/1.1") == 1 and runtime.handled == 0


@pytest.mark.parametrize(
    "headers",
    [{"Transfer_Encoding": "chunked", "Content_Length": "5"}, {"Content_Length": "abc"}, {"Content_Length": "-1"}],
)
def test_ambiguous_framing_is_400(server, headers) -> None:
    srv, runtime = server
    with _connect(srv) as sock:
        sock.sendall(_request(b"hello", **headers))
        reply = _read_all(sock)
    assert reply.startswith(b"HTTP/1.1 400") and runtime.handled == 0


def test_a_client_that_hangs_up_leaves_no_traceback_and_the_server_serves_on(server, capfd) -> None:
    srv, _ = server
    for _ in range(5):
        sock = _connect(srv)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        sock.sendall(_request(b"{}", Content_Length="2"))
        sock.close()
    time.sleep(0.3)
    with _connect(srv) as sock:
        sock.sendall(_request(b"{}", Content_Length="2", Connection="close"))
        assert _read_all(sock).startswith(b"HTTP/1.1 200")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err


def test_connections_beyond_the_bound_get_503(server) -> None:
    srv, _ = server
    held = [_connect(srv) for _ in range(4)]
    try:
        time.sleep(0.1)
        with _connect(srv) as extra:
            assert _read_all(extra).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
