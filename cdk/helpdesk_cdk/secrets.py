"""Secrets Manager secrets for Slack and Confluence: created empty by the stack, or referenced by ARN.

The stack never holds a secret value: a created secret has neither SecretString nor GenerateSecretString, so
CloudFormation creates it without a version and the operator puts the JSON value afterwards (docs/deploy.md):

- Slack: `{"signing_secret": "...", "bot_token": "xoxb-..."}`
- Confluence: `{"user": "bot@acme.com", "token": "..."}` (Server/DC personal access token: user "")

Only their ARNs reach the Lambdas (SLACK_SECRET_ARN, CONFLUENCE_SECRET_ARN). Created secrets are RETAINed: the values
were typed by a person and survive a stack deletion (pass their ARNs to a new stack).
"""

from __future__ import annotations

import re

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from helpdesk_cdk.config import HelpdeskConfig

SLACK_SECRET_KEYS = ("signing_secret", "bot_token")
CONFLUENCE_SECRET_KEYS = ("user", "token")


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig) -> None:
        super().__init__(scope, construct_id)
        self.created: list[secretsmanager.Secret] = []
        self.slack = self._secret(
            "SlackSecret", config.slack_secret_arn, f"{config.prefix}/slack", SLACK_SECRET_KEYS, "Slack app"
        )
        self.confluence = self._secret(
            "ConfluenceSecret",
            config.confluence_secret_arn,
            f"{config.prefix}/confluence",
            CONFLUENCE_SECRET_KEYS,
            "Confluence API",
        )

    def _secret(self, cid: str, arn: str, name: str, keys: tuple[str, ...], what: str) -> secretsmanager.ISecret:
        if arn:
            # A complete ARN ends with Secrets Manager's 6-character suffix; grants then name it exactly.
            if re.search(r"-[A-Za-z0-9]{6}$", arn):
                return secretsmanager.Secret.from_secret_complete_arn(self, cid, arn)
            return secretsmanager.Secret.from_secret_partial_arn(self, cid, arn)
        secret = secretsmanager.Secret(
            self,
            cid,
            secret_name=name,
            description=f"{what} credentials for the IT helpdesk, JSON with keys {', '.join(keys)}. "
            "Created empty by CloudFormation; set the value with put-secret-value (docs/deploy.md).",
        )
        # The L2 construct asks CloudFormation to generate a random password when no value is given; remove that
        # so the secret is created empty and nothing resembling a value comes from the template.
        secret.node.default_child.add_property_deletion_override("GenerateSecretString")  # type: ignore[union-attr]
        secret.apply_removal_policy(RemovalPolicy.RETAIN)
        self.created.append(secret)
        return secret
