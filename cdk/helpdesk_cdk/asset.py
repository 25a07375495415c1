"""The Lambda code asset: built locally (no Docker), a prebuilt folder, or a stub for tests.

- `bundle=local` (default): CDK calls `LocalPackager.try_bundle`, which runs `lambda_package.build_package` into the
  asset's staging folder. The asset hash is computed from uv.lock, the project sources and the build options, so
  an unchanged project reuses `cdk.out/asset.<hash>` and the build runs once.
- `bundle=<folder>`: a package built by `cdk/build_bundle.py` (or anything with the same layout), used as is.
- `bundle=stub`: a placeholder folder; synthesizes in a second, for tests. Never deploy it.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from helpdesk_cdk.config import ConfigError, HelpdeskConfig
from helpdesk_cdk.lambda_package import ROOT, PackageError, build_package, find_python, source_hash

STUB_DIR = Path(__file__).resolve().parent / "stub_asset"


@jsii.implements(ILocalBundling)
class LocalPackager:
    """ILocalBundling: build the package on this machine. Returning True tells CDK never to try Docker."""

    def __init__(self, arch: str, python: str, python_exe: str, bytecode: str) -> None:
        self.arch = arch
        self.python = python
        self.python_exe = python_exe
        self.bytecode = bytecode

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        try:
            report = build_package(
                Path(output_dir),
                arch=self.arch,
                python=self.python,
                python_exe=self.python_exe,
                bytecode=self.bytecode,
                measure_zip=False,
            )
        except PackageError as exc:
            # Raise rather than return False: False would make CDK fall back to Docker, which we never use.
            raise RuntimeError(
                f"building the Lambda package failed: {exc}\n"
                "Synthesize without it with `-c bundle=stub` (tests), or prebuild it with cdk/build_bundle.py and "
                "pass `-c bundle=cdk/.bundle/<arch>-py<version>`."
            ) from exc
        hint = (
            ""
            if self.python_exe
            else (f" (no python{self.python} found: cold starts compile every module; set bundle_python to precompile)")
        )
        print(f"Lambda package ({self.arch}, Python {self.python}): {report.unzipped / 1e6:.1f} MB unzipped; "
              f"bytecode: {report.bytecode}{hint}")  # fmt: skip
        return True


def lambda_code(config: HelpdeskConfig) -> lambda_.Code:
    """The one code asset every function of the stack shares (one upload, one cold-start cache)."""
    if config.bundle == "stub":
        return lambda_.Code.from_asset(str(STUB_DIR))
    if config.bundle != "local":
        folder = Path(config.bundle).expanduser()
        folder = folder if folder.is_absolute() else (ROOT / folder)
        if not (folder / "handler.py").is_file():
            raise ConfigError(
                f"bundle={config.bundle!r}: {folder} is not a Lambda package (no handler.py); "
                "use local, stub, or a folder built by cdk/build_bundle.py"
            )
        return lambda_.Code.from_asset(str(folder))
    try:
        python_exe = find_python(config.python, config.bundle_python)
    except PackageError as exc:
        raise ConfigError(str(exc)) from exc
    bytecode = "all" if python_exe else "none"
    return lambda_.Code.from_asset(
        str(ROOT),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(arch=config.architecture, python=config.python, bytecode=bytecode),
        bundling=BundlingOptions(
            # Required by the API, never pulled: LocalPackager always succeeds or raises.
            image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{config.python}"),
            local=LocalPackager(config.architecture, config.python, python_exe, bytecode),
        ),
    )
