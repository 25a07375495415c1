"""Which local embedder the settings build when the default's extra is or is not installed."""

import logging

import pytest

from helpdesk.factory import build_embedder
from helpdesk.settings import Settings
from ingest.embedders import onnx
from ingest.exceptions import EmbeddingError


def test_the_default_is_the_transformer_when_its_extra_is_installed() -> None:
    embedder = build_embedder(Settings.from_env({}))
    assert embedder.embedder_id.startswith("onnx/minilm-l6-onnx-int8@") and embedder.dimension == 384


def test_without_the_onnx_extra_the_default_falls_back_to_the_static_model_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnx, "runtime_available", lambda: False)
    monkeypatch.setattr(onnx, "OnnxEmbedder", None)  # never constructed on this path
    with caplog.at_level(logging.WARNING):
        embedder = build_embedder(Settings.from_env({}))
    assert embedder.embedder_id.startswith("model2vec/")
    assert [r.getMessage() for r in caplog.records if "'onnx' extra" in r.getMessage()], caplog.text


def test_a_chosen_transformer_without_its_extra_is_an_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx, "runtime_available", lambda: False)
    with pytest.raises(EmbeddingError, match="'onnx' extra"):
        build_embedder(Settings.from_env({"HELPDESK_EMBEDDER": "onnx-minilm"}))
