"""EventBridge schedules: incremental ingest (default hourly), the full sweep (default daily 03:15 UTC), and the
retry of unsent ticket emails (default every 15 minutes). Each is a setting; "off" removes the rule.

Event payloads (the handler contract): ingest gets `{"full": false}` or `{"full": true}`; the sweep gets `{}`.
An event EventBridge cannot deliver (Lambda throttled for an hour, function missing) goes to the same DLQ.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from helpdesk_cdk.config import HelpdeskConfig
from helpdesk_cdk.functions import Functions, HelpdeskFunction


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: HelpdeskConfig, functions: Functions) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.functions = functions
        self.rules: dict[str, events.Rule] = {}
        self._rule("IncrementalIngest", config.ingest_schedule, functions.ingest, {"full": False},
                   "Incremental re-index of Confluence (changed pages only)")  # fmt: skip
        self._rule("FullIngest", config.full_ingest_schedule, functions.ingest, {"full": True},
                   "Full sweep: every page id listed, deleted pages dropped from the index")  # fmt: skip
        self._rule("EmailSweep", config.sweep_schedule, functions.sweep, {},
                   "Retry ticket emails that could not be sent")  # fmt: skip

    def _rule(self, cid: str, expression: str, fn: HelpdeskFunction, payload: dict, description: str) -> None:
        if not expression:
            return
        rule = events.Rule(
            self,
            cid,
            rule_name=f"{self.config.prefix}-{cid.lower()}",
            description=description,
            schedule=events.Schedule.expression(expression),
        )
        rule.add_target(
            targets.LambdaFunction(
                fn.function,
                event=events.RuleTargetInput.from_object(payload),
                dead_letter_queue=self.functions.dlq,
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        )
        self.rules[cid] = rule
