"""A local HTTP stand-in for bedrock-runtime `Converse` and bedrock-agent-runtime `Rerank` on 127.0.0.1.

The real boto3 clients reach it through botocore's standard endpoint settings (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
`AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`). Every request is recorded. Replies come from a script (FIFO) when one
is queued, else from a tiny deterministic "model": it answers with the first line of source 1, cites [1] and says
the sources sufficed; asked to rewrite a follow-up, it joins the last employee message and the follow-up.

    with FakeBedrock() as fake:
        fake.script(throttle(), throttle(), tool_reply("Restart it [1]", [1], True))
        ...
        fake.calls[-1].body["inferenceConfig"]
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from fakes.http import LocalHTTPFake


@dataclass
class FakeError:
    code: str
    status: int
    message: str = "error"


@dataclass
class Call:
    operation: str  # "converse" or "rerank"
    model_id: str
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return "".join(b.get("text", "") for b in self.body.get("system", []))

    @property
    def user_text(self) -> str:
        return "".join(b.get("text", "") for m in self.body.get("messages", []) for b in m.get("content", []))


Reply = dict[str, Any] | FakeError | Callable[[Call], "dict[str, Any] | FakeError"]


def throttle(message: str = "Too many requests, please wait before trying again.") -> FakeError:
    return FakeError("ThrottlingException", 429, message)


def access_denied(message: str = "You don't have access to the model with the specified model ID.") -> FakeError:
    return FakeError("AccessDeniedException", 403, message)


def tool_reply(
    answer: str, used: list[Any] | None = None, sufficient: Any = True, *, stop: str = "tool_use", tokens: int = 900
) -> dict[str, Any]:
    data: dict[str, Any] = {"answer": answer}
    if used is not None:
        data["used_sources"] = used
    if sufficient is not None:
        data["sufficient"] = sufficient
    content = [{"toolUse": {"toolUseId": "tooluse_1", "name": "submit_answer", "input": data}}]
    return _message(content, stop, tokens)


def text_reply(text: str, *, stop: str = "end_turn", tokens: int = 900) -> dict[str, Any]:
    return _message([{"text": text}] if text else [], stop, tokens)


def _message(content: list[dict[str, Any]], stop: str, tokens: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens, "outputTokens": 60, "totalTokens": tokens + 60},
        "metrics": {"latencyMs": 420},
    }


_SOURCE = re.compile(r'<source n="(\d+)">.*?\ncontent:\n(.*?)\n</source>', re.S)


def default_model(call: Call) -> dict[str, Any]:
    text = call.user_text
    if "<follow_up>" in text:
        follow = text.split("<follow_up>", 1)[1].split("</follow_up>", 1)[0].strip()
        employee = [ln[len("employee: ") :] for ln in text.splitlines() if ln.startswith("employee: ")]
        return text_reply(f"{employee[-1]} {follow}" if employee else follow, tokens=80)
    sources = _SOURCE.findall(text)
    if not sources:
        return tool_reply("Our IT pages don't cover this.", [], False)
    number, content = sources[0]
    first = next((ln for ln in content.splitlines() if ln.strip() and not ln.startswith("## ")), content[:200])
    return tool_reply(f"{first.strip()} [{number}]", [int(number)], True, tokens=len(text) // 4)


def default_rerank(call: Call) -> dict[str, Any]:
    query = set(re.findall(r"\w+", call.body["queries"][0]["textQuery"]["text"].lower()))
    scores = []
    for i, src in enumerate(call.body["sources"]):
        words = set(re.findall(r"\w+", src["inlineDocumentSource"]["textDocument"]["text"].lower()))
        scores.append({"index": i, "relevanceScore": len(query & words) / (1 + len(query))})
    n = call.body["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfResults"]
    return {"results": sorted(scores, key=lambda r: -r["relevanceScore"])[:n]}


MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"  # the default chat model the tests expect


class FakeBedrock(LocalHTTPFake):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.model: Callable[[Call], dict[str, Any] | FakeError] = default_model
        self.reranker: Callable[[Call], dict[str, Any] | FakeError] = default_rerank

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(length) or b"{}")
        match = re.fullmatch(r"/model/(.+)/converse", h.path)
        if match:
            call = Call("converse", unquote(match.group(1)), body)
        elif h.path == "/rerank":
            call = Call("rerank", "", body)
        else:
            _send(h, 404, {"message": f"unknown path {h.path}"}, "UnknownOperationException")
            return
        reply = self._next(call)
        if isinstance(reply, FakeError):
            _send(h, reply.status, {"message": reply.message}, reply.code)
        else:
            _send(h, 200, reply)

    def _next(self, call: Call) -> dict[str, Any] | FakeError:
        with self._lock:
            self.calls.append(call)
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return (self.model if call.operation == "converse" else self.reranker)(call)
        return scripted(call) if callable(scripted) else scripted

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def converse_calls(self) -> list[Call]:
        return [c for c in self.calls if c.operation == "converse"]


def _send(h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], error: str = "") -> None:
    data = json.dumps(payload).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    if error:
        h.send_header("x-amzn-ErrorType", error)
    h.end_headers()
    h.wfile.write(data)
