"""cdk-nag AwsSolutions findings this stack acknowledges, each on the narrowest construct, each with its reason.

cdk-nag 3 runs as a CDK validation plugin (`Validations.of(app).add_plugins(AwsSolutionsChecks(app))`, see app.py):
an unacknowledged finding fails the synth. Acknowledgements use CDK's `Validations.of(construct).acknowledge`.
Every one is also recorded in `stack.nag_acknowledgements`, so tests can check that each has a real reason.

IAM5 (wildcards) is acknowledged per finding, naming the exact resource, never per rule: a new wildcard anywhere
fails the synth until someone writes down why it is needed.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"

REASONS = {
    "S1": "The bucket holds only the search index, written by one Lambda role and read by another, behind "
    "least-privilege IAM and TLS-only access. Object-level audit is available through CloudTrail data events; "
    "a second bucket for access logs is not worth its upkeep here.",
    "SMG4": "The Slack signing secret and bot token, and the Confluence API token, are issued by those services "
    "and can only be rotated there, by a person; there is no rotation Lambda that could do it. Rotation steps are "
    "in docs/deploy.md.",
    "SQS3": "This queue is itself the dead-letter queue (Lambda on-failure destination and EventBridge target DLQ), "
    "watched by the dlq-not-empty alarm. A DLQ for the DLQ would only move the problem.",
    "L1": "Python 3.13 is the newest runtime whose whole package is smoke-tested here (cdk/build_bundle.py --smoke "
    "runs it with a 3.13 interpreter); Lambda supports it until mid-2029. Python 3.14 is one setting away "
    "(-c python=3.14): every locked wheel exists for it.",
    "APIG2": "Slack posts JSON (events) and form-encoded bodies (slash commands, interactivity) to the same path. "
    "The Lambda verifies Slack's signature over the raw body first and answers 400 to a malformed body; an API "
    "Gateway request model could not describe both and would see the body before the signature is checked.",
    "APIG3": "Every request must carry Slack's HMAC signature, checked by the Lambda before any work, and the stage "
    "is throttled. WAF would add about $6/month plus per-request fees to a bot with ~1,000 requests a day; add a "
    "web ACL if the endpoint is ever abused.",
    "APIG4": "Slack cannot sign requests with SigV4 or present Cognito tokens. The Lambda authenticates every "
    "request with Slack's signing secret (HMAC-SHA256 over v0:timestamp:body, 5-minute window) and returns 401 "
    "otherwise.",
    "COG4": "Same as APIG4: the caller is Slack, which authenticates with its request signature, not a Cognito user.",
    "IAM4": "AmazonAPIGatewayPushToCloudWatchLogs is AWS's purpose-built service-role policy (not a *FullAccess "
    "policy) for the account-wide role API Gateway needs to write access and execution logs. No Lambda role has a "
    "managed policy.",
    "IAM5-index-objects": "Object ARNs under the index prefix: every publish writes new immutable version folders "
    "whose names are not known at deploy time. Limited to <bucket>/<prefix>/*.",
    "IAM5-table-indexes": "The tickets table's global secondary indexes (by_requester, by_status) are queried for "
    "'my tickets' and the IT queue; <table>/index/* covers exactly this table's indexes.",
    "IAM5-rerank": 'bedrock:Rerank has no resource type: IAM accepts only Resource "*" for it. It is granted '
    "only with rerank_model_arn set, alone in its statement; the model it can reach is limited by bedrock:InvokeModel, "
    "allowed on that one foundation-model ARN.",
    "IAM5-secret-suffix": "Referenced by partial ARN: Secrets Manager appends 6 random characters to every secret ARN; "
    "'-??????' matches exactly those, for this one secret.",
}


def flatten(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids: Ref -> <X>, GetAtt -> <X.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attr = value["Fn::GetAtt"]
        return f"<{logical}.{attr}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(flatten(p) for p in parts)
    raise ValueError(f"cannot flatten {value!r}")


def ack(stack: Stack, scope: IConstruct, rule: str, reason_key: str, finding: str = "") -> None:
    reason = REASONS[reason_key]
    rule_id = f"{PACK}::{PACK}-{rule}" + (f"[{finding}]" if finding else "")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
    stack.nag_acknowledgements.append((scope.node.path, rule_id, reason))  # type: ignore[attr-defined]


def acknowledge_findings(stack: Any) -> None:
    """Called by HelpdeskStack once every construct exists."""
    stack.nag_acknowledgements = []
    storage, functions, secrets, api = stack.storage, stack.functions, stack.secrets, stack.api
    ack(stack, storage.index_bucket, "S1", "S1")
    for secret in secrets.created:
        ack(stack, secret, "SMG4", "SMG4")
    ack(stack, functions.dlq, "SQS3", "SQS3")
    objects = flatten(stack.resolve(storage.index_bucket.arn_for_objects(f"{stack.config.index_prefix}/*")))
    table_indexes = flatten(stack.resolve(storage.tickets_table.table_arn)) + "/index/*"
    for fn in functions.all:
        ack(stack, fn.function, "L1", "L1")
        if fn in (functions.answerer, functions.ingest):
            ack(stack, fn.role, "IAM5", "IAM5-index-objects", f"Resource::{objects}")
        if fn in (functions.answerer, functions.sweep):
            ack(stack, fn.role, "IAM5", "IAM5-table-indexes", f"Resource::{table_indexes}")
        if fn is functions.answerer and stack.config.rerank_model_arn:
            ack(stack, fn.role, "IAM5", "IAM5-rerank", "Resource::*")
        for secret, owner in ((secrets.slack, functions.slack), (secrets.slack, functions.worker),
                              (secrets.confluence, functions.ingest)):  # fmt: skip
            arn = flatten(stack.resolve(secret.secret_arn))
            if fn is owner and secret not in secrets.created and not _complete(arn):
                ack(stack, fn.role, "IAM5", "IAM5-secret-suffix", f"Resource::{arn}-??????")
    ack(stack, api.api, "APIG2", "APIG2")
    ack(stack, api.api, "APIG3", "APIG3")
    ack(stack, api.method, "APIG4", "APIG4")
    ack(stack, api.method, "COG4", "COG4")
    if stack.config.api_gateway_cloudwatch_role:
        ack(stack, api.api, "IAM4", "IAM4", "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs")  # fmt: skip


def _complete(arn: str) -> bool:
    import re

    return bool(re.search(r"-[A-Za-z0-9]{6}$", arn))
