"""The offline embedder names itself from its files and loads its model only when there is text to embed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.embedders.local import DEFAULT_MODEL_DIR, StaticEmbedder, model_dimension
from ingest.exceptions import EmbeddingError


def test_the_declared_dimension_is_read_from_hidden_dim() -> None:
    assert model_dimension({"hidden_dim": 256}) == 256
    assert model_dimension({"hidden_dim": "256"}) is None
    assert model_dimension({"hidden_dim": True}) is None
    assert model_dimension({"hidden_dim": 0}) is None
    assert model_dimension([256]) is None


def test_id_and_dimension_agree_with_the_vectors_the_model_makes() -> None:
    embedder = StaticEmbedder()
    assert embedder.embedder_id.startswith("model2vec/minilm-l6-m2v@")
    vectors = embedder.embed_documents(["How do I reset my VPN password?", "guest wifi"])
    assert vectors.shape == (2, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents([]).shape == (0, embedder.dimension)


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "minilm-l6-m2v"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    return folder


def test_a_config_that_misstates_the_width_is_refused_at_the_first_text(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"hidden_dim": 256', '"hidden_dim": 384'))
    embedder = StaticEmbedder(folder)
    assert embedder.dimension == 384
    with pytest.raises(EmbeddingError, match=r"256-dimensional vectors but its config\.json declares 384"):
        embedder.embed_query("printer offline")


@pytest.mark.parametrize("config", [b"{not json", b'{"model_type": "model2vec"}'])
def test_an_unreadable_or_incomplete_config_is_refused_up_front(tmp_path: Path, config: bytes) -> None:
    folder = _copy_model(tmp_path)
    (folder / "config.json").write_bytes(config)
    with pytest.raises(EmbeddingError, match=r"config\.json"):
        StaticEmbedder(folder)


def test_a_missing_model_says_to_reinstall(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="make install"):
        StaticEmbedder(tmp_path / "nowhere")
