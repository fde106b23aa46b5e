"""The settings page's changes that reach the portal: a review stage is never a final
stage (not offered, refused if sent), and a new label language relabels the status field
on the portal before the page says it is saved."""

from __future__ import annotations

import html
from typing import Any

from connector.storage.journal import Journal
from tests.support.card_tasks import STATUS_FIELD
from tests.webhooks.test_admin_pages import csrf_of, signed_in, site  # noqa: F401  (fixture)


def labels(site: Any, entity_id: str) -> dict[str, tuple[str, str]]:  # noqa: F811
    field = next(f for f in site.portal.emulator.state.user_fields.values()
                 if f.entity_id == entity_id and f.field_name == STATUS_FIELD)
    return {o["XML_ID"]: (o["ID"], o["VALUE"]) for o in field.items}


def test_final_stages_are_not_offered_and_are_refused(site: Any) -> None:  # noqa: F811
    session = signed_in(site)
    member = site.portal.member_id
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    assert 'value="EXECUTING"' in page
    assert 'value="WON"' not in page and 'value="LOSE"' not in page
    refused = session.post(f"{site.url}/admin/portals/{member}/settings", timeout=10, data={
        "csrf_token": csrf_of(page), "review_stage.0": "WON"})
    assert refused.status_code == 400
    assert "review_stage.0: 'WON' is a final stage (won or lost)" in html.unescape(refused.text)
    assert site.stored().settings == {}
    assert Journal(site.storage.engine).rows(event="SETTINGS_CHANGED") == []


def test_choosing_italian_relabels_the_status_field(site: Any) -> None:  # noqa: F811
    before = labels(site, "CRM_DEAL")
    session = signed_in(site)
    member = site.portal.member_id
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    saved = session.post(f"{site.url}/admin/portals/{member}/settings", timeout=10, data={
        "csrf_token": csrf_of(page), "language": "it", "review_stage.0": "EXECUTING"})
    assert saved.status_code == 200 and "Settings saved." in saved.text
    for entity_id in ("CRM_DEAL", "CRM_LEAD"):
        after = labels(site, entity_id)
        assert after["CONTROL_WAITING"][1] == "Revisione in sospeso"
        assert after["EXPIRED"][1] == "Posticipato"
    assert {k: v[0] for k, v in labels(site, "CRM_DEAL").items()} == \
        {k: v[0] for k, v in before.items()}
    row = Journal(site.storage.engine).rows(event="SETTINGS_CHANGED")[0]
    assert row["detail"]["portal"]["relabelled"] == [f"deal.{STATUS_FIELD}",
                                                     f"lead.{STATUS_FIELD}"]
    assert site.stored().settings["review_stage"] == {"0": "EXECUTING"}


def test_the_settings_page_says_whether_the_automation_rules_are_offered(
        site: Any) -> None:  # noqa: F811
    session = signed_in(site)
    member = site.portal.member_id
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    assert "automation rules are in the automation designer" in html.unescape(page)

    site.storage.portals.set_robots(member, {"state": "skipped",
                                             "reason": "the portal did not grant the bizproc "
                                                       "scope"})
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    assert ("automation rules are not offered: the portal did not grant the bizproc scope"
            in html.unescape(page))
