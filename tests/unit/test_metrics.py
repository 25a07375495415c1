import json

from core import metrics


def test_nothing_is_printed_outside_lambda(capsys) -> None:
    metrics.count(metrics.BEDROCK_THROTTLES)
    assert capsys.readouterr().out == ""


def test_in_lambda_one_emf_line_with_the_alarm_names(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "it-helpdesk-slack")
    metrics.count(metrics.BEDROCK_THROTTLES)
    line = json.loads(capsys.readouterr().out.strip())
    cw = line["_aws"]["CloudWatchMetrics"][0]
    assert cw["Namespace"] == "ITHelpdesk" and cw["Metrics"][0]["Name"] == "BedrockThrottles"
    assert line["BedrockThrottles"] in (1, 1.0, [1], [1.0]) and line["service"] == "it-helpdesk"
