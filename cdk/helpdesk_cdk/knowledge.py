"""The knowledge loop on AWS: the interactions table, the weekly digest Lambda and its schedule, and a dashboard.

- interactions table `<prefix>-interactions`: partition key `interaction_id` (S), GSI `by_day` (`day`, `at`), TTL
  attribute `expires_at` (HELPDESK_INTERACTION_RETENTION_DAYS, default 90, is applied by the code); RETAIN, PITR.
  The answering function (the worker, or the one Slack function) records into it: UpdateItem only.
- digest function `<prefix>-digest` (`handler.digest_handler`), on `digest_schedule` (default Monday 08:00 UTC)
  with `{"days": 7}`: Query on `by_day`, the embed model (to group the gaps), SES send, and the Slack secret only
  when `digest_channel` is set.
- alarm `<prefix>-digest-errors` (to the alarm topic) when a digest run fails.
- dashboard `<prefix>-knowledge`: deflection rate, questions/answered/tickets, answer latency p95, votes, Bedrock
  throttles and Lambda throttles, Bedrock input tokens, ingest health (errors, failures, pages changed, duration).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from helpdesk_cdk.bedrock import model_grant
from helpdesk_cdk.config import HelpdeskConfig
from helpdesk_cdk.email import Email
from helpdesk_cdk.functions import METRICS_NAMESPACE, SERVICE_NAME, Functions, FunctionSpec, HelpdeskFunction
from helpdesk_cdk.nag import ack
from helpdesk_cdk.secrets import Secrets

INTERACTIONS_PARTITION_KEY = "interaction_id"
INTERACTIONS_DAY_INDEX = ("by_day", "day", "at")
INTERACTIONS_TTL_ATTRIBUTE = "expires_at"
DIGEST_HANDLER = "handler.digest_handler"
DIGEST_DAYS = 7
DIGEST_MEMORY_MB = 512
DIGEST_TIMEOUT_S = 300
ANSWER_METRICS = ("Questions", "Answered", "Tickets")


def _metric(name: str, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic=statistic,
        period=period or Duration.hours(1),
    )


class Knowledge(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: HelpdeskConfig,
        functions: Functions,
        code: lambda_.Code,
        email: Email,
        secrets: Secrets,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "InteractionsTable",
            table_name=f"{config.prefix}-interactions",
            partition_key=dynamodb.Attribute(name=INTERACTIONS_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=INTERACTIONS_TTL_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        index, day, at = INTERACTIONS_DAY_INDEX
        self.table.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=day, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=at, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        answering = functions.worker or functions.slack
        for fn in (functions.slack, functions.worker):  # the same environment for receiver and worker
            if fn is not None:
                fn.function.add_environment("INTERACTIONS_TABLE", self.table.table_name)
        answering.allow("RecordInteractions", ["dynamodb:UpdateItem"], [self.table.table_arn])

        digest_schedule, digest_channel = config.digest_schedule, config.digest_channel
        self.digest = self._digest_function(config, functions, code, email, secrets, digest_channel)
        self.rule: events.Rule | None = None
        if digest_schedule:
            self.rule = events.Rule(
                self,
                "WeeklyDigest",
                rule_name=f"{config.prefix}-weeklydigest",
                description="The weekly digest for IT: numbers, gaps, answers marked not helpful, top pages",
                schedule=events.Schedule.expression(digest_schedule),
            )
            self.rule.add_target(
                targets.LambdaFunction(
                    self.digest.function,
                    event=events.RuleTargetInput.from_object({"days": DIGEST_DAYS}),
                    dead_letter_queue=functions.dlq,
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            )
        self.dashboard = self._dashboard(config, functions)
        self.alarm = cloudwatch.Alarm(
            self,
            "DigestErrors",
            alarm_name=f"{config.prefix}-digest-errors",
            alarm_description="The weekly digest for IT failed (see the digest function's log group)",
            metric=self.digest.function.metric_errors(period=Duration.hours(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic is not None:
            self.alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
            self.alarm.add_ok_action(cw_actions.SnsAction(alarm_topic))

    def _digest_function(
        self,
        config: HelpdeskConfig,
        functions: Functions,
        code: lambda_.Code,
        email: Email,
        secrets: Secrets,
        digest_channel: str,
    ) -> HelpdeskFunction:
        env = {
            "HELPDESK_HOME": "/tmp/helpdesk",
            "INTERACTIONS_TABLE": self.table.table_name,
            "HELPDESK_EMBEDDER": "bedrock",
            "HELPDESK_BEDROCK_EMBED_MODEL": config.embed_model,
            "HELPDESK_EMBED_DIMENSIONS": str(config.embed_dimensions),
            "HELPDESK_EMAIL_BACKEND": "ses",
            "HELPDESK_IT_EMAIL": config.it_email,
            "HELPDESK_SENDER_EMAIL": config.sender_email,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if digest_channel:
            env |= {"HELPDESK_DIGEST_CHANNEL": digest_channel, "SLACK_SECRET_ARN": secrets.slack.secret_arn}
        fn = HelpdeskFunction(
            self,
            "Digest",
            config=config,
            spec=FunctionSpec("digest", DIGEST_HANDLER, DIGEST_MEMORY_MB, DIGEST_TIMEOUT_S,
                              "Weekly digest for IT of what the assistant answered and could not"),
            code=code,
            environment=env,
            dlq=functions.dlq,
        )  # fmt: skip
        fn.allow("ReadInteractions", ["dynamodb:Query"], [f"{self.table.table_arn}/index/{INTERACTIONS_DAY_INDEX[0]}"])
        grant = model_grant(
            config.embed_model, partition=Aws.PARTITION, region=Aws.REGION, account=Aws.ACCOUNT_ID,
            profile_regions=config.bedrock_profile_regions,
        )  # fmt: skip
        fn.allow("Embed", ["bedrock:InvokeModel"], list(grant.direct))
        if grant.routed:
            condition = {"StringEquals": {"bedrock:InferenceProfileArn": grant.profile_arn}}
            fn.allow("EmbedInRoutedRegions", ["bedrock:InvokeModel"], list(grant.routed), condition)
        email.grant_send(fn.role)
        if digest_channel:
            secrets.slack.grant_read(fn.role)
        return fn

    def acknowledge_findings(self) -> None:
        """cdk-nag: the digest runs the runtime every function of the stack shares (after nag's own pass)."""
        ack(Stack.of(self), self.digest.function, "L1", "L1")

    def _dashboard(self, config: HelpdeskConfig, functions: Functions) -> cloudwatch.Dashboard:
        day = Duration.days(1)
        deflection = cloudwatch.MathExpression(
            expression="IF(questions > 0, 100 * answered / questions, 0)",
            using_metrics={"answered": _metric("Answered", period=day), "questions": _metric("Questions", period=day)},
            label="Deflection rate (% answered without a ticket)",
            period=day,
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-knowledge")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Deflection rate (%)", left=[deflection], width=12),
            cloudwatch.GraphWidget(
                title="Questions, answered, tickets", left=[_metric(n, period=day) for n in ANSWER_METRICS], width=12
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Answer latency p95 (ms)", left=[_metric("AnswerLatency", statistic="p95")], width=8
            ),
            cloudwatch.GraphWidget(
                title="Votes", left=[_metric("Helpful", period=day), _metric("NotHelpful", period=day)], width=8
            ),
            cloudwatch.GraphWidget(title="Bedrock input tokens", left=[_metric("BedrockInputTokens")], width=8),
        )
        five = Duration.minutes(5)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Throttles",
                left=[_metric("BedrockThrottles", period=five)]
                + [fn.function.metric_throttles(period=five, statistic="Sum") for fn in functions.all],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Ingest health",
                left=[
                    functions.ingest.function.metric_errors(period=Duration.hours(1), statistic="Sum"),
                    _metric("Failures"),
                    _metric("PagesChanged"),
                ],
                right=[_metric("DurationSeconds", statistic="Maximum")],
                width=12,
            ),
        )
        return dashboard
