"""HelpdeskStack: the whole system in one stack, composed from the constructs of this package."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from helpdesk_cdk.api import SlackApi
from helpdesk_cdk.asset import lambda_code
from helpdesk_cdk.config import HelpdeskConfig
from helpdesk_cdk.email import Email
from helpdesk_cdk.functions import Functions
from helpdesk_cdk.knowledge import Knowledge
from helpdesk_cdk.monitoring import Monitoring
from helpdesk_cdk.nag import acknowledge_findings
from helpdesk_cdk.schedule import Schedules
from helpdesk_cdk.secrets import Secrets
from helpdesk_cdk.storage import Storage


class HelpdeskStack(Stack):
    """Environment-agnostic: no account or Region is baked in, so it synthesizes without credentials."""

    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.stack_name,
            description="IT helpdesk assistant: Slack bot answering from Confluence with Amazon Bedrock",
            **kwargs,
        )
        self.config = config
        Tags.of(self).add("project", "it-helpdesk-assistant")
        self.storage = Storage(self, "Storage", config=config)
        self.secrets = Secrets(self, "Secrets", config=config)
        self.email = Email(self, "Email", config=config)
        code = lambda_code(config)  # one asset for every function, the digest's too
        self.functions = Functions(
            self,
            "Functions",
            config=config,
            code=code,
            storage=self.storage,
            secrets=self.secrets,
            email=self.email,
        )
        self.api = SlackApi(self, "SlackApi", config=config, function=self.functions.slack.function)
        self.schedules = Schedules(self, "Schedules", config=config, functions=self.functions)
        self.monitoring = Monitoring(self, "Monitoring", config=config, functions=self.functions, api=self.api)
        self.knowledge = Knowledge(
            self, "Knowledge", config=config, functions=self.functions, code=code, email=self.email,
            secrets=self.secrets, alarm_topic=self.monitoring.topic,
        )  # fmt: skip
        CfnOutput(self, "IndexLocation", value=f"s3://{self.storage.index_bucket.bucket_name}/{config.index_prefix}")
        CfnOutput(self, "SlackSecretArn", value=self.secrets.slack.secret_arn)
        CfnOutput(self, "ConfluenceSecretArn", value=self.secrets.confluence.secret_arn)
        CfnOutput(self, "IngestFunctionName", value=self.functions.ingest.name)
        # `helpdesk replay-failed --queue-url` reads this queue and re-invokes each message's function.
        CfnOutput(self, "FailedInvocationsQueueUrl", value=self.functions.dlq.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        acknowledge_findings(self)
        self.knowledge.acknowledge_findings()
