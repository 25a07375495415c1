import pytest

from helpdesk.settings import Settings, SettingsError


def test_defaults_are_the_local_mode() -> None:
    s = Settings.from_env({})
    assert (s.embedder.kind, s.answering.answerer, s.mail.backend, s.tickets.table) == (
        "onnx-minilm",
        "extractive",
        "outbox",
        "",
    )
    assert (
        s.index_location.endswith("index") and s.answering.confidence_threshold is None
    )  # None: the gate's own default


def test_values_are_parsed_and_validated() -> None:
    s = Settings.from_env(
        {
            "HELPDESK_CONFIDENCE_THRESHOLD": "0.4",
            "CONFLUENCE_SPACES": "IT, HR ,",
            "HELPDESK_EMBED_DIMENSIONS": "512",
            "HELPDESK_SKIP_RESTRICTED": "no",
        }
    )
    assert s.answering.confidence_threshold == 0.4 and s.confluence.spaces == ("IT", "HR")
    assert s.embedder.dimensions == 512 and s.ingest.skip_restricted is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HELPDESK_CONFIDENCE_THRESHOLD": "high"}, "is not a number"),
        ({"HELPDESK_CONFIDENCE_THRESHOLD": "1.5"}, "between 0.0 and 1.0"),
        ({"HELPDESK_EMBED_CONCURRENCY": "2.5"}, "not a whole number"),
        ({"HELPDESK_EMBED_DIMENSIONS": "300"}, "one of: 256, 512, 1024"),
        ({"HELPDESK_EMBEDDER": "openai"}, "must be one of: local, onnx-minilm, bedrock"),
        ({"HELPDESK_SKIP_RESTRICTED": "maybe"}, "true or false"),
    ],
)
def test_bad_values_name_the_variable(env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as err:
        Settings.from_env(env)
    assert next(iter(env)) in str(err.value)


def test_secrets_are_not_in_repr() -> None:
    secrets = {"SLACK_BOT_TOKEN": "xoxb-s3cr3t-1", "SLACK_SIGNING_SECRET": "s3cr3t-2", "CONFLUENCE_TOKEN": "s3cr3t-3"}
    s = Settings.from_env(secrets)
    assert s.slack.bot_token == "xoxb-s3cr3t-1"
    assert "s3cr3t" not in repr(s)
