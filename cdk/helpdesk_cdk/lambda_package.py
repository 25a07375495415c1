"""Build the Lambda deployment package on this machine, without Docker. Pure Python plus `uv`; no aws_cdk import.

1. `uv export --frozen` turns uv.lock into pinned requirements: runtime dependencies only (no dev, no cdk group, no
   `local` extra, so no model2vec), without the project itself.
2. `uv pip install --target` installs them as wheels for the Lambda platform: `--python-platform
   <arch>-manylinux_2_34` (Amazon Linux 2023, glibc 2.34, which the python3.12+ runtimes use),
   `--python-version <runtime>`, `--only-binary :all:`, `--no-deps` (the export is already the full, locked set).
3. The project's packages are copied in, without the local embedding model (Lambda embeds with Titan) and the
   LangChain integration.
4. What the code never loads is removed (see TRIM_RULES), and the result is measured.
5. Optionally, bytecode is compiled with an interpreter of the runtime's version (`--invalidation-mode
   unchecked-hash`): the Lambda file system is read-only, so without it every cold start compiles every module.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_VERSION = "1"  # bump when the build steps change, so cached assets are rebuilt

# What goes into the package from the repository (pyproject's py-modules and packages.find include).
PROJECT_MODULES = ("handler.py", "helpdesk", "ingest", "index_store", "assistant", "core")
# The LangChain integration needs the `langchain` extra, which the bundle leaves out: no Lambda imports it.
PROJECT_EXCLUDES = ("__pycache__", "*.pyc", "ingest/embedders/models", "helpdesk/integrations")

# botocore ships the models of ~450 services (28 MB); the code creates clients for these only. The list is generous
# (the services the handlers, Bolt, Powertools and the credential chain may touch); add one here if a new client
# fails with UnknownServiceError.
BOTOCORE_SERVICES = (
    "appconfigdata", "bedrock", "bedrock-agent-runtime", "bedrock-runtime", "cloudwatch", "dynamodb", "kms", "lambda",
    "logs", "s3", "secretsmanager", "ses", "sesv2", "sqs", "ssm", "sso", "sso-oidc", "sts",
)  # fmt: skip

# Bytecode: "all" precompiles every module (measured: the answer path imports in 0.95 s instead of 1.93 s, +24 MB);
# "ack" only the Slack ack path (Bolt, the AWS SDK, Powertools, their dependencies and the project: +9 MB).
ACK_PATH = (
    "handler.py", "helpdesk", "core", "assistant", "index_store", "ingest", "slack_bolt", "slack_sdk", "boto3",
    "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py", "aws_lambda_powertools", "certifi", "idna",
    "charset_normalizer", "requests", "typing_extensions.py",
)  # fmt: skip
BYTECODE_SCOPES = ("all", "ack", "none")
ELF_MAGIC = b"\x7fELF"
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}

# Removed from third-party packages: never imported on Lambda.
TRIM_RULES: tuple[tuple[str, str], ...] = (
    ("dir", "tests"),  # test suites (numpy, pandas-style layouts)
    ("dir", "__pycache__"),  # stale caches from the wheel, if any
    ("file", "*.pyi"),  # type stubs
    ("top", "bin"),  # console scripts installed by --target
    ("file", "zstandard/_cffi*.so"),  # CPython always loads zstandard's C backend; the CFFI one is 11 MB
    ("file", "zstandard/backend_cffi.py"),
)


class PackageError(RuntimeError):
    """The Lambda package could not be built; the message says what to install or change."""


@dataclass
class PackageReport:
    """What a build produced (sizes in bytes)."""

    arch: str
    python: str
    requirements: list[str]
    unzipped: int = 0
    zipped: int = 0
    trimmed: dict[str, int] = field(default_factory=dict)
    bytecode: str = "not compiled"
    largest: list[tuple[str, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "arch": self.arch,
            "python": self.python,
            "requirements": self.requirements,
            "unzipped_bytes": self.unzipped,
            "zipped_bytes": self.zipped,
            "trimmed_bytes": self.trimmed,
            "bytecode": self.bytecode,
            "largest": self.largest,
        }


def platform_tag(arch: str) -> str:
    """uv's --python-platform for a Lambda architecture."""
    if arch not in MACHINES:
        raise PackageError(f"unknown architecture {arch!r}; expected arm64 or x86_64")
    return f"{MACHINES[arch]}-manylinux_2_34"


def find_uv() -> str:
    """The uv binary: $UV, the project's .tools/bin/uv (`make install` puts it there), or uv on PATH."""
    for candidate in (os.environ.get("UV", ""), str(ROOT / ".tools" / "bin" / "uv"), shutil.which("uv") or ""):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise PackageError("uv not found: run `make install` (it installs uv into .tools/bin) or set UV=/path/to/uv")


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise PackageError(f"{what}: {cmd[0]} not found") from exc
    except subprocess.CalledProcessError as exc:
        tail = "\n".join((exc.stderr or exc.stdout or "").strip().splitlines()[-15:])
        raise PackageError(f"{what} failed (exit {exc.returncode}):\n{tail}") from exc
    return done.stdout


def export_requirements(uv: str, root: Path = ROOT) -> list[str]:
    """Pinned runtime requirements from uv.lock (markers kept; uv evaluates them for the target Python)."""
    out = _run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-hashes", "--no-header",
         "--no-annotate", "--format", "requirements-txt"],
        "uv export",
        cwd=root,
    )  # fmt: skip
    return parse_requirements(out)


def parse_requirements(text: str) -> list[str]:
    """Requirement lines of a requirements.txt, without comments, blank lines or options (pure)."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    bad = [line for line in lines if "==" not in line.split(";")[0]]
    if bad:
        raise PackageError(f"requirements are not all pinned: {', '.join(bad)}")
    names = {line.split("==")[0].strip().lower() for line in lines}
    if "model2vec" in names:
        raise PackageError("model2vec is in the Lambda requirements: the `local` extra must stay out of the bundle")
    return lines


def install_wheels(uv: str, requirements: Iterable[str], target: Path, arch: str, python: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(requirements) + "\n")
        req_file = fh.name
    cmd = [uv, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:", "--python-version", python,
           "--python-platform", platform_tag(arch), "--link-mode", "copy", "--target", str(target),
           "-r", req_file]  # fmt: skip
    what = f"installing wheels for {arch} / Python {python} (from PyPI, or from the uv cache when offline)"
    try:
        try:
            _run(cmd, what)
        except PackageError as online:
            # No network: every pinned wheel may still be in uv's cache from an earlier build.
            try:
                _run([*cmd, "--offline"], what + ", offline retry")
            except PackageError:
                raise online from None
    finally:
        os.unlink(req_file)


def _excluded(rel: str) -> bool:
    parts = rel.split("/")
    return any(fnmatch.fnmatch(p, pat) for p in parts for pat in PROJECT_EXCLUDES if "/" not in pat) or any(
        rel == pat or rel.startswith(pat + "/") for pat in PROJECT_EXCLUDES if "/" in pat
    )


def project_files(root: Path = ROOT) -> list[Path]:
    """The repository files that go into the package, sorted (relative paths)."""
    out: list[Path] = []
    for name in PROJECT_MODULES:
        path = root / name
        if path.is_file():
            out.append(Path(name))
            continue
        if not path.is_dir():
            raise PackageError(f"project module {name} not found under {root}")
        for file in path.rglob("*"):
            rel = file.relative_to(root).as_posix()
            if file.is_file() and not _excluded(rel):
                out.append(Path(rel))
    return sorted(out)


def copy_project(target: Path, root: Path = ROOT) -> None:
    for rel in project_files(root):
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, dest)


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def trim(target: Path, keep_services: Iterable[str] = BOTOCORE_SERVICES) -> dict[str, int]:
    """Remove what the code never loads from the installed third-party packages. Returns bytes freed per rule."""
    ours = {Path(m).parts[0] for m in PROJECT_MODULES}
    freed: dict[str, int] = {}

    def drop(path: Path, rule: str) -> None:
        freed[rule] = freed.get(rule, 0) + _tree_size(path)
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    for kind, pattern in TRIM_RULES:
        rule = f"{kind}:{pattern}"
        if kind == "top":
            if (target / pattern).exists():
                drop(target / pattern, rule)
            continue
        for path in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            rel = path.relative_to(target)
            if rel.parts[0] in ours or not path.exists():
                continue
            is_dir_hit = kind == "dir" and path.is_dir() and path.name == pattern
            is_file_hit = kind == "file" and path.is_file() and fnmatch.fnmatch(rel.as_posix(), f"*{pattern}")
            if is_dir_hit or is_file_hit:
                drop(path, rule)
    data = target / "botocore" / "data"
    if data.is_dir():
        keep = set(keep_services)
        missing = sorted(s for s in keep if not (data / s).is_dir())
        if missing:
            raise PackageError(f"botocore has no model for: {', '.join(missing)} (check BOTOCORE_SERVICES)")
        for service in sorted(p for p in data.iterdir() if p.is_dir() and p.name not in keep):
            drop(service, "botocore-data:unused-services")
    return freed


def has_debug_info(path: Path) -> bool:
    """An ELF shared object that still carries DWARF sections (their names sit in the section string table)."""
    with path.open("rb") as fh:
        if fh.read(4) != ELF_MAGIC:
            return False
        return b".debug_info\x00" in fh.read()


def find_strip(arch: str) -> str:
    """llvm-strip reads every architecture; GNU strip only the host's. '' when neither fits."""
    llvm = shutil.which("llvm-strip")
    if llvm:
        return llvm
    gnu = shutil.which("strip")
    return gnu if gnu and platform.machine() == MACHINES.get(arch) else ""


def strip_debug(target: Path, strip: str) -> int:
    """Remove debug sections from Python extension modules that have them (zstandard ships 10 MB of DWARF).
    Only DWARF goes: symbol tables and code are untouched. Libraries that auditwheel grafted into `<dist>.libs/`
    are left alone: patchelf rewrote their headers, and stripping them breaks loading (seen with libgfortran:
    "ELF load command address/offset not page-aligned"). Returns the bytes freed."""
    freed = 0
    for path in sorted(target.rglob("*.so")):
        if any(part.endswith(".libs") for part in path.relative_to(target).parts):
            continue
        if path.is_file() and not path.is_symlink() and has_debug_info(path):
            before = path.stat().st_size
            _run([strip, "--strip-debug", str(path)], f"stripping debug info from {path.name}")
            freed += before - path.stat().st_size
    return freed


def find_python(version: str, explicit: str = "") -> str:
    """An interpreter of exactly `version` (3.13) for bytecode, or '' when there is none on this machine."""
    candidates = [explicit] if explicit else [shutil.which(f"python{version}") or ""]
    for exe in candidates:
        if not exe:
            continue
        try:
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
        except (OSError, subprocess.CalledProcessError) as exc:
            if explicit:
                raise PackageError(f"bundle_python={explicit!r} cannot run: {exc}") from exc
            continue
        if out == version:
            return exe
        if explicit:
            raise PackageError(f"bundle_python={explicit!r} is Python {out}, but the runtime is Python {version}")
    return ""


def compile_bytecode(target: Path, python_exe: str, scope: str = "all") -> None:
    """Precompile with `unchecked-hash` pycs: valid whatever mtimes the zip gives the sources."""
    if scope not in BYTECODE_SCOPES:
        raise PackageError(f"bytecode={scope!r} must be one of: {', '.join(BYTECODE_SCOPES)}")
    if scope == "none":
        return
    paths = [target] if scope == "all" else [target / p for p in ACK_PATH if (target / p).exists()]
    subprocess.run(
        [python_exe, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         "-s", str(target), "-p", "/var/task", *map(str, paths)],
        check=False, capture_output=True,
    )  # fmt: skip  # a few vendored py2 files fail to compile; they are never imported either


def zipped_size(target: Path) -> int:
    """Size of the deployment zip (deflate, as the CDK asset is uploaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for file in sorted(target.rglob("*")):
                if file.is_file():
                    zf.write(file, file.relative_to(target).as_posix())
        return path.stat().st_size


def largest(target: Path, n: int = 12) -> list[tuple[str, int]]:
    sizes = [(p.name, _tree_size(p)) for p in target.iterdir()]
    return sorted(sizes, key=lambda x: -x[1])[:n]


def build_package(
    target: Path,
    *,
    arch: str,
    python: str,
    root: Path = ROOT,
    python_exe: str = "",
    bytecode: str = "all",
    measure_zip: bool = True,
) -> PackageReport:
    """Build the package into `target` (which must be empty or absent). Raises PackageError."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise PackageError(f"{target} is not empty")
    uv = find_uv()
    requirements = export_requirements(uv, root)
    report = PackageReport(arch=arch, python=python, requirements=requirements)
    install_wheels(uv, requirements, target, arch, python)
    copy_project(target, root)
    report.trimmed = trim(target)
    strip = find_strip(arch)
    if strip:
        report.trimmed["debug-info:strip-debug"] = strip_debug(target, strip)
    else:
        report.trimmed["debug-info:not-stripped (no llvm-strip)"] = 0
    exe = find_python(python, python_exe) if bytecode != "none" else ""
    if exe:
        compile_bytecode(target, exe, bytecode)
        report.bytecode = f"{bytecode}: compiled with {exe} (unchecked-hash)"
    elif bytecode == "none":
        report.bytecode = "none"
    else:
        report.bytecode = f"not compiled: no python{python} on this machine (set bundle_python to add it)"
    (target / "helpdesk-package.json").write_text(json.dumps(report.to_json(), indent=1))
    report.unzipped = _tree_size(target)
    report.largest = largest(target)
    if measure_zip:
        report.zipped = zipped_size(target)
    return report


def source_hash(*, arch: str, python: str, bytecode: str = "none", root: Path = ROOT) -> str:
    """Identifies a package build: lock file, project sources and build options. Cheap: no install needed."""
    digest = hashlib.sha256()
    for part in (PACKAGE_VERSION, arch, python, bytecode):
        digest.update(part.encode() + b"\0")
    for name in ("uv.lock", "pyproject.toml"):
        digest.update((root / name).read_bytes())
    for rel in project_files(root):
        digest.update(rel.as_posix().encode() + b"\0" + (root / rel).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()
