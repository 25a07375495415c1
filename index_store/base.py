"""The `IndexStore` protocol."""

from __future__ import annotations

from typing import Protocol

from index_store.format import IndexBundle


class IndexStore(Protocol):
    """Where published index versions live. `publish` is atomic: readers see the old or the new version, whole."""

    location: str

    def current_version(self) -> str | None: ...

    def load(self, *, with_embeddings: bool = False) -> IndexBundle: ...

    def publish(self, bundle: IndexBundle) -> str: ...
