"""The status field's labels follow the portal's label language: a setup refresh (after an
app update, or a re-install) relabels options whose label drifted, keeping their IDs, and
finds nothing to do the next time."""

from __future__ import annotations

from connector.portals.install import refresh_setup
from tests.scenarios import conftest as scenario
from tests.support.card_tasks import STATUS_FIELD
from tests.support.stack import TaskBridge

installed = scenario.installed


def options(stack: TaskBridge, entity_id: str) -> dict[str, tuple[str, str]]:
    field = next(f for f in stack.portal.emulator.state.user_fields.values()
                 if f.entity_id == entity_id and f.field_name == STATUS_FIELD)
    return {o["XML_ID"]: (o["ID"], o["VALUE"]) for o in field.items}


def test_a_setup_refresh_labels_the_field_in_the_chosen_language(installed: TaskBridge) -> None:
    before = options(installed, "CRM_LEAD")
    # Stored without going through a settings change: the portal still shows English.
    installed.storage.portals.update_settings(installed.portal.member_id, {"language": "it"})

    report = refresh_setup(installed.storage, installed.settings, installed.stored())

    assert report.relabelled_fields == [f"deal.{STATUS_FIELD}", f"lead.{STATUS_FIELD}"]
    after = options(installed, "CRM_LEAD")
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert after["RESULT_ADDED"][1] == "Riepilogo incarico"
    assert options(installed, "CRM_DEAL")["UPDATED"][1] == "Aggiornato"

    again = refresh_setup(installed.storage, installed.settings, installed.stored())
    assert (again.relabelled_fields, again.requests) == ([], 1)
