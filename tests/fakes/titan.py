"""A local HTTP fake of bedrock-runtime `InvokeModel` for Titan Text Embeddings v2, on 127.0.0.1 (embeddings only;
Converse and Rerank have their own fake).

Reached by the real boto3 client through `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (or `endpoint_url=fake.url`).
Embeddings are deterministic bag-of-words hashes of the input, so similar texts get similar vectors and retrieval
tests mean something. Errors come the way Bedrock sends them (status code, `x-amzn-ErrorType`, JSON message):
`script(["ThrottlingException", ...])` answers the next calls with those errors in order; `deny_all(code, msg)`
answers every call with one. `latency` is the time from request to answer (a benchmark knob). `calls`, `tokens`,
`max_in_flight` and `requests` (the decoded bodies) are recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

import numpy as np

from fakes.http import LocalHTTPFake

STATUS = {
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
    "ModelTimeoutException": 408,
    "InternalServerException": 500,
    "AccessDeniedException": 403,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
}
MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "ModelTimeoutException": "Model has timed out in processing the request.",
    "InternalServerException": "Internal server error",
    "AccessDeniedException": "User: arn:aws:sts::123456789012:assumed-role/ingest is not authorized to perform: "
    "bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
    "ValidationException": "Malformed input request",
    "ResourceNotFoundException": "Could not resolve the foundation model from the provided model identifier.",
}
NOT_ENABLED = "You don't have access to the model with the specified model ID."
_WORD = re.compile(r"[a-z0-9]+")


def fake_vector(text: str, dimensions: int) -> np.ndarray:
    v = np.zeros(dimensions, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        v[h % dimensions] += 1.0 if (h >> 32) & 1 else 0.8
    n = float(np.linalg.norm(v))
    return v / n if n else v


class TitanFake(LocalHTTPFake):
    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls = 0
        self.errors_sent = 0
        self.tokens = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict[str, Any]] = []
        self.models: set[str] = set()
        self.signed = True
        self._script: list[tuple[str, str]] = []
        self._deny: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def script(self, codes: list[str]) -> None:
        with self._lock:
            self._script.extend((c, MESSAGES.get(c, c)) for c in codes)

    def deny_all(self, code: str = "AccessDeniedException", message: str | None = None) -> None:
        self._deny = (code, message or MESSAGES.get(code, code))

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, body: dict, error: str | None = None, started: float = 0.0
    ) -> None:
        data = json.dumps(body).encode()
        if self.latency:  # the answer leaves `latency` seconds after the request arrived, work included
            time.sleep(max(0.0, self.latency - (time.perf_counter() - started)))
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-amzn-RequestId", "fake-request")
        if error:
            h.send_header("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            scripted = self._script.pop(0) if self._script else None
            if not h.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
                self.signed = False
        try:
            m = re.fullmatch(r"/model/([^/]+)/invoke", h.path.split("?")[0])
            if not m:
                self._send(h, 404, {"message": f"unknown path {h.path}"}, "UnknownOperationException", started)
                return
            error = scripted or self._deny
            if error is not None:
                with self._lock:
                    self.errors_sent += 1
                self._send(h, STATUS.get(error[0], 400), {"message": error[1]}, error[0], started)
                return
            try:
                req = json.loads(raw)
                text, dims = req["inputText"], int(req.get("dimensions", 1024))
                if not isinstance(text, str) or not text or dims not in (256, 512, 1024):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                self._send(h, 400, {"message": "Malformed input request"}, "ValidationException", started)
                return
            tokens = len(text.split())
            with self._lock:
                self.calls += 1
                self.tokens += tokens
                self.requests.append(req)
                self.models.add(unquote(m.group(1)))
            body = {"embedding": fake_vector(text, dims).tolist(), "inputTextTokenCount": tokens}
            self._send(h, 200, body, None, started)
        finally:
            with self._lock:
                self.in_flight -= 1
