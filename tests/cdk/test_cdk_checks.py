"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized templates; the app needs no AWS account to synthesize."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cfnlint.api import lint_file
from cfnlint.config import ManualArgs

CDK = Path(__file__).resolve().parents[2] / "cdk"

# CDK adds a DependsOn on the role next to the GetAtt of its ARN; harmless, and not ours to change.
CDK_GENERATED_WARNINGS = {"W3005"}


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synth):
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["violations"] == [], json.dumps(plugin["violations"], indent=1)[:3000]
    assert plugin["conclusion"] == "success"
    suppressed = plugin["suppressedViolations"]
    assert suppressed, "the checks ran (the stack has acknowledged findings)"
    for finding in suppressed:
        assert len(finding["reason"]) > 80, finding["acknowledgedId"]


def test_every_acknowledgement_names_its_rule_and_a_specific_reason(synth):
    for stack in synth.stacks.values():
        acks = stack.nag_acknowledgements
        assert acks
        for path, rule_id, reason in acks:
            assert rule_id.startswith("AwsSolutions::AwsSolutions-"), rule_id
            assert len(reason) > 80 and "TODO" not in reason, (path, rule_id)
        # IAM5 (wildcards) is acknowledged per resource, never for the whole rule.
        assert all("[Resource::" in rule for _, rule, _ in acks if "IAM5" in rule)


def test_cfn_lint_finds_no_error_in_either_template(synth):
    for name in synth.templates:
        matches = lint_file(synth.outdir / f"{name}.template.json",
                            config=ManualArgs(regions=["us-east-1", "us-west-2", "eu-west-1"]))  # fmt: skip
        problems = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in CDK_GENERATED_WARNINGS]
        for m in matches:
            print(f"cfn-lint {name}: {m.rule.id} {m.message[:120]}")
        assert problems == [], problems


def test_stacks_are_environment_agnostic_so_synthesis_needs_no_credentials(synth):
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert {s["environment"] for s in stacks} == {"aws://unknown-account/unknown-region"}
    for template in synth.templates.values():
        assert "Lookup" not in json.dumps(template)


def test_app_py_rejects_a_bad_setting_with_a_clear_message_and_exit_code_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "app.py", "-c", "bundle=stub", "-c", "slack_memory_mb=128"],
        cwd=CDK, capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))},
             "CDK_OUTDIR": str(tmp_path)},
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "slack_memory_mb=128: the answering path needs at least 512 MB" in done.stderr
    assert not list(tmp_path.glob("*.template.json"))
