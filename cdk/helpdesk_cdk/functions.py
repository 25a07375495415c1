"""The Lambdas, their environment and every permission they hold.

Each function gets its own role with no managed policy at all (not even AWSLambdaBasicExecutionRole): it may write
to its own log group, and then only what its job needs, granted here line by line:

| function | S3 index   | Bedrock                        | DynamoDB                | SES  | secrets    | Lambda        |
|----------|------------|--------------------------------|-------------------------|------|------------|---------------|
| slack    |            |                                |                         |      | slack      | invoke worker |
| worker   | read       | embed + chat (+guard., rerank, | tickets, dedupe (below) | send | slack      |               |
|          |            | knowledge-base Retrieve)       |                         |      |            |               |
| ingest   | read/write | embed                          |                         |      | confluence |               |
| sweep    |            |                                | tickets (no PutItem)    | send |            |               |

With `gap_space` set, the worker also reads the Confluence secret: "Mark resolved" may create a draft page there.

The DynamoDB actions are the calls the code makes, nothing more: tickets GetItem, PutItem, UpdateItem on the table
and Query on its indexes (assistant/tickets/dynamodb.py; the unfiltered Scan is only `helpdesk tickets list` on a
workstation); dedupe GetItem, PutItem, UpdateItem (assistant/slack/dynamo_store.py). The sweep never creates a
ticket, so it has no PutItem.

The receiver (`slack`) only acks: Bolt hands every answer to the worker through an asynchronous invoke, so it
needs the Slack secret and `lambda:InvokeFunction` on the worker. The worker's reserved concurrency
(`worker_concurrency`) bounds how many answers call Bedrock at once; a burst waits in Lambda's asynchronous queue
(throttled events are retried by Lambda for up to the maximum event age). With `slack_worker_handler` empty, the
one Slack function acks and answers (lazy self-invocation), holds the worker's grants, and nothing is reserved:
reserving it would throttle the acks too. Ingest is reserved to 1 so two runs never publish at once.

Asynchronous invocations (the worker, EventBridge) that still fail after their retries land in the SQS queue
`<prefix>-failed-invocations`, which has an alarm; `helpdesk replay-failed` sends them back to their function.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from helpdesk_cdk.bedrock import ModelGrant, model_grant
from helpdesk_cdk.config import HelpdeskConfig
from helpdesk_cdk.email import Email
from helpdesk_cdk.secrets import Secrets
from helpdesk_cdk.storage import Storage

RUNTIMES = {
    "3.12": lambda_.Runtime.PYTHON_3_12,
    "3.13": lambda_.Runtime.PYTHON_3_13,
    "3.14": lambda_.Runtime.PYTHON_3_14,
}
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
SERVICE_NAME = "it-helpdesk"  # POWERTOOLS_SERVICE_NAME: the `service` dimension of every custom metric
METRICS_NAMESPACE = "ITHelpdesk"  # POWERTOOLS_METRICS_NAMESPACE
HANDLERS = {"slack": "handler.lambda_handler", "ingest": "handler.ingest_handler", "sweep": "handler.sweep_handler"}
# Retries of a failed asynchronous invocation before it goes to the failed-invocations queue. The worker is retried
# twice: its dedupe claim (assistant/slack/jobs.py) drops a retry of a finished answer and lets one whose lease ran
# out answer again. The single Slack function (no worker) is not: its invocations are API Gateway's, synchronous.
# The next scheduled run repeats the sweep anyway.
ASYNC_RETRIES = {"slack": 0, "worker": 2, "ingest": 1, "sweep": 0, "digest": 0}  # digest: cdk/.../knowledge.py
MAX_EVENT_AGE = Duration.hours(1)  # then the event goes to the queue; the worker accepts a replay for 6 hours
INGEST_CONCURRENCY = 1  # two ingest runs would race to publish the index
TICKETS_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
SWEEP_TICKETS_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
DEDUPE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


@dataclass(frozen=True)
class FunctionSpec:
    key: str
    handler: str
    memory_mb: int
    timeout_s: int
    description: str


class HelpdeskFunction(Construct):
    """One Lambda with its own role (no managed policies), log group (retention) and async-failure destination."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: HelpdeskConfig,
        spec: FunctionSpec,
        code: lambda_.Code,
        environment: dict[str, str],
        dlq: sqs.IQueue,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = f"{config.prefix}-{spec.key}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{self.name}",
            # Logs are not the record of anything (tickets and the index are): they go with the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The L2 enum has no constructor from a number of days; config validated the value already.
        self.log_group.node.default_child.retention_in_days = config.log_retention_days  # type: ignore[union-attr]
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.name}: least privilege, no managed policies (cdk/helpdesk_cdk/functions.py)",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=self.name,
            description=spec.description,
            runtime=RUNTIMES[config.python],
            architecture=ARCHITECTURES[config.architecture],
            handler=spec.handler,
            code=code,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            role=self.role,
            environment=environment,
            log_group=self.log_group,
            on_failure=destinations.SqsDestination(dlq),
            retry_attempts=ASYNC_RETRIES[spec.key],
            max_event_age=MAX_EVENT_AGE,
            reserved_concurrent_executions=reserved_concurrency,
        )

    @property
    def arn(self) -> str:
        """Built from the name, not from the function resource: a role may then name its own function without a
        dependency cycle (role policy -> function -> role policy)."""
        return Stack.of(self).format_arn(
            service="lambda", resource="function", resource_name=self.name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )

    def allow(self, sid: str, actions: list[str], resources: list[str], conditions: dict | None = None) -> None:
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions)
        )


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: HelpdeskConfig,
        code: lambda_.Code,
        storage: Storage,
        secrets: Secrets,
        email: Email,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.storage = storage
        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{config.prefix}-failed-invocations",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        index_uri = f"s3://{storage.index_bucket.bucket_name}/{config.index_prefix}"
        common = {
            "HELPDESK_HOME": "/tmp/helpdesk",  # the only writable path on Lambda
            "HELPDESK_INDEX": index_uri,
            "HELPDESK_INDEX_CACHE_DIR": "/tmp/helpdesk-index",
            "HELPDESK_EMBEDDER": "bedrock",
            "HELPDESK_BEDROCK_EMBED_MODEL": config.embed_model,
            "HELPDESK_EMBED_DIMENSIONS": str(config.embed_dimensions),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        mail = {
            "TICKETS_TABLE": storage.tickets_table.table_name,
            "HELPDESK_EMAIL_BACKEND": "ses",
            "HELPDESK_IT_EMAIL": config.it_email,
            "HELPDESK_SENDER_EMAIL": config.sender_email,
        }
        slack_env = {
            **common,
            **mail,
            "HELPDESK_ANSWERER": "bedrock",
            "HELPDESK_BEDROCK_CHAT_MODEL": config.chat_model,
            "SLACK_SECRET_ARN": secrets.slack.secret_arn,
            "HELPDESK_DEDUPE_TABLE": storage.dedupe_table.table_name,
            **_optional(
                HELPDESK_GUARDRAIL_ID=config.guardrail_id,
                HELPDESK_GUARDRAIL_VERSION=config.guardrail_version,
                HELPDESK_RERANK_MODEL_ARN=config.rerank_model_arn,
                HELPDESK_KNOWLEDGE_BASE_ID=config.knowledge_base_id,
                HELPDESK_RETRIEVER="bedrock-kb" if config.knowledge_base_id else "",
                HELPDESK_IT_GROUP=",".join(config.it_group),
                HELPDESK_CHANNEL_ALLOWLIST=",".join(config.channel_allowlist),
                HELPDESK_MENTION_ONLY_CHANNELS=",".join(config.mention_only_channels),
                HELPDESK_DISABLED_CHANNELS=",".join(config.disabled_channels),
            ),
        }
        if config.gap_space:  # "Mark resolved" may create a draft page: the Confluence site and its secret
            slack_env.update(
                HELPDESK_GAP_SPACE=config.gap_space,
                CONFLUENCE_URL=config.confluence_url,
                CONFLUENCE_SECRET_ARN=secrets.confluence.secret_arn,
                **_optional(HELPDESK_GAP_PARENT_ID=config.gap_parent_id),
            )
        ingest_env = {
            **common,
            "CONFLUENCE_SECRET_ARN": secrets.confluence.secret_arn,
            **_optional(
                CONFLUENCE_URL=config.confluence_url,
                CONFLUENCE_SPACES=",".join(config.confluence_spaces),
                CONFLUENCE_CQL=config.confluence_cql,
            ),
        }
        sweep_env = {
            **mail,
            "HELPDESK_HOME": "/tmp/helpdesk",
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        worker = bool(config.slack_worker_handler)
        if worker:
            slack_env["HELPDESK_SLACK_WORKER_FUNCTION"] = f"{config.prefix}-worker"

        def make(spec: FunctionSpec, env: dict[str, str], reserved: int | None = None) -> HelpdeskFunction:
            clash = sorted(set(config.extra_env) & set(env))
            if clash:
                raise ValueError(f"extra_env may not override what the stack sets: {', '.join(clash)}")
            return HelpdeskFunction(
                self, spec.key.capitalize(), config=config, spec=spec, code=code,
                environment={**env, **config.extra_env}, dlq=self.dlq, reserved_concurrency=reserved,
            )  # fmt: skip

        self.slack = make(
            FunctionSpec("slack", HANDLERS["slack"], config.slack_memory_mb, config.slack_timeout_s,
                         "Slack events, commands and buttons behind API Gateway (acks, then answers lazily)"),
            slack_env,
        )  # fmt: skip
        self.worker: HelpdeskFunction | None = None
        if worker:
            self.worker = make(
                FunctionSpec("worker", config.slack_worker_handler, config.slack_memory_mb, config.slack_timeout_s,
                             "Answers Slack questions handed over by the receiver"),
                {k: v for k, v in slack_env.items() if k != "HELPDESK_SLACK_WORKER_FUNCTION"},
                config.worker_concurrency or None,
            )  # fmt: skip
        self.ingest = make(
            FunctionSpec("ingest", HANDLERS["ingest"], config.ingest_memory_mb, config.ingest_timeout_s,
                         "Scheduled re-index of Confluence into the S3 index ({\"full\": true}: full sweep)"),
            ingest_env,
            INGEST_CONCURRENCY,
        )  # fmt: skip
        self.sweep = make(
            FunctionSpec("sweep", HANDLERS["sweep"], config.sweep_memory_mb, config.sweep_timeout_s,
                         "Scheduled retry of ticket emails that could not be sent"),
            sweep_env,
        )  # fmt: skip

        self.answerer = self.worker or self.slack  # the function that answers, calls Bedrock and opens tickets
        secrets.slack.grant_read(self.slack.role)
        fn = self.answerer
        self._read_index(fn)
        self._invoke_models(fn, embed=True, chat=True)
        self._tickets(fn, TICKETS_ACTIONS)
        fn.allow("SlackDedupeAndFeedback", DEDUPE_ACTIONS, [storage.dedupe_table.table_arn])
        email.grant_send(fn.role)
        if config.gap_space:
            secrets.confluence.grant_read(fn.role)
        if self.worker:
            secrets.slack.grant_read(self.worker.role)
        # Lazy listeners re-invoke the function by the ARN it was invoked with (Bolt: context.invoked_function_arn),
        # unqualified since API Gateway calls the unqualified function; so no `:*` for versions or aliases.
        target = self.worker or self.slack
        self.slack.allow("InvokeLazyListeners", ["lambda:InvokeFunction"], [target.arn])

        self._read_index(self.ingest, write=True)
        self._invoke_models(self.ingest, embed=True, chat=False)
        secrets.confluence.grant_read(self.ingest.role)

        self._tickets(self.sweep, SWEEP_TICKETS_ACTIONS)
        email.grant_send(self.sweep.role)

    @property
    def all(self) -> list[HelpdeskFunction]:
        return [f for f in (self.slack, self.worker, self.ingest, self.sweep) if f is not None]

    def _tickets(self, fn: HelpdeskFunction, actions: list[str]) -> None:
        """Item actions on the tickets table; Query on its indexes only (every list is a GSI query)."""
        arn = self.storage.tickets_table.table_arn
        fn.allow("Tickets", actions, [arn])
        fn.allow("QueryTicketIndexes", ["dynamodb:Query"], [f"{arn}/index/*"])

    def _read_index(self, fn: HelpdeskFunction, *, write: bool = False) -> None:
        bucket, prefix = self.storage.index_bucket, self.config.index_prefix
        # ListBucket on the bucket (it holds only the index): with it S3 answers 404 for a missing key instead
        # of 403, so "no index published yet" reads as such.
        fn.allow("ListIndexBucket", ["s3:ListBucket"], [bucket.bucket_arn])
        actions = ["s3:GetObject"]
        if write:
            actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        fn.allow("WriteIndexObjects" if write else "ReadIndexObjects", actions, [bucket.arn_for_objects(f"{prefix}/*")])

    def _invoke_models(self, fn: HelpdeskFunction, *, embed: bool, chat: bool) -> None:
        cfg = self.config

        def grant(model_id: str) -> ModelGrant:
            return model_grant(
                model_id, partition=Aws.PARTITION, region=Aws.REGION, account=Aws.ACCOUNT_ID,
                profile_regions=cfg.bedrock_profile_regions,
            )  # fmt: skip

        def allow_model(g: ModelGrant, sid: str, actions: list[str]) -> None:
            fn.allow(sid, actions, list(g.direct))
            if g.routed:  # an inference profile: its foundation models, reachable only through the profile
                condition = {"StringEquals": {"bedrock:InferenceProfileArn": g.profile_arn}}
                fn.allow(f"{sid}InRoutedRegions", actions, list(g.routed), condition)

        if embed:
            allow_model(grant(cfg.embed_model), "Embed", ["bedrock:InvokeModel"])
        if chat:
            allow_model(
                grant(cfg.chat_model), "Answer", ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
            )
            if cfg.guardrail_id:
                guardrail = Stack.of(self).format_arn(
                    service="bedrock", resource="guardrail", resource_name=cfg.guardrail_id,
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )  # fmt: skip
                fn.allow("ApplyGuardrail", ["bedrock:ApplyGuardrail"], [guardrail])
            if cfg.knowledge_base_id:  # answers retrieve from the knowledge base, this one only
                knowledge_base = Stack.of(self).format_arn(
                    service="bedrock", resource="knowledge-base", resource_name=cfg.knowledge_base_id,
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )  # fmt: skip
                fn.allow("RetrieveFromKnowledgeBase", ["bedrock:Retrieve"], [knowledge_base])
            if cfg.rerank_model_arn:
                # bedrock:Rerank has no resource type (IAM accepts only "*" for it); what it can reach is decided by
                # InvokeModel, which is allowed on the configured rerank model only.
                fn.allow("Rerank", ["bedrock:Rerank"], ["*"])
                fn.allow("InvokeRerankModel", ["bedrock:InvokeModel"], [cfg.rerank_model_arn])


def _optional(**values: str) -> dict[str, str]:
    """Only the settings that are set: an unset variable keeps the code's default."""
    return {k: v for k, v in values.items() if v}
