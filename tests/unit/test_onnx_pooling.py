"""The ONNX embedder's pure parts: inputs from a tokenizer, mean pooling over the attention mask."""

from __future__ import annotations

import numpy as np
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from ingest.embedders.onnx import MAX_SEQUENCE_LENGTH, encode_batch, mean_pool


def _tokenizer() -> Tokenizer:
    vocab = {"[PAD]": 0, "[UNK]": 1, "reset": 2, "my": 3, "password": 4}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.enable_truncation(MAX_SEQUENCE_LENGTH)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def test_inputs_are_padded_to_the_longest_text_and_masked() -> None:
    feeds = encode_batch(_tokenizer(), ["reset my password", "password"])
    assert feeds["input_ids"].tolist() == [[2, 3, 4], [4, 0, 0]]
    assert feeds["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert feeds["token_type_ids"].dtype == np.int64


def test_long_text_is_truncated_to_the_model_limit() -> None:
    feeds = encode_batch(_tokenizer(), ["password " * 1000])
    assert feeds["input_ids"].shape == (1, MAX_SEQUENCE_LENGTH)


def test_padding_does_not_move_the_vector() -> None:
    hidden = np.array([[[1.0, 0.0], [0.0, 1.0], [50.0, 50.0]]], dtype=np.float32)
    pooled = mean_pool(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(pooled, [[2**-0.5, 2**-0.5]], rtol=1e-6)
    assert pooled.dtype == np.float32


def test_an_all_padding_row_stays_zero_instead_of_nan() -> None:
    pooled = mean_pool(np.ones((1, 2, 3), dtype=np.float32), np.array([[0, 0]]))
    assert np.all(pooled == 0)
