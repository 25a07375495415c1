"""The AWS CDK app of the IT helpdesk assistant: one stack, composed from small constructs.

- `config`: every deploy-time setting, from CDK context or `HELPDESK_CDK_*` environment variables (pure).
- `bedrock`: the model and inference-profile ARNs a role may invoke (pure).
- `bundling`: the Lambda code asset, built locally without Docker (pip wheels for the Lambda platform).
- `storage`, `secrets`, `email`, `functions`, `api`, `schedule`, `monitoring`: the constructs.
- `stack`: `HelpdeskStack`, which composes them; `nag`: the cdk-nag acknowledgements, each with its reason.
"""
