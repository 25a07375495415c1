"""CloudWatch metrics (Embedded Metric Format through Powertools), emitted only inside AWS Lambda.

Outside Lambda (the CLI, `helpdesk serve`, tests) nothing is printed: EMF goes to stdout, which the CLI owns.
Names match the CDK app's alarms: namespace `ITHelpdesk`, dimension `service=it-helpdesk` (overridable with
POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME).
"""

from __future__ import annotations

import os

DEFAULT_NAMESPACE = "ITHelpdesk"
DEFAULT_SERVICE = "it-helpdesk"
BEDROCK_THROTTLES = "BedrockThrottles"


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def count(name: str, value: int = 1) -> None:
    """Emit one count right away (a single-metric EMF line); a no-op outside Lambda."""
    if not in_lambda() or value <= 0:
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
        metric.add_dimension(name="service", value=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
