"""CloudWatch metrics (Embedded Metric Format through Powertools), emitted only inside AWS Lambda.

Outside Lambda (the CLI, `helpdesk serve`, tests) nothing is printed: EMF goes to stdout, which the CLI owns.
Names match the CDK app's alarms: namespace `ITHelpdesk`, dimension `service=it-helpdesk` (overridable with
POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Any

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


def milliseconds(name: str, value: float) -> None:
    """Emit one duration in milliseconds right away (a single-metric EMF line); a no-op outside Lambda."""
    if not in_lambda() or value < 0:
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    with single_metric(name=name, unit=MetricUnit.Milliseconds, value=value, namespace=namespace) as metric:
        metric.add_dimension(name="service", value=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is now (Lambda ships stdout to CloudWatch; tests capture it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


@functools.cache
def lambda_metrics() -> Any:
    """The one Powertools Metrics of the scheduled functions, built once per process: namespace and `service`
    dimension from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME when set, else `ITHelpdesk` and
    `it-helpdesk`. The entry point that adds metrics wears `@metrics.log_metrics`, which flushes them."""
    from aws_lambda_powertools import Metrics

    return Metrics(
        namespace=None if os.environ.get("POWERTOOLS_METRICS_NAMESPACE") else DEFAULT_NAMESPACE,
        service=None if os.environ.get("POWERTOOLS_SERVICE_NAME") else DEFAULT_SERVICE,
    )


@functools.cache
def lambda_logger() -> Any:
    """The one Powertools JSON logger of the scheduled functions (ingest, email sweep), built once per process so
    every caller shares its handler and formatter. Level: POWERTOOLS_LOG_LEVEL, default INFO; the service name is
    POWERTOOLS_SERVICE_NAME when set, else `it-helpdesk`."""
    from aws_lambda_powertools import Logger

    service = None if os.environ.get("POWERTOOLS_SERVICE_NAME") else DEFAULT_SERVICE
    return Logger(service=service, logger_handler=_StdoutHandler())
