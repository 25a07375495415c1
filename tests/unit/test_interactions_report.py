"""The report and the digest built from interactions (pure): counts, gaps by meaning, labels, votes, top pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from assistant.interactions.base import new_interaction
from assistant.interactions.digest import compose_digest_email, digest_slack_text
from assistant.interactions.report import build_report, cluster, topic_label
from assistant.interactions.slack import slack_origin
from core.errors import ConfigError
from helpdesk.knowledge import check_days

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOPICS = {"pension": 0, "retirement": 0, "parking": 1, "car": 1, "badge": 2}


class KeywordEmbedder:
    """A question's vector points along the topic of the keywords it contains."""

    embedder_id = "keywords"
    dimension = 4

    def embed_query(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for word, axis in TOPICS.items():
            if word in text.lower():
                v[axis] += 1.0
        v[3] = 0.1  # every question shares a little
        return v

    def embed_documents(self, texts):  # pragma: no cover - the report embeds questions only
        return np.vstack([self.embed_query(t) for t in texts])


def _i(question: str, decision: str = "ticket", **kw):
    return new_interaction(origin="cli", question=question, decision=decision, now=NOW, retention_days=90, **kw)


def test_cluster_merges_only_groups_closer_than_the_threshold_largest_first():
    v = np.array([[1, 0], [0, 1], [0.99, 0.14], [0.98, 0.2]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert cluster(v, 0.9) == [[0, 2, 3], [1]]
    assert cluster(v, 0.9999) == [[0], [1], [2], [3]]
    assert cluster(v, -1.0) == [[0, 1, 2, 3]]
    assert cluster(np.zeros((0, 2), dtype=np.float32), 0.5) == []


def test_topic_label_is_the_most_frequent_content_words():
    label = topic_label(["How do I increase my pension?", "Pension contributions: can I increase them?", "pension?"])
    assert label.split()[:2] == ["pension", "increase"]
    assert "how" not in label and "can" not in label
    assert topic_label(["??"]) == "(no words)"


def test_report_counts_groups_the_tickets_by_meaning_and_lists_rated_down_answers():
    sources = [{"page_id": "9", "title": "Parking", "url": "https://wiki/9"}]
    interactions = [
        _i("How do I raise my pension contributions?", ticket_id="IT-AAAA2222"),
        _i("Retirement pension payments: who changes them?", ticket_id="IT-BBBB3333"),
        _i("my badge does not open the door", ticket_id="IT-CCCC4444"),
        _i("Where can I park my car?", "answer", sources=sources, answer="Level -1 [1]."),
        _i("parking for visitors?", "answer", sources=sources, answer="Book it [1]."),
    ]
    interactions[3].vote = "not_helpful"
    interactions[4].vote = "helpful"
    report = build_report(interactions, KeywordEmbedder(), period_days=7, similarity=0.8)
    out = report.to_json()
    assert (out["questions"], out["answered"], out["tickets"], out["deflection_rate"]) == (5, 2, 3, 0.4)
    assert (out["helpful"], out["not_helpful"]) == (1, 1)
    assert [(g["count"], g["ticket_ids"]) for g in out["gaps"]] == [
        (2, ["IT-AAAA2222", "IT-BBBB3333"]),
        (1, ["IT-CCCC4444"]),
    ]
    assert out["gaps"][0]["topic"].startswith("pension")
    assert out["not_helpful_answers"] == [
        {"at": "2026-03-02T09:00:00Z", "question": "Where can I park my car?", "answer": "Level -1 [1].",
         "sources": sources}
    ]  # fmt: skip
    assert out["top_pages"] == [{"page_id": "9", "title": "Parking", "url": "https://wiki/9", "count": 2}]
    json.dumps(out)  # one JSON object


def test_an_empty_period_reports_zeros_not_an_error():
    out = build_report([], KeywordEmbedder(), period_days=30, similarity=0.6).to_json()
    assert (out["questions"], out["deflection_rate"], out["gaps"], out["period_days"]) == (0, 0.0, [], 30)


def test_the_digest_email_and_slack_message_name_the_gap_and_are_escaped():
    interactions = [
        _i("<b>pension</b> increase?", ticket_id="IT-AAAA2222"),
        _i("pension again @channel", ticket_id="IT-BBBB3333"),
    ]
    report = build_report(interactions, KeywordEmbedder(), period_days=7, similarity=0.8)
    mail = compose_digest_email(report, sender="bot@example.com", it_queue="it@example.com")
    assert "digest" in mail.subject.lower() and "\n" not in mail.subject
    assert mail.to == ("it@example.com",)
    assert "pension" in mail.text and "IT-AAAA2222, IT-BBBB3333" in mail.text
    assert "<b>" not in mail.html and "&lt;b&gt;pension&lt;/b&gt;" in mail.html
    text = digest_slack_text(report)
    assert "pension" in text and "<b>" not in text and "@channel" not in text


def test_slack_origin_and_days():
    assert slack_origin("C0HELP001", command=True) == "command"
    assert slack_origin("D0ALICE01", command=False) == "dm"
    assert slack_origin("C0HELP001", command=False) == "channel"
    assert check_days("7") == 7 and check_days(3650) == 3650
    for bad in ("0", "-1", "3651", "seven", ""):
        with pytest.raises(ConfigError, match="--days"):
            check_days(bad)


def test_interaction_settings_have_defaults_and_refuse_bad_values():
    from assistant.interactions.config import InteractionsConfig

    default = InteractionsConfig.from_env({})
    assert (default.table, default.retention_days, default.gap_similarity, default.digest_channel) == ("", 90, 0.6, "")
    custom = InteractionsConfig.from_env(
        {"HELPDESK_INTERACTION_RETENTION_DAYS": "30", "INTERACTIONS_TABLE": "t", "HELPDESK_DIGEST_CHANNEL": "C1"}
    )
    assert (custom.retention_days, custom.table, custom.digest_channel) == (30, "t", "C1")
    for bad in ("0", "ninety", "4000"):
        with pytest.raises(ConfigError, match="HELPDESK_INTERACTION_RETENTION_DAYS"):
            InteractionsConfig.from_env({"HELPDESK_INTERACTION_RETENTION_DAYS": bad})
    with pytest.raises(ConfigError, match="HELPDESK_GAP_SIMILARITY"):
        InteractionsConfig.from_env({"HELPDESK_GAP_SIMILARITY": "1.5"})
