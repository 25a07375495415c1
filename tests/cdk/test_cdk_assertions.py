"""The same stack read through `aws_cdk.assertions.Template` (CDK's own matcher), for the key properties."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

D, V = "ItHelpdesk", "ItHelpdeskVariant"


@pytest.fixture(scope="module")
def default(synth) -> Template:
    return Template.from_json(synth.template(D))


@pytest.fixture(scope="module")
def variant(synth) -> Template:
    return Template.from_json(synth.template(V))


def test_resource_counts(default, variant):
    for rtype, n in {
        "AWS::ApiGateway::RestApi": 1, "AWS::ApiGateway::Method": 1,
        "AWS::S3::Bucket": 1, "AWS::DynamoDB::Table": 3, "AWS::SecretsManager::Secret": 2, "AWS::SQS::Queue": 1,
        "AWS::SNS::Topic": 1, "AWS::Events::Rule": 4, "AWS::CloudWatch::Alarm": 12, "AWS::SES::EmailIdentity": 0,
    }.items():  # fmt: skip
        default.resource_count_is(rtype, n)
    default.resource_count_is("AWS::Lambda::Function", 5)  # the receiver, the worker, ingest, sweep and digest
    variant.resource_count_is("AWS::Lambda::Function", 4)  # one Slack function answers (no worker)
    variant.resource_count_is("AWS::DynamoDB::Table", 2)  # the tickets table is adopted
    variant.resource_count_is("AWS::SecretsManager::Secret", 0)
    variant.resource_count_is("AWS::SES::EmailIdentity", 1)


def test_functions(default):
    for name, memory, timeout in (("slack", 1024, 60), ("worker", 1024, 60), ("ingest", 1024, 900),
                                  ("sweep", 256, 120)):  # fmt: skip
        default.has_resource_properties("AWS::Lambda::Function", {
            "FunctionName": f"it-helpdesk-{name}", "Runtime": "python3.13", "Architectures": ["arm64"],
            "MemorySize": memory, "Timeout": timeout, "LoggingConfig": {"LogGroup": Match.any_value()},
        })  # fmt: skip
    default.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "MaximumRetryAttempts": 0, "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
    })  # fmt: skip
    default.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "/aws/lambda/it-helpdesk-slack",
                                                            "RetentionInDays": 30})  # fmt: skip


def test_api(default):
    default.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "POST", "Integration": Match.object_like({"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST"}),
    })  # fmt: skip
    default.has_resource_properties("AWS::ApiGateway::Stage", {
        "StageName": "prod",
        "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
        "MethodSettings": Match.array_with([Match.object_like({
            "HttpMethod": "*", "ResourcePath": "/*", "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100,
            "LoggingLevel": "ERROR", "DataTraceEnabled": False})]),
    })  # fmt: skip


def test_data(default, variant):
    default.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    default.has_resource_properties("AWS::S3::Bucket", {
        "VersioningConfiguration": {"Status": "Enabled"},
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}})])},
    })  # fmt: skip
    default.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Retain",
        "Properties": Match.object_like({
            "TableName": "it-helpdesk-tickets",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "GlobalSecondaryIndexes": Match.array_with([
                Match.object_like({"IndexName": "by_requester"}), Match.object_like({"IndexName": "by_status"})]),
        }),
    })  # fmt: skip
    default.has_resource_properties("AWS::DynamoDB::Table", {
        "TableName": "it-helpdesk-slack-events",
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    })  # fmt: skip
    default.has_resource_properties("AWS::SecretsManager::Secret", {
        "Name": "it-helpdesk/slack", "SecretString": Match.absent(), "GenerateSecretString": Match.absent(),
    })  # fmt: skip
    variant.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": "acme.example"})


def test_iam_statements(default):
    default.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Sid": "InvokeLazyListeners", "Action": "lambda:InvokeFunction",
                           "Resource": {"Fn::Join": ["", Match.array_with([":function:it-helpdesk-worker"])]}}),
    ])}})  # fmt: skip
    default.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Action": "ses:SendEmail",
                           "Condition": {"StringEquals": {"ses:FromAddress": "helpdesk-bot@example.com"}}}),
    ])}})  # fmt: skip
    default.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Sid": "AnswerInRoutedRegions",
                           "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": Match.any_value()}}}),
    ])}})  # fmt: skip
    for policy in default.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Resource"] != "*", statement  # the default stack has no rerank model


def test_alarms(default):
    default.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "it-helpdesk-bedrock-throttling", "Namespace": "ITHelpdesk", "MetricName": "BedrockThrottles",
        "Dimensions": [{"Name": "service", "Value": "it-helpdesk"}], "Threshold": 5,
        "AlarmActions": [Match.any_value()],
    })  # fmt: skip
    default.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
