import io
import json
import logging

from core.logs import configure_logging


def test_json_lines_with_extras_and_redacted_secrets() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    logging.getLogger("t").info("ticket created", extra={"ticket_id": "IT-1", "bot_token": "xoxb-123"})
    line = json.loads(stream.getvalue())
    assert line["message"] == "ticket created" and line["ticket_id"] == "IT-1" and line["level"] == "INFO"
    assert line["bot_token"] == "[redacted]" and "xoxb-123" not in stream.getvalue()
    configure_logging("WARNING", stream)
    assert len(logging.getLogger().handlers) == 1
