"""ConfluenceSource with the real atlassian-python-api client against the local Confluence fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes.clock import FakeClock
from fakes.confluence import ConfluenceFake

from ingest.exceptions import ConfluenceUnavailable, SourceError
from ingest.sources.confluence import ConfluenceSource
from ingest.sources.confluence_http import ConfluenceHTTP, RetryPolicy


def source(fake: ConfluenceFake, clock: FakeClock | None = None, **kw) -> ConfluenceSource:
    clock = clock or FakeClock()
    http = ConfluenceHTTP(
        fake.url,
        user=fake.user,
        token=fake.token,
        timeout=kw.pop("timeout", 5.0),
        policy=kw.pop("policy", RetryPolicy()),
        sleep=clock.sleep,
        clock=clock,
        rng=kw.pop("rng", lambda: 0.5),
    )
    return ConfluenceSource(http, kw.pop("spaces", ["IT"]), **kw)


def fill(fake: ConfluenceFake, n: int, space: str = "IT", start: int = 1000) -> None:
    for i in range(n):
        fake.add_page(str(start + i), f"{space} page {i}", f"<p>How to fix problem {i} in {space}.</p>", space=space)


def test_lists_every_page_past_the_100_cap_by_following_next_links(confluence: ConfluenceFake) -> None:
    fill(confluence, 250)
    fill(confluence, 40, space="HR", start=5000)
    src = source(confluence, spaces=["IT", "HR"])
    pages = list(src.pages())
    assert len(pages) == 290 and len({p.page_id for p in pages}) == 290
    assert confluence.count("search") == 3  # 100 + 100 + 90: the cap, never a count, decides
    assert pages[0].url.startswith(confluence.url + "/spaces/")
    assert {p.space_key for p in pages} == {"IT", "HR"}


def test_a_short_page_before_the_end_does_not_stop_the_listing(confluence: ConfluenceFake) -> None:
    small = ConfluenceFake(body_cap=7).start()
    try:
        fill(small, 30)
        assert len(list(source(small).pages())) == 30
        assert small.count("search") == 5
    finally:
        small.stop()


def test_incremental_listing_asks_for_pages_modified_since_the_watermark(confluence: ConfluenceFake) -> None:
    fill(confluence, 10)  # one page a day from 2026-01-02
    src = source(confluence)
    pages = list(src.pages(since="2026-01-09T00:00:00.000Z"))  # moved back a day for timezones
    assert [p.page_id for p in pages] == ["1006", "1007", "1008", "1009"]
    cql = confluence.calls[-1][1]["cql"][0]
    assert 'lastmodified >= "2026-01-08 00:00"' in cql and cql.endswith("ORDER BY lastmodified")


def test_server_personal_access_token_is_sent_as_bearer() -> None:
    with ConfluenceFake(user="", token="pat-123", context="") as fake:
        fill(fake, 3)
        src = source(fake)
        assert src.http.deployment == "server"
        assert len(list(src.pages())) == 3


def test_wrong_credentials_fail_at_once_with_a_hint(confluence: ConfluenceFake) -> None:
    fill(confluence, 2)
    clock = FakeClock()
    http = ConfluenceHTTP(confluence.url, user=confluence.user, token="wrong", sleep=clock.sleep, clock=clock)
    with pytest.raises(SourceError, match=r"rejected the credentials \(HTTP 401\).*API token"):
        list(ConfluenceSource(http, ["IT"]).pages())
    assert clock.sleeps == []
    assert "wrong" not in repr(http)


def test_429_waits_for_retry_after_capped(confluence: ConfluenceFake) -> None:
    fill(confluence, 150)
    confluence.fail(429, times=2, retry_after="7")
    confluence.fail(429, times=1, retry_after="3600")
    clock = FakeClock()
    pages = list(source(confluence, clock, policy=RetryPolicy(retry_after_cap=60, budget_seconds=600)).pages())
    assert len(pages) == 150
    assert clock.sleeps == [7.0, 7.0, 60.0]


def test_429_without_retry_after_and_5xx_back_off_exponentially(confluence: ConfluenceFake) -> None:
    fill(confluence, 5)
    confluence.fail(500, times=2)
    confluence.fail(429, times=1)
    confluence.fail(503, times=1)
    clock = FakeClock()
    src = source(confluence, clock, policy=RetryPolicy(base_delay=1.0), rng=lambda: 1.0)
    assert len(list(src.pages())) == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert src.http.calls == 5 and src.http.retries == 4


def test_jitter_spreads_the_backoff(confluence: ConfluenceFake) -> None:
    fill(confluence, 1)
    confluence.fail(502, times=3)
    clock = FakeClock()
    list(source(confluence, clock, rng=lambda: 0.0).pages())
    assert clock.sleeps == [0.5, 1.0, 2.0]  # half of 1, 2, 4: jitter in [half, full]


def test_dropped_connections_and_timeouts_are_retried(confluence: ConfluenceFake) -> None:
    fill(confluence, 3)
    confluence.drop(times=1)
    confluence.delay(1.5, times=1)
    clock = FakeClock()
    src = source(confluence, clock, timeout=0.3)
    assert len(list(src.pages())) == 3
    assert len(clock.sleeps) == 2


def test_unreachable_confluence_fails_loudly_within_the_budget(confluence: ConfluenceFake) -> None:
    fill(confluence, 3)
    confluence.down = True
    clock = FakeClock()
    src = source(confluence, clock, policy=RetryPolicy(budget_seconds=120, base_delay=1.0, max_delay=30))
    with pytest.raises(ConfluenceUnavailable, match=r"Confluence unreachable at .*HTTP 503.*last index keeps serving"):
        list(src.pages())
    assert sum(clock.sleeps) <= 120 and len(clock.sleeps) >= 4


def test_refused_connection_is_unavailable_not_a_crash() -> None:
    fake = ConfluenceFake().start()
    url = fake.url
    fake.stop()
    clock = FakeClock()
    http = ConfluenceHTTP(
        url, user="u", token="t", sleep=clock.sleep, clock=clock, policy=RetryPolicy(budget_seconds=10)
    )
    with pytest.raises(ConfluenceUnavailable, match="ConnectionError"):
        list(ConfluenceSource(http, ["IT"]).pages())


def test_bad_cql_is_a_clear_error(confluence: ConfluenceFake) -> None:
    fill(confluence, 1)
    with pytest.raises(SourceError, match=r"rejected the request \(HTTP 400\): Could not parse cql"):
        list(source(confluence, cql="nonsense ~~ here").pages())


def test_wrong_url_is_a_clear_error(confluence: ConfluenceFake) -> None:
    clock = FakeClock()
    http = ConfluenceHTTP(confluence.site + "/nowiki", user="bot@example.com", token="fake-token", clock=clock)
    with pytest.raises(SourceError, match=r"HTTP 404.*CONFLUENCE_URL"):
        list(ConfluenceSource(http, ["IT"]).pages())


def test_restricted_pages_and_their_children_are_flagged(confluence: ConfluenceFake) -> None:
    confluence.add_page("1", "Public", "<p>Everyone</p>")
    confluence.add_page("2", "HR only", "<p>Salaries</p>", restricted_groups=["hr"])
    confluence.add_page("3", "Under HR", "<p>Bonus plan</p>", parent="2")
    confluence.add_page("4", "Private", "<p>Mine</p>", restricted_users=["557058:abc"])
    pages = {p.page_id: p for p in source(confluence).pages()}
    assert {pid for pid, p in pages.items() if p.restricted} == {"2", "3", "4"}
    assert source(confluence).page_ids() == {"1"}
    assert source(confluence, skip_restricted=False).page_ids() == {"1", "2", "3", "4"}


def test_id_listing_leaves_out_excluded_labels_and_is_cheap(confluence: ConfluenceFake) -> None:
    fill(confluence, 1500)
    confluence.pages["1003"].labels.append("helpdesk-exclude")
    src = source(confluence)
    ids = src.page_ids()
    assert len(ids) == 1499 and "1003" not in ids
    assert src.http.calls == 2  # no body expanded: the larger cap applies
    assert "body.storage" not in confluence.calls[-1][1]["expand"][0]


def test_extra_cql_is_anded_and_order_by_is_refused(confluence: ConfluenceFake) -> None:
    confluence.add_page("1", "A", "<p>a</p>", labels=["kb"])
    confluence.add_page("2", "B", "<p>b</p>")
    assert [p.page_id for p in source(confluence, cql='label = "kb"').pages()] == ["1"]
    from helpdesk.settings import SettingsError

    with pytest.raises(SettingsError, match="ORDER BY"):
        source(confluence, cql="label = kb order by title")


def test_state_key_names_the_scope(confluence: ConfluenceFake) -> None:
    a, b = source(confluence, spaces=["IT", "HR"]), source(confluence, spaces=["HR", "IT"])
    assert a.state_key == b.state_key != source(confluence, spaces=["IT"]).state_key
    assert source(confluence, cql="label = x").state_key != a.state_key


def test_fake_clock_steps_are_what_the_incremental_tests_rely_on(confluence: ConfluenceFake) -> None:
    first = confluence.add_page("1", "A", "<p>a</p>")
    second = confluence.add_page("2", "B", "<p>b</p>")
    assert second.when - first.when == timedelta(days=1)


def test_retry_after_zero_forever_is_still_bounded(confluence: ConfluenceFake) -> None:
    fill(confluence, 1)
    confluence.fail(429, times=50, retry_after="0")
    clock = FakeClock()
    with pytest.raises(ConfluenceUnavailable, match="HTTP 429 on 12 attempt"):
        list(source(confluence, clock).pages())
    assert confluence.count("search") == 12
