"""Data that outlives a deploy: the index bucket and the two DynamoDB tables. All RETAIN.

The names and keys here are the contract with the code (docs/deploy.md, "Names the code must match"):

- tickets: partition key `ticket_id` (S); GSIs `by_requester` (requester_id, created_at) and `by_status`
  (status, created_at), all attributes projected; PITR; deletion protection.
- Slack event dedupe and feedback: partition key `pk` (S); TTL attribute `expires_at` (epoch seconds).
- index bucket: versioned, SSE-S3, public access blocked, TLS only (1.2+); the index lives under `<index_prefix>/`.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from helpdesk_cdk.config import HelpdeskConfig

TICKETS_PARTITION_KEY = "ticket_id"
TICKETS_GSIS = {"by_requester": ("requester_id", "created_at"), "by_status": ("status", "created_at")}
DEDUPE_PARTITION_KEY = "pk"
DEDUPE_TTL_ATTRIBUTE = "expires_at"
NONCURRENT_VERSION_DAYS = 30  # how long an overwritten or deleted index object can be restored


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig) -> None:
        super().__init__(scope, construct_id)
        self.index_bucket = s3.Bucket(
            self,
            "IndexBucket",
            bucket_name=config.index_bucket_name or None,
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-index-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.index_prefix = config.index_prefix
        self.tickets_table = self._tickets_table(config)
        self.dedupe_table = dynamodb.Table(
            self,
            "DedupeTable",
            table_name=config.dedupe_table_name,
            partition_key=dynamodb.Attribute(name=DEDUPE_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=DEDUPE_TTL_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,  # feedback counts live here too
        )

    def _tickets_table(self, config: HelpdeskConfig) -> dynamodb.ITable:
        if config.adopt_tickets_table:
            # The existing table is referenced, never created, changed or deleted by the stack. Declaring its GSIs
            # makes grants cover `table/<name>/index/*`. Add the GSIs and PITR by hand (docs/deploy.md).
            return dynamodb.Table.from_table_attributes(
                self, "TicketsTable", table_name=config.tickets_table_name, global_indexes=list(TICKETS_GSIS)
            )
        table = dynamodb.Table(
            self,
            "TicketsTable",
            table_name=config.tickets_table_name,
            partition_key=dynamodb.Attribute(name=TICKETS_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for name, (pk, sk) in TICKETS_GSIS.items():
            table.add_global_secondary_index(
                index_name=name,
                partition_key=dynamodb.Attribute(name=pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
