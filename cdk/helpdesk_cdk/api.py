"""API Gateway REST API: `POST /slack/events` -> the Slack Lambda (proxy), stage `prod`, throttled, access-logged.

Slack cannot sign in to AWS, so the method has no IAM or Cognito authorizer: every request is authenticated by the
Lambda, which verifies Slack's HMAC signature (and its 5-minute window) before doing anything.

Access logs: JSON, one line per request, without bodies or headers (no question text, no tokens). Execution logs:
errors only, data tracing off (it would log request bodies). Both need the account-wide API Gateway CloudWatch role;
the stack creates it (RETAINed, since it is shared by every API in the account and Region) unless
`api_gateway_cloudwatch_role=false` says the account already has one.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from helpdesk_cdk.config import HelpdeskConfig

SLACK_PATH = ("slack", "events")


class SlackApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig, function: lambda_.IFunction):
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{config.prefix}-slack-access",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.access_logs.node.default_child.retention_in_days = config.log_retention_days  # type: ignore[union-attr]
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=config.api_name,
            description="Slack events, slash commands and interactivity for the IT helpdesk assistant",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=config.api_gateway_cloudwatch_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if config.api_gateway_cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=config.api_stage,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        resource = self.api.root
        for part in SLACK_PATH:
            resource = resource.add_resource(part)
        self.method = resource.add_method("POST", apigw.LambdaIntegration(function, proxy=True))
        self.url = f"{self.api.url}{'/'.join(SLACK_PATH)}"
        CfnOutput(self, "SlackRequestUrl", value=self.url,
                  description="Request URL for Event Subscriptions, the slash command and Interactivity")  # fmt: skip
