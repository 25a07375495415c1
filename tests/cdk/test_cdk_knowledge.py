"""The knowledge loop in the stack: the interactions table, the weekly digest function and its rule, the dashboard."""

from __future__ import annotations

import json

import pytest
from fakes.cdk_template import flat, function, one, resources, statements_of
from helpdesk_cdk.config import ConfigError, HelpdeskConfig

D, V = "ItHelpdesk", "ItHelpdeskVariant"


def test_interactions_table_expires_items_is_retained_and_is_read_by_day(synth):
    for stack, prefix in ((D, "it-helpdesk"), (V, "helpdesk-v")):
        t = synth.template(stack)
        _, table = one(t, "AWS::DynamoDB::Table", TableName=f"{prefix}-interactions")
        props = table["Properties"]
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
        assert props["KeySchema"] == [{"AttributeName": "interaction_id", "KeyType": "HASH"}]
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        (gsi,) = props["GlobalSecondaryIndexes"]
        assert gsi["IndexName"] == "by_day"
        assert gsi["KeySchema"] == [
            {"AttributeName": "day", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ]


def test_the_answering_function_records_interactions_with_updateitem_only(synth):
    for stack, name in ((D, "it-helpdesk-worker"), (V, "helpdesk-v-slack")):
        t = synth.template(stack)
        table_id, _ = one(t, "AWS::DynamoDB::Table", TableName=name.rsplit("-", 1)[0] + "-interactions")
        _, fn = function(t, name)
        assert flat(fn["Properties"]["Environment"]["Variables"]["INTERACTIONS_TABLE"]) == f"<{table_id}>"
        on_table = [s for s in statements_of(t, name) if any(table_id in r for r in s.resources)]
        assert [s.actions for s in on_table] == [("dynamodb:UpdateItem",)]
    receiver = statements_of(synth.template(D), "it-helpdesk-slack")  # with a worker, the receiver only acks
    assert not [s for s in receiver if any(a.startswith("dynamodb:") for a in s.actions)]


def test_digest_runs_weekly_with_seven_days_and_holds_only_what_it_needs(synth):
    t = synth.template(D)
    fn_id, fn = function(t, "it-helpdesk-digest")
    assert fn["Properties"]["Handler"] == "handler.digest_handler"
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["HELPDESK_EMAIL_BACKEND"] == "ses" and env["HELPDESK_EMBEDDER"] == "bedrock"
    assert "HELPDESK_DIGEST_CHANNEL" not in env and "SLACK_SECRET_ARN" not in env  # no channel configured
    _, rule = one(t, "AWS::Events::Rule", Name="it-helpdesk-weeklydigest")
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 8 ? * MON *)"
    (target,) = rule["Properties"]["Targets"]
    assert flat(target["Arn"]) == f"<{fn_id}.Arn>"
    assert json.loads(target["Input"]) == {"days": 7}
    assert "DeadLetterConfig" in target

    table_id, _ = one(t, "AWS::DynamoDB::Table", TableName="it-helpdesk-interactions")
    granted = {a for s in statements_of(t, "it-helpdesk-digest") for a in s.actions}
    assert {"dynamodb:Query", "bedrock:InvokeModel"} <= granted
    assert any(a.startswith("ses:") for a in granted)
    assert not granted & {"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert not any(a.startswith(("secretsmanager:", "s3:", "lambda:")) for a in granted)
    (query,) = [s for s in statements_of(t, "it-helpdesk-digest") if "dynamodb:Query" in s.actions]
    assert query.resources == (f"<{table_id}.Arn>/index/by_day",)

    topic, _ = one(t, "AWS::SNS::Topic", TopicName="it-helpdesk-alarms")
    _, alarm = one(t, "AWS::CloudWatch::Alarm", AlarmName="it-helpdesk-digest-errors")
    props = alarm["Properties"]
    assert (props["MetricName"], props["Namespace"], props["Threshold"]) == ("Errors", "AWS/Lambda", 1)
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn_id}}]
    assert [flat(a) for a in props["AlarmActions"]] == [f"<{topic}>"]


def _dashboard_body(t: dict) -> str:
    (dashboard,) = resources(t, "AWS::CloudWatch::Dashboard").values()
    assert flat(dashboard["Properties"]["DashboardName"]) == "it-helpdesk-knowledge"
    return flat(dashboard["Properties"]["DashboardBody"])


def test_dashboard_shows_deflection_latency_p95_throttles_and_ingest_health(synth):
    body = json.loads(_dashboard_body(synth.template(D)))
    widgets = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}
    assert {"Deflection rate (%)", "Answer latency p95 (ms)", "Throttles", "Ingest health"} <= set(widgets)

    expression, *inputs = widgets["Deflection rate (%)"]
    assert expression[0]["expression"] == "IF(questions > 0, 100 * answered / questions, 0)"
    assert sorted(line[1] for line in inputs) == ["Answered", "Questions"]
    assert all(line[:4:2] == ["ITHelpdesk", "service"] and line[3] == "it-helpdesk" for line in inputs)
    assert widgets["Answer latency p95 (ms)"] == [
        ["ITHelpdesk", "AnswerLatency", "service", "it-helpdesk", {"period": 3600, "stat": "p95"}]
    ]
    throttles = [line[:2] for line in widgets["Throttles"]]
    assert ["ITHelpdesk", "BedrockThrottles"] in throttles
    assert throttles.count(["AWS/Lambda", "Throttles"]) == 4  # slack, worker, ingest, sweep
    ingest = [line[:2] for line in widgets["Ingest health"]]
    assert ["AWS/Lambda", "Errors"] in ingest and ["ITHelpdesk", "Failures"] in ingest
    assert ["ITHelpdesk", "PagesChanged"] in ingest and ["ITHelpdesk", "DurationSeconds"] in ingest


def test_with_a_digest_channel_the_digest_may_read_the_slack_secret_and_posts_there(synth):
    v = synth.template(V)
    env = function(v, "helpdesk-v-digest")[1]["Properties"]["Environment"]["Variables"]
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:helpdesk/slack-AbC123"
    assert env["HELPDESK_DIGEST_CHANNEL"] == "C0ITDIGEST" and env["SLACK_SECRET_ARN"] == secret
    reads = [s.resources for s in statements_of(v, "helpdesk-v-digest") if "secretsmanager:GetSecretValue" in s.actions]
    assert reads == [(secret,)]


def test_digest_settings_are_validated():
    assert HelpdeskConfig.from_sources({"digest_schedule": "off"}).digest_schedule == ""
    with pytest.raises(ConfigError, match="digest_schedule"):
        HelpdeskConfig.from_sources({"digest_schedule": "every monday"})
    with pytest.raises(ConfigError, match="digest_channel"):
        HelpdeskConfig.from_sources({"digest_channel": "#it-team"})
