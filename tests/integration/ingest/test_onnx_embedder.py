"""The bundled int8 ONNX embedder, loaded from its files and run by onnxruntime (no network, no torch)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from helpdesk.factory import build_embedder
from helpdesk.settings import Settings
from ingest.embedders.onnx import OnnxEmbedder
from ingest.exceptions import EmbeddingError


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder(threads=1)


def test_a_paraphrase_is_nearer_than_another_topic(embedder: OnnxEmbedder) -> None:
    question = embedder.embed_query("how do I reset my Okta password?")
    pages = embedder.embed_documents(["Resetting your Okta password", "Connecting to the guest wifi"])
    assert pages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(pages, axis=1), 1.0, rtol=1e-5)
    same, other = pages @ question
    assert same > 0.6 > other + 0.3


def test_a_page_is_embedded_exactly_as_the_same_text_asked_as_a_question(embedder: OnnxEmbedder) -> None:
    texts = ["printer", "VPN drops every few minutes on hotel wifi and I cannot reach the intranet", "laptop"]
    together = embedder.embed_documents(texts)
    alone = np.stack([embedder.embed_query(t) for t in texts])
    # one text per run: int8 activations are scaled per run, so texts embedded together would move each other
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert embedder.embed_documents(texts[1:2]) @ together[1] > 0.9999


def test_no_texts_is_an_empty_matrix(embedder: OnnxEmbedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 384)


def test_id_names_the_model_and_its_digest(embedder: OnnxEmbedder) -> None:
    assert embedder.embedder_id.startswith("onnx/minilm-l6-onnx-int8@")


def test_missing_model_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match=str(tmp_path)):
        OnnxEmbedder(tmp_path)


def test_the_setting_selects_it_and_torch_is_never_imported() -> None:
    built = build_embedder(Settings.from_env({"HELPDESK_EMBEDDER": "onnx-minilm"}))
    assert isinstance(built, OnnxEmbedder)
    assert "torch" not in sys.modules
