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
