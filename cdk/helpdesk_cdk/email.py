"""SES: the optional sender identity, and the one grant that lets a function send as it.

`ses:SendEmail` is allowed on the identity ARNs of the sender address and its domain (SES authorizes against the
verified identity the From address belongs to, an address or its domain) and of the IT queue address (in the SES
sandbox, sending to a verified recipient is also authorized against the recipient's identity), and only with
`ses:FromAddress` equal to the sender: the functions cannot send as anyone else.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct

from helpdesk_cdk.config import HelpdeskConfig


class Email(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.identity: ses.EmailIdentity | None = None
        if config.create_ses_identity:
            name = config.ses_identity_name
            kind = ses.Identity.email(name) if "@" in name else ses.Identity.domain(name)
            self.identity = ses.EmailIdentity(self, "SenderIdentity", identity=kind)
            if "@" not in name:
                for i in (1, 2, 3):
                    CfnOutput(
                        self,
                        f"DkimRecord{i}",
                        description=f"DKIM CNAME {i} to publish in the DNS of {name}",
                        value=f"{getattr(self.identity, f'dkim_dns_token_name{i}')} CNAME "
                        f"{getattr(self.identity, f'dkim_dns_token_value{i}')}",
                    )

    def identity_arns(self) -> list[str]:
        stack = Stack.of(self)
        names = dict.fromkeys((self.config.sender_email, self.config.sender_domain, self.config.it_email))
        return [stack.format_arn(service="ses", resource="identity", resource_name=name) for name in names]

    def grant_send(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SendTicketEmailAsTheHelpdesk",
                actions=["ses:SendEmail"],
                resources=self.identity_arns(),
                conditions={"StringEquals": {"ses:FromAddress": self.config.sender_email}},
            )
        )
