"""A local HTTP stand-in for bedrock-agent-runtime `Retrieve` (Amazon Bedrock Knowledge Bases) on 127.0.0.1.

The real boto3 client reaches it through botocore's endpoint setting `AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`.
Every request is recorded. Replies come from a script (FIFO) when one is queued, else from a tiny deterministic
search over the documents it holds: a document's score is the share of the query's words it contains, best first,
`numberOfResults` at most. Documents carry the metadata a data source would attach.

    with FakeKnowledgeBase("KB12345678", documents) as fake:
        fake.script(throttle(), access_denied())
        ...
        fake.calls[-1].body["retrievalConfiguration"]
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote_plus, unquote

from fakes.bedrock import FakeError, _send
from fakes.http import LocalHTTPFake

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Document:
    """One chunk as the knowledge base stores it: its text, metadata and location."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    location: dict[str, Any] = field(default_factory=dict)


@dataclass
class RetrieveCall:
    knowledge_base_id: str
    body: dict[str, Any]

    @property
    def query(self) -> str:
        return str(self.body.get("retrievalQuery", {}).get("text", ""))


Reply = dict[str, Any] | FakeError | Callable[[RetrieveCall], "dict[str, Any] | FakeError"]


def confluence_document(page_id: str, title: str, url: str, text: str, chunk: int = 0) -> Document:
    """A chunk as a Confluence data source returns it: the page URL in the location and the source-uri metadata,
    no page id or title of ours (the title is the URL's last segment, as Confluence Cloud writes it)."""
    page_url = f"{url.rstrip('/')}/{quote_plus(title)}" if "/pages/" in url else url
    return Document(
        text,
        {"x-amz-bedrock-kb-source-uri": page_url, "x-amz-bedrock-kb-chunk-id": f"{page_id}-{chunk}"},
        {"type": "CONFLUENCE", "confluenceLocation": {"url": page_url}},
    )


def own_document(page_id: str, title: str, url: str, text: str, chunk: int = 0) -> Document:
    """A chunk from an S3 data source whose `.metadata.json` files carry our `page_id`, `title` and `url`."""
    uri = f"s3://kb-source/pages/{page_id}.txt"
    return Document(
        text,
        {
            "page_id": page_id,
            "title": title,
            "url": url,
            "x-amz-bedrock-kb-source-uri": uri,
            "x-amz-bedrock-kb-chunk-id": f"{page_id}-{chunk}",
        },
        {"type": "S3", "s3Location": {"uri": uri}},
    )


def documents_from_chunks(chunks: Iterable[Any], make: Callable[..., Document] = confluence_document) -> list[Document]:
    """Documents from an index's chunks (`index_store.format.Chunk`): the same pages served by the knowledge base."""
    return [make(c.page_id, c.title, c.url, f"{c.header}\n{c.body}", c.ordinal) for c in chunks]


def search(documents: Sequence[Document], query: str, n: int) -> dict[str, Any]:
    words = set(_WORD.findall(query.lower()))
    scored = []
    for doc in documents:
        have = set(_WORD.findall(doc.text.lower()))
        share = len(words & have) / len(words) if words else 0.0
        if share > 0:
            scored.append((share, doc))
    scored.sort(key=lambda x: -x[0])
    return {
        "retrievalResults": [
            {
                "content": {"type": "TEXT", "text": doc.text},
                "location": doc.location,
                "metadata": doc.metadata,
                "score": round(share, 4),
            }
            for share, doc in scored[:n]
        ]
    }


class FakeKnowledgeBase(LocalHTTPFake):
    def __init__(self, knowledge_base_id: str, documents: Sequence[Document] = ()) -> None:
        self.knowledge_base_id = knowledge_base_id
        self.documents = list(documents)
        self.calls: list[RetrieveCall] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(length) or b"{}")
        match = re.fullmatch(r"/knowledgebases/([^/]+)/retrieve", h.path)
        if not match:
            _send(h, 404, {"message": f"unknown path {h.path}"}, "UnknownOperationException")
            return
        call = RetrieveCall(unquote(match.group(1)), body)
        with self._lock:
            self.calls.append(call)
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            reply = scripted(call) if callable(scripted) else scripted
        elif call.knowledge_base_id != self.knowledge_base_id:
            reply = FakeError("ResourceNotFoundException", 404, f"Knowledge base {call.knowledge_base_id} not found")
        else:
            n = int(
                body.get("retrievalConfiguration", {}).get("vectorSearchConfiguration", {}).get("numberOfResults", 5)
            )
            reply = search(self.documents, call.query, n)
        if isinstance(reply, FakeError):
            _send(h, reply.status, {"message": reply.message}, reply.code)
        else:
            _send(h, 200, reply)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)
