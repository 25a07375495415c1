"""Shared fixtures. Every test gets its own HELPDESK_HOME, and the environment is restored afterwards."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import HashEmbedder, page_object, write_export

# Tests index with the static model (ingest in milliseconds); the default transformer embedder is exercised by the
# tests that unset this (tests/integration/test_onnx_embedder_cli.py) and by those that choose it.
TEST_EMBEDDER = "local"


def pytest_configure(config: pytest.Config) -> None:
    os.environ["HELPDESK_EMBEDDER"] = TEST_EMBEDDER  # also for module- and session-scoped fixtures


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("HELPDESK_", "SLACK_", "AWS_", "TICKETS_", "INTERACTIONS_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HELPDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HELPDESK_EMBEDDER", TEST_EMBEDDER)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def small_export(tmp_path: Path) -> Path:
    pages = [
        page_object(
            "1",
            "VPN setup",
            "<h2>Install</h2><p>Install GlobalProtect and connect to vpn.example.com.</p>"
            "<h2>Troubleshooting</h2><ol><li>Restart the client.</li><li>Check your password.</li></ol>",
            ancestors=["IT"],
        ),
        page_object(
            "2", "Printer help", "<p>Printers are on every floor. Use PaperCut to release jobs.</p>", ancestors=["IT"]
        ),
        page_object("3", "Wi-Fi", "<p>Connect to the CorpNet Wi-Fi network with your SSO login.</p>"),
        page_object("4", "Internal rota", "<p>On call: Alice.</p>", labels=["helpdesk-exclude"]),
    ]
    return write_export(tmp_path / "export", pages)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample space indexed once per session with the real local embedder."""
    from support import SAMPLE_EXPORT

    from index_store.local import LocalIndexStore
    from ingest.embedders.local import StaticEmbedder
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    location = tmp_path_factory.mktemp("sample") / "index"
    run_ingest(ExportSource(SAMPLE_EXPORT), StaticEmbedder(), LocalIndexStore(location))
    return location
