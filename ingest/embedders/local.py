"""The offline embedder: a model2vec static model distilled from all-MiniLM-L6-v2 (see docs/decisions/0001).

The model files ship inside this package (`models/minilm-l6-m2v`, Apache-2.0, provenance in its README); nothing
is downloaded at run time and torch is not needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.embedders.base import normalise
from ingest.exceptions import EmbeddingError

DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "minilm-l6-m2v"


class StaticEmbedder:
    """model2vec `StaticModel`: token-embedding lookup and mean pooling, ~0.1 ms per chunk on one core."""

    def __init__(self, model_dir: str | Path = DEFAULT_MODEL_DIR) -> None:
        self.model_dir = Path(model_dir)
        weights = self.model_dir / "model.safetensors"
        if not weights.is_file():
            raise EmbeddingError(
                f"local embedding model not found at {self.model_dir}; reinstall the project (make install)"
            )
        try:
            from model2vec import StaticModel
        except ImportError as exc:  # the Lambda bundle leaves the local extra out
            raise EmbeddingError(
                "the local embedder needs the 'local' extra (model2vec); install it or set HELPDESK_EMBEDDER=bedrock"
            ) from exc
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
        self._model = StaticModel.from_pretrained(str(self.model_dir))
        self.dimension = int(self._model.dim)
        self.embedder_id = f"model2vec/{self.model_dir.name}@{digest}"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(self._model.encode(list(texts), show_progress_bar=False))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
