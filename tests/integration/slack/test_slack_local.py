"""`helpdesk serve` (a real process, the real local pipeline on the sample index), Socket Mode set-up, and the
ack path's imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from fakes.slack_api import TOKEN, FakeSlackApi, iter_texts
from fakes.slack_requests import SECRET, command_event, event_body, json_event

from assistant.slack.exceptions import SlackConfigError
from helpdesk.settings import Settings
from helpdesk.slack_local import run_socket_mode

ROOT = Path(__file__).resolve().parents[3]


def _post(url: str, event: dict) -> tuple[int, str]:
    headers = {k: v for k, v in event["headers"].items()}
    req = urllib.request.Request(url, data=event["body"].encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def served(sample_index, tmp_path):
    """`helpdesk serve --port 0` in a subprocess, talking to a fake Slack API, answering from the sample index."""
    with FakeSlackApi() as fake:
        fake.add_user("U0ALICE01", "Alice Example", "alice@example.com")
        env = dict(os.environ)
        env.update(
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_API_URL=fake.api_url,
            HELPDESK_INDEX=str(sample_index),
            HELPDESK_HOME=str(tmp_path / "home"),
            PYTHONUNBUFFERED="1",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpdesk.cli", "serve", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = proc.stderr.readline()
            assert "listening on http://127.0.0.1:" in line, line
            url = line.split("listening on ")[1].split()[0]
            yield fake, url, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)


def test_serve_answers_a_mention_from_the_sample_space(served):
    fake, url, proc = served
    status, _ = _post(url, json_event(event_body("app_mention.json", text="<@U0BOT0001> how do I connect to the VPN?")))
    assert status == 200

    def answered() -> bool:
        return any(m.get("edited") for m in fake.bot_messages("C0HELP001"))

    assert _wait_for(answered), fake.calls()
    [answer] = fake.bot_messages("C0HELP001")
    text = "\n".join(iter_texts(answer["blocks"]))
    assert "[1] <http" in text  # numbered sources from the sample space
    assert any(b["type"] == "actions" for b in answer["blocks"])

    bad = json_event(event_body("app_mention.json"), secret="wrong")
    assert _post(url, bad)[0] == 401
    assert _post(url.replace("/slack/events", "/other"), json_event(event_body("app_mention.json")))[0] == 404

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    lines = [json.loads(x) for x in proc.stdout.read().splitlines() if x.startswith("{")]
    requests = [x for x in lines if x.get("message") == "slack request"]
    assert [r["status"] for r in requests] == [200, 401, 404]
    assert all("VPN" not in json.dumps(x) for x in lines if x["level"] == "INFO")  # no question text at info


def test_serve_handles_a_slash_command(served):
    _fake, url, _ = served
    status, body = _post(url, command_event("help"))
    assert status == 200 and "/helpdesk ticket" in json.loads(body)["text"]


def test_serve_reports_a_port_in_use(tmp_path, monkeypatch):
    import socket

    from assistant.slack.exceptions import SlackError
    from helpdesk.slack_local import make_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(SlackError, match=r"cannot listen on 127\.0\.0\.1"):
            make_server(None, "127.0.0.1", s.getsockname()[1])  # type: ignore[arg-type]


def test_socket_mode_needs_an_app_token():
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        run_socket_mode(Settings.from_env())


def test_socket_mode_builds_without_a_signing_secret(monkeypatch):
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-not-real")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    assert run_socket_mode(Settings.from_env(), start=False) == 0


def test_cli_errors_are_one_line(monkeypatch):
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "slack", "--socket-mode"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("helpdesk: error: Socket Mode needs an app-level token")


def test_the_ack_path_imports_no_heavy_modules(tmp_path):
    """Import handler and ack a mention (Lambda path, self-invocation recorded): no numpy, FAISS or LangChain."""
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import handler
        from helpdesk import slack_lambda as aws
        from helpdesk.slack_runtime import build_runtime
        from helpdesk.settings import Settings
        from fakes.slack_requests import event_body, json_event

        class Lam:
            def invoke(self, **kw):
                return {{"StatusCode": 202}}

        class Ctx:
            function_name = "f"
            invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
            aws_request_id = "req-1"
            memory_limit_in_mb = 512

        aws.set_runtime(build_runtime(Settings.from_env(), lambda_client=Lam()))
        status = handler.lambda_handler(json_event(event_body("app_mention.json")), Ctx())["statusCode"]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "faiss", "langchain", "langchain_aws",
                       "langchain_core", "langchain_community", "model2vec", "tqdm")
                       or m in ("assistant.service", "assistant.retrieval", "helpdesk.integrations"))
        print(json.dumps({{"status": status, "heavy": heavy}}))
        """
    )
    env = dict(os.environ, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=TOKEN, HELPDESK_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"status": 200, "heavy": []}
