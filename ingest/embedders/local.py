"""The offline embedder: a model2vec static model distilled from all-MiniLM-L6-v2 (see docs/decisions/0001).

The model files ship inside this package (`models/minilm-l6-m2v`, Apache-2.0, provenance in its README); nothing
is downloaded at run time and torch is not needed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embedders.base import normalise
from ingest.exceptions import EmbeddingError

DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "minilm-l6-m2v"


def model_dimension(config: Any) -> int | None:
    """The vector width a model2vec `config.json` declares (`hidden_dim`); None when it declares none (pure)."""
    value = config.get("hidden_dim") if isinstance(config, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def runtime_available() -> bool:
    """Whether the 'local' extra (model2vec) is installed, without importing it."""
    return importlib.util.find_spec("model2vec") is not None


class StaticEmbedder:
    """model2vec `StaticModel`: token-embedding lookup and mean pooling, ~0.1 ms per chunk on one core.

    `embedder_id` and `dimension` come from the model files without loading the model, which loads at the first
    text to embed: an ingest over an unchanged export never pays for it.
    """

    def __init__(self, model_dir: str | Path = DEFAULT_MODEL_DIR) -> None:
        self.model_dir = Path(model_dir)
        weights = self.model_dir / "model.safetensors"
        if not weights.is_file():
            raise EmbeddingError(
                f"local embedding model not found at {self.model_dir}; reinstall the project (make install)"
            )
        if not runtime_available():  # the Lambda bundle leaves the local extra out
            raise EmbeddingError(
                "the static local embedder needs the 'local' extra (model2vec): `uv sync --extra local` or "
                "`make install`; or leave HELPDESK_EMBEDDER unset for the default transformer embedder"
            )
        config_path = self.model_dir / "config.json"
        try:
            dimension = model_dimension(json.loads(config_path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot read the local embedding model's {config_path}: {exc}") from exc
        if dimension is None:
            raise EmbeddingError(f"{config_path} declares no hidden_dim; reinstall the project (make install)")
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
        self.dimension = dimension
        self.embedder_id = f"model2vec/{self.model_dir.name}@{digest}"
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            from model2vec import StaticModel

            model = StaticModel.from_pretrained(str(self.model_dir))
            if int(model.dim) != self.dimension:
                raise EmbeddingError(
                    f"the local embedding model at {self.model_dir} makes {model.dim}-dimensional vectors but its "
                    f"config.json declares {self.dimension}; reinstall the project (make install)"
                )
            self._model = model
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(self._loaded().encode(list(texts), show_progress_bar=False))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
