"""Local development against a real workspace: the same app on a local HTTP server (`helpdesk serve`, for a Slack
app pointed at it through a tunnel) or over Socket Mode (`helpdesk slack --socket-mode`, SLACK_APP_TOKEN)."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assistant.slack.exceptions import SlackConfigError, SlackError
from assistant.slack.gateway import MAX_BODY_BYTES, PATH
from assistant.slack.lazy import ThreadedLazyRunner
from assistant.slack.secrets import SlackCredentials, load_credentials
from helpdesk.settings import Settings
from helpdesk.slack_runtime import SlackRuntime, build_runtime


def http_event(method: str, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """An HTTP API v2 event for a local request, so it takes exactly the Lambda code path."""
    return {
        "version": "2.0",
        "rawPath": path.split("?")[0],
        "headers": {k.lower(): v for k, v in headers.items()},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
        "requestContext": {"http": {"method": method, "path": path.split("?")[0]}},
    }


SOCKET_TIMEOUT = 15.0  # seconds a client may stay silent mid-request before its connection is closed
MAX_CONNECTIONS = 64  # connections served at once; more are answered 503 and closed


def make_server(
    runtime: SlackRuntime,
    host: str,
    port: int,
    *,
    timeout: float = SOCKET_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> ThreadingHTTPServer:
    """A threaded HTTP/1.1 server for the gateway. A silent client is dropped after `timeout` seconds; a body
    must come with a Content-Length (chunked or conflicting framing is refused, 411/400, and the connection closed);
    a client that hangs up mid-response is not an error."""
    slots = threading.BoundedSemaphore(max_connections)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

        def setup(self) -> None:
            self.timeout = timeout  # StreamRequestHandler applies it to the socket
            super().setup()

        def _send(self, status: int, headers: Mapping[str, str], body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def _refuse(self, status: int, reason: str) -> None:
            self.close_connection = True  # the rest of the stream cannot be framed: never read it as a request
            self._send(status, {"content-type": "application/json"}, json.dumps({"error": reason}))

        def _dispatch(self, method: str) -> None:
            if self.headers.get("Transfer-Encoding"):
                if self.headers.get("Content-Length"):
                    return self._refuse(400, "both Transfer-Encoding and Content-Length")
                return self._refuse(411, "a Content-Length is required; chunked bodies are not accepted")
            raw = self.headers.get_all("Content-Length") or []
            if len(set(raw)) > 1:
                return self._refuse(400, "conflicting Content-Length headers")
            text = raw[0].strip() if raw else "0"
            if not text.isdigit():
                return self._refuse(400, "bad Content-Length")
            length = int(text) if len(text) < 12 else MAX_BODY_BYTES + 1
            if length > MAX_BODY_BYTES:  # refuse before reading it
                return self._refuse(413, f"body over {MAX_BODY_BYTES} bytes")
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the client hung up mid-body
                self.close_connection = True
                return None
            result = runtime.handle(http_event(method, self.path, dict(self.headers.items()), body))
            self._send(int(result["statusCode"]), result.get("headers") or {}, str(result.get("body") or ""))
            return None

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_GET(self) -> None:
            self._dispatch("GET")

        def log_message(self, format: str, *args: Any) -> None:  # the gateway logs one JSON line per request
            return

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

        def process_request(self, request: Any, client_address: Any) -> None:
            if not slots.acquire(blocking=False):
                with contextlib.suppress(OSError):
                    request.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                self.shutdown_request(request)
                return
            super().process_request(request, client_address)

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                slots.release()

        def handle_error(self, request: Any, client_address: Any) -> None:
            exc = sys.exc_info()[1]
            if isinstance(exc, ConnectionError | TimeoutError):  # the client went away or went silent
                return
            print(f"helpdesk serve: error handling a request: {type(exc).__name__}: {exc}", file=sys.stderr)

    try:
        return Server((host, port), Handler)
    except OSError as exc:
        raise SlackError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 3000) -> int:
    runner = ThreadedLazyRunner(max_workers=4)
    runtime = build_runtime(settings, lazy_runner=runner)
    server = make_server(runtime, host, port)
    stop = threading.Event()

    def shutdown(*_: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    print(f"Slack app listening on http://{host}:{server.server_address[1]}{PATH} (Ctrl-C to stop)", file=sys.stderr)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        runner.shutdown(timeout=30)
    return 0


def run_socket_mode(settings: Settings, *, start: bool = True) -> int:
    if not settings.slack.app_token.startswith("xapp-"):
        raise SlackConfigError("Socket Mode needs an app-level token: set SLACK_APP_TOKEN=xapp-… (connections:write)")
    if settings.slack.secret_arn:
        creds = load_credentials(settings.slack)
    elif not settings.slack.bot_token:
        raise SlackConfigError("set SLACK_BOT_TOKEN to run the Slack app")
    else:  # Socket Mode requests are not signed, so the signing secret is optional here
        creds = SlackCredentials(settings.slack.signing_secret or "unused-in-socket-mode", settings.slack.bot_token)
    runner = ThreadedLazyRunner(max_workers=4)
    runtime = build_runtime(settings, credentials=creds, lazy_runner=runner)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(runtime.app, app_token=settings.slack.app_token)
    if not start:
        return 0
    print("Slack app connected over Socket Mode (Ctrl-C to stop)", file=sys.stderr)
    try:
        handler.start()
    except KeyboardInterrupt:
        pass
    finally:
        runner.shutdown(timeout=30)
    return 0
