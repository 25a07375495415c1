"""The CDK app: `cd cdk && ../.venv/bin/python app.py [-c key=value ...]` synthesizes into cdk/cdk.out/.

No AWS credentials, no Docker: the stack is environment-agnostic (account and Region resolve at deploy time) and the
Lambda package is built on this machine (`-c bundle=stub` skips it, for tests). The `cdk` CLI runs this same file
(cdk.json) for `cdk deploy`; only deploying needs it. Settings: helpdesk_cdk/config.py and docs/deploy.md.
cdk-nag's AwsSolutions checks run on every synth: an unacknowledged finding fails it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import helpdesk_cdk  # noqa: E402, F401  (before aws_cdk: points jsii at the bundled Node.js)


def parse_context_args(argv: Sequence[str]) -> dict[str, str]:
    """`-c key=value` / `--context key=value` pairs, as the cdk CLI accepts them (for running app.py directly)."""
    out: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-c", "--context") and args:
            arg = args.pop(0)
        elif arg.startswith("--context="):
            arg = arg.split("=", 1)[1]
        else:
            raise SystemExit(f"app.py: unexpected argument {arg!r}; usage: app.py [-c key=value ...]")
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise SystemExit(f"app.py: context must be key=value, got {arg!r}")
        out[key] = value
    return out


def default_outdir(env: Mapping[str, str]) -> str:
    """Where synthesis writes: the CLI's CDK_OUTDIR when it runs us, else cdk/cdk.out next to this file."""
    return env.get("CDK_OUTDIR") or str(HERE / "cdk.out")


def build_app(
    context: Mapping[str, Any] | None = None, outdir: str | None = None, env: Mapping[str, str] | None = None
) -> Any:
    """The App with the stack and the cdk-nag plugin, not yet synthesized (tests call this too)."""
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks
    from helpdesk_cdk.config import HelpdeskConfig
    from helpdesk_cdk.stack import HelpdeskStack

    app = App(outdir=outdir or default_outdir(os.environ), context=dict(context or {}))
    # Everything in context (from -c, cdk.json or the CLI's CDK_CONTEXT_JSON): unknown snake_case keys are errors.
    config = HelpdeskConfig.from_sources(app.node.get_all_context(), os.environ if env is None else env)
    HelpdeskStack(app, config.stack_name, config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main(argv: Sequence[str]) -> int:
    from helpdesk_cdk.config import ConfigError

    started = time.perf_counter()
    try:
        app = build_app(parse_context_args(argv))
    except ConfigError as exc:
        print(f"app.py: configuration error: {exc}", file=sys.stderr)
        return 2
    assembly = app.synth()
    print(f"Synthesized {', '.join(s.stack_name for s in assembly.stacks)} into {assembly.directory} "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
