"""The change plan of an ingest run, without a source, an embedder or a store."""

from index_store.format import StoredPage
from ingest.model import Page
from ingest.plan import ChangePlan, PageAction, confirmed_gone, nothing_changed, stored_page

RULES = {"exclude_labels": ("helpdesk-exclude",), "skip_restricted": True}


def page(pid: str = "1", version: int = 1, body: str = "<p>Restart the VPN client.</p>", **kw) -> Page:
    return Page(pid, f"Page {pid}", version, f"https://wiki/{pid}", body, **kw)


def test_each_listed_page_gets_one_action() -> None:
    plan = ChangePlan()
    old = stored_page(page("2"))
    assert plan.admit(page("1"), None, **RULES) is PageAction.CHANGED
    assert plan.admit(page("2"), old, **RULES) is PageAction.UNCHANGED
    assert plan.admit(page("3", restricted=True), None, **RULES) is PageAction.OUT_OF_SCOPE
    assert plan.admit(page("4", labels=("helpdesk-exclude",)), None, **RULES) is PageAction.OUT_OF_SCOPE
    assert plan.kept == {"1", "2"} and plan.restricted == 1


def test_a_new_version_with_the_same_content_only_refreshes_the_record() -> None:
    old: StoredPage = stored_page(page("1", version=1))
    assert ChangePlan().admit(page("1", version=2), old, **RULES) is PageAction.REFRESHED
    assert ChangePlan().admit(page("1", version=2, body="<p>New steps.</p>"), old, **RULES) is PageAction.CHANGED


def test_a_page_listed_twice_counts_once_at_its_newest_version() -> None:
    plan = ChangePlan()
    assert plan.admit(page("1", version=3), None, **RULES) is PageAction.CHANGED
    assert plan.admit(page("1", version=2), None, **RULES) is None
    assert plan.admit(page("1", version=3), None, **RULES) is None
    assert plan.listed == {"1": 3}


def test_the_watermark_advances_to_the_newest_modification() -> None:
    plan = ChangePlan(watermark="2026-01-01T00:00:00.000Z")
    plan.admit(page("1", last_modified="2026-02-01T10:00:00.000Z"), None, **RULES)
    plan.admit(page("2", last_modified="2025-12-01T10:00:00.000Z"), None, **RULES)
    assert plan.watermark == "2026-02-01T10:00:00.000Z"


def test_a_page_is_gone_only_when_both_listings_miss_it() -> None:
    assert confirmed_gone({"1", "2", "3"}, {"1"}, {"2"}) == {"3"}
    assert confirmed_gone({"1", "2"}, {"1"}, None) == {"2"}


def test_nothing_changed_unless_a_page_state_or_type_did() -> None:
    plan = ChangePlan()
    plan.admit(page("1"), stored_page(page("1")), **RULES)
    assert nothing_changed(plan, deleted=0, state_changed=False, retyped=False)
    assert not nothing_changed(plan, deleted=1, state_changed=False, retyped=False)
    assert not nothing_changed(plan, deleted=0, state_changed=True, retyped=False)
    plan.admit(page("2"), None, **RULES)
    assert not nothing_changed(plan, deleted=0, state_changed=False, retyped=False)
