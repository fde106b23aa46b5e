"""The cache of titles and names the admin pages show beside ids: how long an answer is
kept, how many, and how long a portal that failed is left alone."""

from __future__ import annotations

import pytest

from webhooks.admin.names import NameCache, PageNames, wanted_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_its_time_then_asked_again() -> None:
    clock = Clock()
    cache = NameCache(ttl=600, clock=clock)
    cache.keep("member-a", {"deal:12": "Fornitura uffici", "user:3": "Luca Bianchi"})
    assert cache.lookup("member-a", ["deal:12", "user:3", "lead:5"]) == (
        {"deal:12": "Fornitura uffici", "user:3": "Luca Bianchi"}, ["lead:5"])
    assert cache.lookup("member-b", ["deal:12"]) == ({}, ["deal:12"])  # another portal
    clock.now += 601
    assert cache.lookup("member-a", ["deal:12"]) == ({}, ["deal:12"])


def test_the_oldest_answers_go_first_past_the_bound() -> None:
    cache = NameCache(max_entries=2, clock=Clock())
    cache.keep("m", {"deal:1": "one"})
    cache.keep("m", {"deal:2": "two"})
    cache.keep("m", {"deal:3": "three"})
    assert cache.lookup("m", ["deal:1", "deal:2", "deal:3"]) == (
        {"deal:2": "two", "deal:3": "three"}, ["deal:1"])


def test_a_portal_that_failed_rests_for_a_while() -> None:
    clock = Clock()
    cache = NameCache(failed_ttl=60, clock=clock)
    assert not cache.resting("m")
    cache.failed("m")
    assert cache.resting("m") and not cache.resting("other")
    clock.now += 61
    assert not cache.resting("m")


@pytest.mark.parametrize(("key", "wanted"), [
    ("deal:12", "deal:12"), ("lead:007", "lead:7"), ("task:5", "task:5"), ("user:3", "user:3"),
    ("contact:4", None), ("deal:0", None), ("deal:", None), ("deal:²", None),
    ("deal:1" + "0" * 18, None), ("settings", None), ("", None),
])
def test_only_deal_lead_task_and_user_ids_are_looked_up(key: str, wanted: str | None) -> None:
    assert wanted_key(key) == wanted


def test_a_page_shows_nothing_where_no_title_is_known() -> None:
    names = PageNames({(1, "deal:12"): "Fornitura uffici", (1, "task:7"): "Offer",
                       (1, "user:3"): "Luca Bianchi"})
    assert (names.item(1, "deal:12"), names.task(1, 7), names.user(1, 3)) == (
        "Fornitura uffici", "Offer", "Luca Bianchi")
    assert names.item(2, "deal:12") == "" and names.user(None, 3) == ""
