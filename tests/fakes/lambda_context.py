"""What the Lambda runtime passes a handler: the fields Powertools' `inject_lambda_context` and Bolt's lazy runner
read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "helpdesk-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:helpdesk-slack"
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
