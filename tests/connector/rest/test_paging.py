"""list_all: a whole list in the fewest requests, each item once, in ID order."""

from __future__ import annotations

import pytest

from tests.connector.rest.emulated_portal import add_tasks


def read_ids(installed_app, **params):
    client = installed_app.client()
    items = client.list_all("tasks.task.list", {"select": ["ID", "TITLE"], **params})
    return [int(item["id"]) for item in items]


def test_10000_tasks_in_at_most_5_requests(installed_app):
    add_tasks(installed_app.emulator, 10_000)
    ids = read_ids(installed_app)
    assert ids == list(range(1, 10_001))
    assert installed_app.rest_calls() <= 5


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (3, 1), (50, 1), (51, 2),
                                                  (120, 2), (2_550, 2), (2_600, 3)])
def test_requests_grow_by_one_per_2500_items(installed_app, count, requests):
    add_tasks(installed_app.emulator, count)
    assert read_ids(installed_app) == list(range(1, count + 1))
    assert installed_app.rest_calls() == requests


def test_filters_and_a_starting_id_are_kept(installed_app):
    add_tasks(installed_app.emulator, 130)
    installed_app.emulator.as_user(1).create_task(title="Special")
    assert read_ids(installed_app, filter={"TITLE": "Special"}) == [131]
    assert read_ids(installed_app, filter={">ID": 100}) == list(range(101, 132))


def test_it_is_a_generator_that_asks_only_as_it_goes(installed_app):
    add_tasks(installed_app.emulator, 200)
    items = installed_app.client().list_all("tasks.task.list")
    assert installed_app.rest_calls() == 0
    next(items)
    assert installed_app.rest_calls() == 1


def test_order_and_start_are_its_own(installed_app):
    with pytest.raises(ValueError, match="order and start"):
        list(installed_app.client().list_all("tasks.task.list", {"order": {"ID": "DESC"}}))


def test_plain_list_results_page_the_same_way(installed_app):
    for number in range(70):
        installed_app.emulator.as_user(1).create_deal(f"Deal {number}")
    deals = list(installed_app.client().list_all("crm.deal.list", {"select": ["ID"]}))
    assert [int(d["ID"]) for d in deals] == sorted(int(d["ID"]) for d in deals)
    assert len(deals) == 70


def test_tasks_deleted_while_reading_end_the_chain_at_the_short_page(installed_app):
    add_tasks(installed_app.emulator, 3_000)
    items = installed_app.client().list_all("tasks.task.list", {"select": ["ID"]})
    first = next(items)
    actions = installed_app.emulator.as_user(1)
    for task_id in range(2_000, 3_001):
        actions.delete_task(task_id)
    ids = [int(first["id"])] + [int(item["id"]) for item in items]
    assert ids == list(range(1, 2_000))
    # The count said 3,000, so the batch asked for 50 chained pages; the chain ends at the
    # first short page, and nothing after the list's end costs another request.
    assert installed_app.rest_calls() == 2


def test_pages_after_the_first_are_chained_by_id_and_not_counted(installed_app):
    add_tasks(installed_app.emulator, 2_550)
    assert read_ids(installed_app) == list(range(1, 2_551))
    batch = [r for r in installed_app.emulator.call_log.records() if r.in_batch]
    assert len(batch) == 50
    assert {r.params.get("start") for r in batch} == {"-1"}
