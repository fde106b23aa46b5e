"""Hostile input to the badge, configurable-activity, log-message and comment methods:
every answer is a 200 or a clear 4xx with a code and a reason, never a 5xx."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulator.conftest import Rest
from tests.emulator.test_portal_configurable_activities import layout

METHODS = ("crm.activity.badge.add", "crm.activity.badge.get", "crm.activity.badge.delete",
           "crm.activity.configurable.add", "crm.activity.configurable.update",
           "crm.activity.configurable.get", "crm.activity.delete", "crm.activity.list",
           "crm.timeline.logmessage.get", "crm.timeline.logmessage.delete",
           "task.commentitem.get", "task.commentitem.update", "task.commentitem.delete",
           "tasks.task.result.addFromComment")
KEYS = ("code", "title", "value", "type", "ownerTypeId", "ownerId", "fields", "layout", "id",
        "filter", "TASKID", "ITEMID", "FIELDS", "commentId", "deadline", "badgeCode",
        "pingOffsets", "responsibleId", "header", "tags", "blocks", "action", "en")
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**20), st.text(max_size=6),
                   st.sampled_from(["1", "²", "١٢", "Y", "2026-01-01", "lavender", "redirect",
                                    "primary", "text", "9" * 30]))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=list(HealthCheck))


def assert_clear(answer: Any) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:
        body = answer.json()
        assert "error" in body and body["error_description"] is not None, answer.text


def test_hostile_parameters_get_a_clear_answer(portal, install, make_rest):
    app: Rest = make_rest("oauth", install())
    portal.as_user(1).create_deal("Target")

    @SETTINGS
    @given(st.sampled_from(METHODS), st.dictionaries(st.sampled_from(KEYS), VALUES,
                                                     max_size=5))
    def run(method: str, params: dict[str, Any]) -> None:
        assert_clear(app.raw(method, params))

    run()


def test_a_layout_broken_anywhere_gets_a_clear_answer(portal, install, make_rest):
    app: Rest = make_rest("oauth", install())
    deal_id = portal.as_user(1).create_deal("Target")

    def paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        found = [prefix] if prefix else []
        if isinstance(node, dict):
            for key, value in node.items():
                found += paths(value, (*prefix, key))
        return found

    @SETTINGS
    @given(st.lists(st.tuples(st.sampled_from(paths(layout())), VALUES), min_size=1,
                    max_size=3))
    def run(changes: list[tuple[tuple[str, ...], Any]]) -> None:
        broken = copy.deepcopy(layout())
        for path, value in changes:
            node = broken
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[path[-1]] = value
        assert_clear(app.raw("crm.activity.configurable.add", {
            "ownerTypeId": 2, "ownerId": deal_id, "fields": {}, "layout": broken}))

    run()
