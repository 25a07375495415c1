"""Incremental ingest from live Confluence (the fake): state, watermark, deletions, restricted pages, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.clock import FakeClock
from fakes.confluence import ConfluenceFake
from support import HashEmbedder

from index_store.local import LocalIndexStore
from ingest.exceptions import ConfluenceUnavailable
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.confluence import ConfluenceSource
from ingest.sources.confluence_http import ConfluenceHTTP, RetryPolicy
from ingest.state import IngestState

VPN = "<h2>Install</h2><p>Install GlobalProtect from the portal.</p><h2>Troubleshooting</h2><p>Restart the client.</p>"


class Run:
    """Runs the real pipeline against the fake, with a controllable wall clock."""

    def __init__(self, fake: ConfluenceFake, store: LocalIndexStore) -> None:
        self.fake, self.store = fake, store
        self.now = datetime(2026, 6, 1, tzinfo=UTC)
        self.last_source: ConfluenceSource | None = None

    def __call__(self, emb: HashEmbedder | None = None, **options):
        clock = FakeClock()
        http = ConfluenceHTTP(self.fake.url, user=self.fake.user, token=self.fake.token, sleep=clock.sleep, clock=clock)
        http.policy = options.pop("policy", RetryPolicy())
        self.last_source = ConfluenceSource(http, options.pop("spaces", ["IT"]))
        opts = IngestOptions(**{"deletion_sweep_hours": 24.0, **options})
        return run_ingest(self.last_source, emb or HashEmbedder(), self.store, opts, now=lambda: self.now)


@pytest.fixture
def run(confluence: ConfluenceFake, tmp_path: Path) -> Run:
    for i in range(1, 6):
        confluence.add_page(str(i), f"Topic {i}", f"<p>Everything about topic number {i} and its settings.</p>")
    confluence.add_page("6", "VPN setup", VPN)
    return Run(confluence, LocalIndexStore(tmp_path / "idx"))


def test_first_run_lists_everything_and_records_the_state(run: Run) -> None:
    s = run()
    assert (s.pages_seen, s.pages_changed, s.listing, s.deletion_sweep) == (6, 6, "full", True)
    state = IngestState.from_extra(run.store.load().extra)
    assert state is not None and state.watermark == "2026-01-07T00:00:00.000Z"
    assert state.last_sweep == "2026-06-01T00:00:00.000Z" and state.source == run.last_source.state_key
    assert s.source_calls == 1


def test_unchanged_rerun_costs_one_listing_call_and_no_embedding(run: Run) -> None:
    first = run()
    emb = HashEmbedder()
    run.now += timedelta(hours=1)
    s = run(emb)
    assert emb.calls == 0 and s.chunks_embedded == 0 and s.chunks_reused == s.chunks_total == first.chunks_total
    assert s.listing == "incremental" and not s.deletion_sweep and s.source_calls == 1
    assert s.pages_seen <= 2  # only the pages inside the one-day overlap are listed again
    assert not s.published and s.index_version == first.index_version


def test_edited_page_reembeds_only_its_new_chunks(run: Run, confluence: ConfluenceFake) -> None:
    run()
    confluence.edit("6", body=VPN.replace("Restart the client.", "Restart the client, then reboot the laptop."))
    emb = HashEmbedder()
    s = run(emb)
    assert s.pages_changed == 1 and s.chunks_embedded == emb.texts_embedded == 1
    assert s.published and any("reboot the laptop" in c.body for c in run.store.load().chunks)
    assert IngestState.from_extra(run.store.load().extra).watermark == "2026-01-08T00:00:00.000Z"


def test_deleted_page_is_kept_until_the_sweep_is_due_then_removed(run: Run, confluence: ConfluenceFake) -> None:
    run()
    confluence.delete("3")
    run.now += timedelta(hours=2)
    s = run()
    assert s.pages_deleted == 0 and "3" in run.store.load().pages  # incremental listing cannot see deletions
    run.now += timedelta(hours=23)
    s = run()
    assert s.deletion_sweep and s.pages_deleted == 1 and s.chunks_embedded == 0
    assert "3" not in run.store.load().pages and all(c.page_id != "3" for c in run.store.load().chunks)
    assert confluence.count("search") == 5  # 1 + 1 + (listing, id listing, confirming id listing)


def test_full_run_always_sweeps(run: Run, confluence: ConfluenceFake) -> None:
    run()
    confluence.delete("2")
    s = run(sweep=True)
    assert s.listing == "full" and s.pages_deleted == 1 and s.chunks_embedded == 0
    confluence.delete("4")
    emb = HashEmbedder()
    s = run(emb, full=True)
    assert (
        s.pages_deleted == 1
        and "4" not in run.store.load().pages
        and s.chunks_embedded == emb.texts_embedded == s.chunks_total
    )


def test_page_moved_out_of_scope_without_a_new_version_leaves_at_the_sweep(
    run: Run, confluence: ConfluenceFake
) -> None:
    run()
    confluence.pages["2"].labels.append("helpdesk-exclude")  # labels do not bump the version
    confluence.pages["5"].restricted_groups.append("it-only")  # nor do restrictions
    run.now += timedelta(days=2)
    s = run()
    assert s.deletion_sweep and s.pages_deleted == 2
    assert set(run.store.load().pages) == {"1", "3", "4", "6"}


def test_restricted_and_excluded_pages_are_skipped_and_counted(run: Run, confluence: ConfluenceFake) -> None:
    confluence.add_page("7", "Payroll", "<p>Salary bands.</p>", restricted_groups=["hr"])
    confluence.add_page("8", "Payroll FAQ", "<p>Payday is the 25th.</p>", parent="7")
    confluence.add_page("9", "On-call rota", "<p>Alice.</p>", labels=["helpdesk-exclude"])
    s = run()
    assert (s.pages_seen, s.pages_skipped, s.pages_restricted) == (9, 3, 2)
    assert s.to_json()["pages_restricted"] == 2
    bundle = run.store.load()
    assert not {"7", "8", "9"} & set(bundle.pages)
    assert all("Salary" not in c.body and "Payday" not in c.body for c in bundle.chunks)
    s = run(skip_restricted=False, full=True)
    assert {"7", "8"} <= set(run.store.load().pages)


def test_page_restricted_after_indexing_is_removed_on_its_next_version(run: Run, confluence: ConfluenceFake) -> None:
    run()
    confluence.edit("6", restricted_users=["557058:boss"])
    s = run()
    assert s.pages_deleted == 1 and s.pages_restricted == 1 and "6" not in run.store.load().pages


def test_other_scope_starts_over_with_a_full_listing(run: Run, confluence: ConfluenceFake) -> None:
    run()
    confluence.add_page("50", "HR leave", "<p>Leave policy.</p>", space="HR")
    s = run(spaces=["HR"])
    assert s.listing == "full" and s.pages_deleted == 6 and set(run.store.load().pages) == {"50"}


def test_confluence_down_publishes_nothing_and_the_last_index_keeps_serving(
    run: Run, confluence: ConfluenceFake
) -> None:
    first = run()
    confluence.edit("1", body="<p>Changed</p>")
    confluence.down = True
    with pytest.raises(ConfluenceUnavailable):
        run(policy=RetryPolicy(budget_seconds=30))
    assert run.store.current_version() == first.index_version
    assert any("topic number 1" in c.body for c in run.store.load().chunks)


def test_failure_half_way_through_the_listing_publishes_nothing(run: Run, confluence: ConfluenceFake) -> None:
    for i in range(100, 260):
        confluence.add_page(str(i), f"Extra {i}", f"<p>Extra page {i}.</p>")
    first = run()
    for i in range(100, 260):
        confluence.edit(str(i), body=f"<p>Extra page {i}, edited.</p>")
    original = confluence._search
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 1:  # the first page of results arrives, then Confluence goes down
            confluence.down = True
        return original(*args)

    confluence._search = flaky
    with pytest.raises(ConfluenceUnavailable):
        run(policy=RetryPolicy(budget_seconds=5))
    assert run.store.current_version() == first.index_version


def test_new_version_with_the_same_content_updates_the_state_without_embedding(
    run: Run, confluence: ConfluenceFake
) -> None:
    run()
    confluence.edit("2", labels=["printing"])  # a new version, same text
    emb = HashEmbedder()
    s = run(emb)
    assert emb.calls == 0 and s.pages_changed == 0 and s.published
    page = run.store.load().pages["2"]
    assert (page.version, page.labels) == (2, ("printing",))


def test_changing_the_index_type_republishes_without_embedding(run: Run) -> None:
    run(index_type="flat")
    emb = HashEmbedder()
    s = run(emb, index_type="sq8")
    assert emb.calls == 0 and s.published and run.store.load().index_type == "sq8"
