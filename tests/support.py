"""Helpers shared by tests (importable as `support` thanks to conftest)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SAMPLE_EXPORT = EXAMPLES / "it-space"
SAMPLE_QUESTIONS = EXAMPLES / "it-space-questions.jsonl"
EVENTS = Path(__file__).parent / "events"


class HashEmbedder:
    """A deterministic bag-of-words embedder for tests that don't need a real model; counts its calls."""

    def __init__(self, dimension: int = 64, embedder_id: str = "test/hash") -> None:
        self.dimension = dimension
        self.embedder_id = embedder_id
        self.calls = 0
        self.texts_embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for word in text.lower().split():
            h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
            v[h % self.dimension] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


def page_object(
    pid: str,
    title: str,
    body: str,
    *,
    version: int = 1,
    labels: Sequence[str] = (),
    ancestors: Sequence[str] = (),
    when: str = "2026-01-01T00:00:00.000Z",
) -> dict:
    """A Confluence REST v1 content object in the shape the export format uses."""
    return {
        "id": pid,
        "type": "page",
        "status": "current",
        "title": title,
        "space": {"key": "TST", "name": "Test space"},
        "version": {"number": version, "when": when},
        "ancestors": [{"id": f"9{i}", "type": "page", "title": t} for i, t in enumerate(ancestors)],
        "body": {"storage": {"value": body, "representation": "storage"}},
        "metadata": {"labels": {"results": [{"prefix": "global", "name": n} for n in labels]}},
        "_links": {"webui": f"/spaces/TST/pages/{pid}", "base": "https://wiki.example.test/wiki"},
    }


def write_export(folder: Path, objects: Sequence[dict], *, per_file: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for n in range(0, len(objects), per_file):
        doc = {
            "results": list(objects[n : n + per_file]),
            "start": n,
            "limit": per_file,
            "size": len(objects[n : n + per_file]),
            "_links": {"base": "https://wiki.example.test/wiki"},
        }
        (folder / f"page-{n:04d}.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
