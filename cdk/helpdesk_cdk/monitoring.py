"""Alarms and where they go: an SNS topic, with an optional email subscription (`alarm_email`).

| alarm                         | metric                                                    | fires when          |
|-------------------------------|-----------------------------------------------------------|---------------------|
| <prefix>-<fn>-errors          | AWS/Lambda Errors (slack, worker, sweep), 5 min           | >= 1                |
| <prefix>-<fn>-throttles       | AWS/Lambda Throttles (every function but the worker), 5 min | >= 1              |
| <prefix>-worker-backlog       | AWS/Lambda AsyncEventAge of the worker, maximum, 5 min    | >= 5 minutes        |
| <prefix>-ingest-failed        | AWS/Lambda Errors of the ingest function, 1 hour          | >= 1                |
| <prefix>-dlq-not-empty        | AWS/SQS ApproximateNumberOfMessagesVisible of the DLQ     | >= 1                |
| <prefix>-api-5xx              | AWS/ApiGateway 5XXError of the API, 5 min                 | >= 1                |
| <prefix>-bedrock-throttling   | ITHelpdesk BedrockThrottles {service=it-helpdesk}, 5 min  | >= 5                |

The Bedrock alarm reads a custom metric the code emits (docs/deploy.md, "Names the code must match"): namespace
`ITHelpdesk` (POWERTOOLS_METRICS_NAMESPACE), name `BedrockThrottles`, unit Count, value 1 per ThrottlingException
received (retries included), dimension `service` = `it-helpdesk` (POWERTOOLS_SERVICE_NAME; Powertools' Metrics adds
it by default). Missing data never alarms: no throttling, no datapoints.

The worker is throttled on purpose when a burst exceeds its reserved concurrency (the events wait in Lambda's
asynchronous queue), so its alarm is on how long questions wait there, not on throttles.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from helpdesk_cdk.api import SlackApi
from helpdesk_cdk.config import HelpdeskConfig
from helpdesk_cdk.functions import METRICS_NAMESPACE, SERVICE_NAME, Functions

BEDROCK_THROTTLE_METRIC = "BedrockThrottles"
BEDROCK_THROTTLE_THRESHOLD = 5  # per 5 minutes: a few are absorbed by retries; a steady stream means raise quotas
WORKER_BACKLOG_MS = 5 * 60 * 1000  # a question waited this long for a free worker


class Monitoring(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: HelpdeskConfig, functions: Functions, api: SlackApi
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = config.prefix
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{config.prefix}-alarms",
            display_name="IT helpdesk alarms",
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        five = Duration.minutes(5)
        for fn in functions.all:
            key = fn.name.removeprefix(f"{config.prefix}-")
            if fn is not functions.ingest:
                self._alarm(f"{key}-errors", fn.function.metric_errors(period=five, statistic="Sum"), 1,
                            f"{fn.name} raised errors (see its log group)")  # fmt: skip
            if fn is functions.worker:
                age = fn.function.metric("AsyncEventAge", period=five, statistic="Maximum")
                self._alarm("worker-backlog", age, WORKER_BACKLOG_MS,
                            f"Questions waited over 5 minutes for {fn.name}: raise worker_concurrency (and the "
                            "Bedrock quota it is sized from), or look for slow answers")  # fmt: skip
                continue
            self._alarm(f"{key}-throttles", fn.function.metric_throttles(period=five, statistic="Sum"), 1,
                        f"{fn.name} was throttled (account concurrency exhausted?)")  # fmt: skip
        self._alarm(
            "ingest-failed",
            functions.ingest.function.metric_errors(period=Duration.hours(1), statistic="Sum"),
            1,
            "An ingest run failed: the last good index keeps serving, but Confluence changes are not picked up",
        )
        self._alarm(
            "dlq-not-empty",
            functions.dlq.metric_approximate_number_of_messages_visible(period=five, statistic="Maximum"),
            1,
            f"An asynchronous invocation failed for good; inspect the messages in {functions.dlq.queue_name}",
        )
        self._alarm("api-5xx", api.api.metric_server_error(period=five, statistic="Sum"), 1,
                    "API Gateway returned 5xx to Slack (Slack retries, then gives up)")  # fmt: skip
        self._alarm(
            "bedrock-throttling",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=BEDROCK_THROTTLE_METRIC,
                dimensions_map={"service": SERVICE_NAME},
                period=five,
                statistic="Sum",
            ),
            BEDROCK_THROTTLE_THRESHOLD,
            "Bedrock is throttling the helpdesk; answers slow down or fall back to tickets. Ask for a quota raise",
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            "".join(part.capitalize() for part in name.split("-")),
            alarm_name=f"{self.prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms[name] = alarm
