"""list_all: a whole list in the fewest requests, each item once, in ID order."""

from __future__ import annotations

import pytest

from tests.connector import rest_fixtures
from tests.connector.rest_fixtures import add_tasks

portal, server, installed, old_address = rest_fixtures.FIXTURES


def read_ids(installed, **params):
    client = installed.client()
    items = client.list_all("tasks.task.list", {"select": ["ID", "TITLE"], **params})
    return [int(item["id"]) for item in items]


def test_10000_tasks_in_at_most_5_requests(installed):
    add_tasks(installed.portal, 10_000)
    ids = read_ids(installed)
    assert ids == list(range(1, 10_001))
    assert installed.rest_calls() <= 5


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (3, 1), (50, 1), (51, 2),
                                                  (120, 2), (2_550, 2), (2_600, 3)])
def test_requests_grow_by_one_per_2500_items(installed, count, requests):
    add_tasks(installed.portal, count)
    assert read_ids(installed) == list(range(1, count + 1))
    assert installed.rest_calls() == requests


def test_filters_and_a_starting_id_are_kept(installed):
    add_tasks(installed.portal, 130)
    installed.portal.as_user(1).create_task(title="Special")
    assert read_ids(installed, filter={"TITLE": "Special"}) == [131]
    assert read_ids(installed, filter={">ID": 100}) == list(range(101, 132))


def test_it_is_a_generator_that_asks_only_as_it_goes(installed):
    add_tasks(installed.portal, 200)
    items = installed.client().list_all("tasks.task.list")
    assert installed.rest_calls() == 0
    next(items)
    assert installed.rest_calls() == 1


def test_order_and_start_are_its_own(installed):
    with pytest.raises(ValueError, match="order and start"):
        list(installed.client().list_all("tasks.task.list", {"order": {"ID": "DESC"}}))


def test_plain_list_results_page_the_same_way(installed):
    for number in range(70):
        installed.portal.as_user(1).create_deal(f"Deal {number}")
    deals = list(installed.client().list_all("crm.deal.list", {"select": ["ID"]}))
    assert [int(d["ID"]) for d in deals] == sorted(int(d["ID"]) for d in deals)
    assert len(deals) == 70


def test_tasks_deleted_while_reading_end_the_chain_at_the_short_page(installed):
    add_tasks(installed.portal, 3_000)
    items = installed.client().list_all("tasks.task.list", {"select": ["ID"]})
    first = next(items)
    actions = installed.portal.as_user(1)
    for task_id in range(2_000, 3_001):
        actions.delete_task(task_id)
    ids = [int(first["id"])] + [int(item["id"]) for item in items]
    assert ids == list(range(1, 2_000))
    # The count said 3,000, so the batch asked for 50 chained pages; the chain ends at the
    # first short page, and nothing after the list's end costs another request.
    assert installed.rest_calls() == 2


def test_pages_after_the_first_are_chained_by_id_and_not_counted(installed):
    add_tasks(installed.portal, 2_550)
    assert read_ids(installed) == list(range(1, 2_551))
    batch = [r for r in installed.portal.call_log.records() if r.in_batch]
    assert len(batch) == 50
    assert {r.params.get("start") for r in batch} == {"-1"}
