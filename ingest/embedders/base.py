"""The `Embedder` protocol and helpers every implementation shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class Embedder(Protocol):
    """`embedder_id` names the model (and anything else that changes vectors); an index remembers it."""

    embedder_id: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class EmbedUsage(Protocol):
    """Counters of an embedder that calls a service, at one moment."""

    calls: int
    input_tokens: int
    retries: int
    throttles: int


class EmbedCounter(Protocol):
    def snapshot(self) -> EmbedUsage: ...


@runtime_checkable
class ServiceEmbedder(Embedder, Protocol):
    """An embedder that calls a service: it takes `batch_size` texts at a time and counts its calls in `stats`."""

    batch_size: int
    stats: EmbedCounter


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)
