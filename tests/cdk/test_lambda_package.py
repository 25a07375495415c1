"""The Lambda package build: what goes in, what is trimmed, and what identifies a build. No network: the real
install from PyPI is exercised by `cdk/build_bundle.py` (see docs/decisions/0010), not by the test suite."""

from __future__ import annotations

import re
import stat
import sys
import tomllib
from pathlib import Path

import pytest
from helpdesk_cdk import lambda_package as lp

ROOT = lp.ROOT


def test_requirements_come_from_the_lock_without_dev_cdk_or_local_extras():
    reqs = lp.export_requirements(lp.find_uv())  # `uv export --frozen` reads uv.lock only: no network
    names = {r.split("==")[0].lower() for r in reqs}
    assert {"boto3", "faiss-cpu", "numpy", "slack-bolt", "aws-lambda-powertools", "atlassian-python-api"} <= names
    assert names.isdisjoint({"pytest", "ruff", "moto", "aws-cdk-lib", "cdk-nag", "cfn-lint", "model2vec"})
    # boto3 calls Bedrock directly (decisions 0003, 0005): the LangChain stack is only a benchmark comparison
    assert names.isdisjoint({"langchain-aws", "langchain-core", "langchain-community", "langsmith"})
    assert all("==" in r.split(";")[0] for r in reqs)


def test_unpinned_or_local_extra_requirements_are_refused():
    with pytest.raises(lp.PackageError, match="not all pinned: numpy>=2"):
        lp.parse_requirements("boto3==1.0\nnumpy>=2\n")
    with pytest.raises(lp.PackageError, match="model2vec is in the Lambda requirements"):
        lp.parse_requirements("model2vec==0.6 ; python_version >= '3.10'\n")
    assert lp.parse_requirements("# c\n-e .\nboto3==1.0  # via x\n\n") == ["boto3==1.0"]


def test_project_files_are_the_packages_of_pyproject_without_the_local_model_or_caches():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in pyproject["tool"]["setuptools"]["py-modules"]}
    assert set(lp.PROJECT_MODULES) == packages | modules
    files = [f.as_posix() for f in lp.project_files()]
    assert "handler.py" in files and "helpdesk/settings.py" in files and "ingest/embedders/local.py" in files
    assert not [f for f in files if f.startswith("ingest/embedders/models/") or "__pycache__" in f]
    assert not [f for f in files if f.startswith("helpdesk/integrations/")]  # needs the `langchain` extra
    assert (ROOT / "helpdesk" / "integrations" / "langchain.py").exists()


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_trim_removes_what_lambda_never_loads_and_keeps_the_project(tmp_path):
    services = [f"botocore/data/{s}/service-2.json.gz" for s in lp.BOTOCORE_SERVICES]
    _tree(tmp_path, {
        "numpy/__init__.py": b"", "numpy/_core/tests/test_x.py": b"x" * 100, "numpy/__init__.pyi": b"stub",
        "zstandard/__init__.py": b"", "zstandard/_cffi.cpython-313-aarch64-linux-gnu.so": b"x" * 50,
        "zstandard/backend_cffi.py": b"", "zstandard/backend_c.cpython-313-aarch64-linux-gnu.so": b"c",
        "bin/normalizer": b"#!", "botocore/data/endpoints.json": b"{}",
        "botocore/data/ec2/service-2.json.gz": b"e" * 70,
        "assistant/tests/helper.py": b"ours", **{s: b"m" for s in services},
    })  # fmt: skip
    freed = lp.trim(tmp_path)
    left = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert "numpy/_core/tests/test_x.py" not in left and "numpy/__init__.pyi" not in left
    assert "zstandard/backend_c.cpython-313-aarch64-linux-gnu.so" in left
    assert not [f for f in left if "cffi" in f] and "bin/normalizer" not in left
    assert "botocore/data/ec2/service-2.json.gz" not in left and "botocore/data/endpoints.json" in left
    assert set(services) <= left
    assert "assistant/tests/helper.py" in left  # the project's own folders are never trimmed
    assert freed["botocore-data:unused-services"] == 70 and freed["dir:tests"] == 100


def test_trim_refuses_a_botocore_without_a_service_the_code_uses(tmp_path):
    _tree(tmp_path, {"botocore/data/s3/service-2.json.gz": b"m"})
    with pytest.raises(lp.PackageError, match=r"botocore has no model for: .*bedrock-runtime"):
        lp.trim(tmp_path)


def test_debug_info_is_stripped_from_extension_modules_but_never_from_grafted_libraries(tmp_path):
    debug = lp.ELF_MAGIC + b"...\x00.debug_info\x00..."
    _tree(tmp_path, {
        "zstandard/backend_c.so": debug, "faiss_cpu.libs/libgfortran.so": debug,
        "faiss/_swigfaiss.so": lp.ELF_MAGIC + b"stripped", "yaml/notelf.so": b".debug_info\x00",
    })  # fmt: skip
    log = tmp_path / "calls"
    fake = tmp_path / "fake-strip"
    fake.write_text(f'#!/bin/sh\necho "$2" >> {log}\nprintf "\\177ELF" > "$2"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    freed = lp.strip_debug(tmp_path, str(fake))
    assert log.read_text().split() == [str(tmp_path / "zstandard/backend_c.so")]
    assert freed == len(debug) - 4


def test_build_identity_changes_with_the_lock_the_sources_and_the_options(tmp_path):
    root = tmp_path / "repo"
    for name in (*lp.PROJECT_MODULES, "uv.lock", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            _tree(root, {f"{name}/__init__.py": b"# code"})
        else:
            _tree(root, {name: src.read_bytes()})
    base = lp.source_hash(arch="arm64", python="3.13", root=root)
    assert base == lp.source_hash(arch="arm64", python="3.13", root=root)
    assert base != lp.source_hash(arch="x86_64", python="3.13", root=root)
    assert base != lp.source_hash(arch="arm64", python="3.12", root=root)
    assert base != lp.source_hash(arch="arm64", python="3.13", bytecode="all", root=root)
    (root / "helpdesk/__init__.py").write_text("# changed")
    assert base != lp.source_hash(arch="arm64", python="3.13", root=root)
    (root / "helpdesk/__pycache__").mkdir()
    changed = lp.source_hash(arch="arm64", python="3.13", root=root)
    (root / "helpdesk/__pycache__/x.pyc").write_bytes(b"cache")
    assert changed == lp.source_hash(arch="arm64", python="3.13", root=root)  # caches don't count


def test_platform_tags_and_interpreter_lookup():
    assert lp.platform_tag("arm64") == "aarch64-manylinux_2_34"
    assert lp.platform_tag("x86_64") == "x86_64-manylinux_2_34"
    with pytest.raises(lp.PackageError, match="unknown architecture"):
        lp.platform_tag("ppc64le")
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    with pytest.raises(lp.PackageError, match=re.escape(f"is Python {here}, but the runtime is Python 3.99")):
        lp.find_python("3.99", explicit=sys.executable)
    assert lp.find_python(here, explicit=sys.executable) == sys.executable
    assert lp.find_python("3.99") == ""
