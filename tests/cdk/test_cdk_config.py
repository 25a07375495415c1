"""Deploy-time settings and Bedrock ARNs: pure code, no synthesis."""

from __future__ import annotations

import pytest
from helpdesk_cdk.bedrock import PROFILE_REGIONS, model_grant, split_profile
from helpdesk_cdk.config import ConfigError, HelpdeskConfig, is_secret_name


def test_context_wins_over_environment_which_wins_over_defaults():
    config = HelpdeskConfig.from_sources(
        {"slack_memory_mb": "2048", "confluence_spaces": "IT, HR", "adopt_tickets_table": "yes"},
        {"HELPDESK_CDK_SLACK_MEMORY_MB": "1536", "HELPDESK_CDK_ALARM_EMAIL": "ops@acme.example"},
    )
    assert config.slack_memory_mb == 2048
    assert config.alarm_email == "ops@acme.example"
    assert config.confluence_spaces == ("IT", "HR")
    assert config.adopt_tickets_table is True
    assert config.ingest_memory_mb == 1024  # default


def test_json_context_values_from_cdk_json_are_accepted():
    config = HelpdeskConfig.from_sources(
        {"adopt_tickets_table": True, "embed_dimensions": 512, "it_group": ["U1", "U2"], "extra_env": {"A_B": "1"}}
    )
    assert (config.adopt_tickets_table, config.embed_dimensions, config.it_group) == (True, 512, ("U1", "U2"))
    assert config.extra_env == {"A_B": "1"}


def test_the_worker_is_on_and_bounded_by_default_and_can_be_switched_off():
    config = HelpdeskConfig.from_sources({})
    assert (config.slack_worker_handler, config.worker_concurrency) == ("handler.worker_handler", 10)
    single = HelpdeskConfig.from_sources({"slack_worker_handler": "", "worker_concurrency": "0"})
    assert (single.slack_worker_handler, single.worker_concurrency) == ("", 0)
    arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
    assert HelpdeskConfig.from_sources({"rerank_model_arn": arn}).rerank_model_arn == arn


def test_schedules_can_be_switched_off():
    config = HelpdeskConfig.from_sources({"full_ingest_schedule": "off", "sweep_schedule": "none"})
    assert config.full_ingest_schedule == "" and config.sweep_schedule == ""
    assert config.ingest_schedule == "rate(1 hour)"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"slack_memory_mb": "256"}, "slack_memory_mb=256: the answering path needs at least 512 MB"),
        ({"ingest_timeout_s": "1200"}, "ingest_timeout_s=1200 must be between 1 and 900"),
        ({"log_retention_days": "31"}, "log_retention_days=31 is not a CloudWatch retention"),
        ({"architecture": "arm"}, "architecture='arm' must be one of: arm64, x86_64"),
        ({"python": "3.9"}, "python='3.9' must be one of: 3.12, 3.13, 3.14"),
        ({"ingest_schedule": "every hour"}, "ingest_schedule='every hour' is not an EventBridge schedule"),
        ({"chat_model": "arn:aws:bedrock:us-east-1:1:application-inference-profile/x"}, "ARNs are not accepted"),
        ({"embed_dimensions": "300"}, "embed_dimensions=300 must be 256, 512 or 1024"),
        ({"guardrail_id": "abc"}, "guardrail_id and guardrail_version go together"),
        ({"slack_secret_arn": "helpdesk/slack"}, "slack_secret_arn='helpdesk/slack' is not a Secrets Manager"),
        ({"alarm_email": "ops"}, "alarm_email='ops' is not an email address"),
        ({"ses_identity": "other.example"}, "must be the domain of sender_email (example.com)"),
        ({"tickets_table_name": "x"}, "tickets_table_name='x' is not a DynamoDB table name"),
        ({"index_prefix": "/index/"}, "index_prefix='/index/' is not a key prefix"),
        ({"extra_env": '{"SLACK_BOT_TOKEN": "xoxb-1"}'}, "extra_env: SLACK_BOT_TOKEN looks like a secret"),
        ({"extra_env": "not json"}, "extra_env must be a JSON object"),
        ({"slack_memory": "1024"}, "unknown setting(s): slack_memory"),
        ({"adopt_tickets_table": "maybe"}, "adopt_tickets_table='maybe' must be true or false"),
        ({"worker_concurrency": "901"}, "worker_concurrency=901 must be between 0 and 900"),
        ({"worker_concurrency": "ten"}, "worker_concurrency='ten' is not a whole number"),
        (
            {"rerank_model_arn": "amazon.rerank-v1:0"},
            "rerank_model_arn='amazon.rerank-v1:0' is not a Bedrock foundation-model ARN",
        ),
        (
            {"rerank_model_arn": "arn:aws:bedrock:us-west-2:123456789012:inference-profile/x.y"},
            "is not a Bedrock foundation-model ARN",
        ),
        (
            {"knowledge_base_id": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"},
            "knowledge_base_id='arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678' is not a Bedrock "
            "Knowledge Base id",
        ),
    ],
)
def test_bad_settings_fail_with_a_message_naming_the_setting(context, message):
    with pytest.raises(ConfigError) as err:
        HelpdeskConfig.from_sources(context)
    assert message in str(err.value)


def test_cdk_own_context_keys_are_not_mistaken_for_typos():
    HelpdeskConfig.from_sources({"@aws-cdk/core:target-partitions": ["aws"], "aws:cdk:bundling-stacks": ["*"]})


@pytest.mark.parametrize(
    ("name", "secret"),
    [("SLACK_BOT_TOKEN", True), ("CONFLUENCE_TOKEN", True), ("SLACK_SIGNING_SECRET", True), ("DB_PASSWORD", True),
     ("SLACK_SECRET_ARN", False), ("CONFLUENCE_SECRET_ARN", False), ("HELPDESK_INDEX", False)],
)  # fmt: skip
def test_secret_looking_names(name, secret):
    assert is_secret_name(name) is secret


def test_foundation_model_is_granted_in_the_stack_region_only():
    g = model_grant("amazon.titan-embed-text-v2:0", partition="aws", region="eu-west-1", account="1")
    assert g.direct == ("arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0",)
    assert g.routed == () and g.profile_arn == ""


def test_inference_profile_needs_the_profile_and_the_model_in_each_destination_region():
    g = model_grant("us.anthropic.claude-3-5-haiku-20241022-v1:0", partition="aws", region="us-east-1", account="1")
    assert g.direct == ("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",)
    assert g.routed == tuple(
        f"arn:aws:bedrock:{r}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0" for r in PROFILE_REGIONS["us"]
    )  # the source Region (us-east-1) is one of them, listed once
    pinned = model_grant("eu.amazon.nova-lite-v1:0", partition="aws", region="eu-west-1", account="1",
                         profile_regions=("eu-west-1", "eu-west-3"))  # fmt: skip
    assert [r.split(":")[3] for r in pinned.routed] == ["eu-west-1", "eu-west-3"]


def test_global_profile_also_grants_the_region_less_model_arn():
    model = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    g = model_grant(model, partition="aws", region="us-east-1", account="1")
    assert "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0" in g.routed
    assert split_profile("amazon.titan-embed-text-v2:0") == ("", "amazon.titan-embed-text-v2:0")
    assert split_profile("apac.amazon.nova-pro-v1:0") == ("apac", "amazon.nova-pro-v1:0")


def test_app_py_parses_context_arguments_like_the_cdk_cli():
    from app import default_outdir, parse_context_args

    assert parse_context_args(["-c", "bundle=stub", "--context", "a=b=c", "--context=x=1"]) == {
        "bundle": "stub", "a": "b=c", "x": "1"
    }  # fmt: skip
    with pytest.raises(SystemExit, match="context must be key=value"):
        parse_context_args(["-c", "bundle"])
    with pytest.raises(SystemExit, match="unexpected argument"):
        parse_context_args(["deploy"])
    assert default_outdir({}).endswith("cdk/cdk.out")
    assert default_outdir({"CDK_OUTDIR": "/tmp/x"}) == "/tmp/x"


def test_every_setting_is_documented_in_deploy_md():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    missing = [name for name in HelpdeskConfig.setting_names() if f"`{name}`" not in doc]
    assert missing == []


def test_a_bundle_folder_that_is_not_a_package_is_a_configuration_error(tmp_path):
    from helpdesk_cdk.asset import lambda_code

    with pytest.raises(ConfigError, match="is not a Lambda package"):
        lambda_code(HelpdeskConfig.from_sources({"bundle": str(tmp_path)}))
    with pytest.raises(ConfigError, match="cannot run"):
        lambda_code(HelpdeskConfig.from_sources({"bundle_python": str(tmp_path / "python3.13")}))


def test_slack_timeout_must_stay_under_the_dedupe_lease() -> None:
    from helpdesk_cdk.config import SLACK_LEASE_SECONDS

    from assistant.slack.bot import LEASE_SECONDS

    assert SLACK_LEASE_SECONDS == LEASE_SECONDS
    with pytest.raises(ConfigError, match="slack_timeout_s=90 must stay under 90"):
        HelpdeskConfig.from_sources({"slack_timeout_s": "90"}, {})
    assert HelpdeskConfig.from_sources({"slack_timeout_s": "80"}, {}).slack_timeout_s == 80
