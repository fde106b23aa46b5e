"""Reading a portal's tasks again from its settings page, over real HTTP: the button
queues a backfill (CSRF-checked), the page and its JSON show the progress the worker
records, and hostile or misplaced requests get a 4xx with a reason."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import pytest
import requests

from connector.sync.backfill import BACKFILL_EVENT, backfill_progress
from emulator.lossy_delivery import lose_deliveries
from tests.support.card_tasks import status_code
from tests.webhooks.test_admin_pages import ADMIN, csrf_of, signed_in, site  # noqa: F401

JSON = {"Accept": "application/json"}


def settings_url(site: Any, member_id: str | None = None) -> str:  # noqa: F811
    return f"{site.url}/admin/portals/{member_id or site.portal.member_id}/settings"


def backfill_url(site: Any, member_id: str | None = None) -> str:  # noqa: F811
    return f"{site.url}/admin/portals/{member_id or site.portal.member_id}/backfill"


def a_deal_taskbridge_never_heard_of(site: Any) -> int:  # noqa: F811
    """A deal with a task in progress whose events were all lost on the way."""
    user = site.portal.as_user(1)
    lost = lose_deliveries(site.portal.emulator, 1.0)
    try:
        deal = user.create_deal("Fornitura uffici")
        task = user.create_task(f"D_{deal}", title="Prepare the offer", responsible=1)
        user.start_task(task)
    finally:
        lost.stop()
    return deal


def test_the_button_queues_a_backfill_and_the_page_shows_its_progress(
        site: Any) -> None:  # noqa: F811
    site.drain()  # what the install queued is done
    deal = a_deal_taskbridge_never_heard_of(site)
    assert status_code(site.portal, "deal", deal) == ""
    session = signed_in(site)
    page = session.get(settings_url(site), timeout=10).text
    assert 'id="backfill-button"' in page and "Read existing tasks again" in page
    assert 'id="backfill-progress"' in page
    queued = session.post(f"{backfill_url(site)}", data={"csrf_token": csrf_of(page)},
                          headers={"X-Request-ID": "admin-backfill-1"}, timeout=10,
                          allow_redirects=False)
    assert queued.status_code == 303
    # The sync log names the request that queued it.
    [row] = site.journal.rows(event=BACKFILL_EVENT, state="pending")
    assert row["correlation_id"] == "admin-backfill-1"
    assert queued.headers["Location"].endswith(
        f"/admin/portals/{site.portal.member_id}/settings?backfill=queued#backfill")
    shown = session.get(settings_url(site) + "?backfill=queued", timeout=10).text
    assert 'id="backfill-queued"' in shown
    assert 'data-state="queued"' in shown
    assert 'id="backfill-button" disabled' in shown  # one backfill at a time
    assert session.get(f"{backfill_url(site)}.json", timeout=10).json()["state"] == "queued"

    site.drain()

    progress = backfill_progress(site.storage, site.stored().id)
    assert progress is not None and progress.state == "done"
    answer = session.get(f"{backfill_url(site)}.json", timeout=10)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json() == {
        "state": "done", "items_done": progress.items_done,
        "items_total": progress.items_total, "items_left": progress.items_left,
        "tasks_seen": progress.tasks_seen, "requests_spent": progress.requests_spent,
        "eta_seconds": answer.json()["eta_seconds"],
        "started_at": progress.started_at.isoformat(timespec="seconds"),
        "finished_at": progress.finished_at.isoformat(timespec="seconds"),
        "error": None,
    }
    page = html.unescape(session.get(settings_url(site), timeout=10).text)
    assert f'<td id="backfill-done">{progress.items_done}</td>' in page
    assert f'<td id="backfill-requests">{progress.requests_spent}</td>' in page
    assert '<td id="backfill-state">done</td>' in page
    assert status_code(site.portal, "deal", deal) == "IN_PROGRESS"


def test_the_progress_is_none_before_any_backfill_and_in_italian_on_italian_pages(
        site: Any) -> None:  # noqa: F811
    session = signed_in(site)
    answer = session.get(f"{backfill_url(site)}.json", timeout=10).json()
    shown = backfill_progress(site.storage, site.stored().id)
    assert answer["state"] == (shown.state if shown else "none")
    page = session.get(settings_url(site) + "?lang=it", timeout=10).text
    assert "Rileggi le attività esistenti" in html.unescape(page)


def test_the_button_needs_its_csrf_token(site: Any) -> None:  # noqa: F811
    session = signed_in(site)
    before = backfill_progress(site.storage, site.stored().id)
    for form in ({}, {"csrf_token": "forged"}):
        answer = session.post(backfill_url(site), data=form, headers=JSON, timeout=10,
                              allow_redirects=False)
        assert answer.status_code == 400 and answer.json()["error"] == "csrf_failed"
    assert backfill_progress(site.storage, site.stored().id) == before


def test_an_uninstalled_portal_is_not_read_again(site: Any) -> None:  # noqa: F811
    session = signed_in(site)
    csrf = csrf_of(session.get(f"{site.url}/admin/", timeout=10).text)
    site.storage.portals.mark_uninstalled(site.portal.member_id)
    before = backfill_progress(site.storage, site.stored().id)
    answer = session.post(backfill_url(site), data={"csrf_token": csrf}, headers=JSON,
                          timeout=10, allow_redirects=False)
    assert answer.status_code == 409
    assert answer.json() == {"status": "error", "error": "backfill_not_installed",
                             "error_description": "The portal is not installed: nothing "
                                                  "can be read from it."}
    assert backfill_progress(site.storage, site.stored().id) == before


@pytest.mark.parametrize("member_id", ["no-such-portal", "%00", "x" * 3000, "..",
                                      "a\u2028b", "1 OR 1=1"])
def test_a_hostile_portal_in_the_path_is_a_404_with_a_reason(
        site: Any, member_id: str) -> None:  # noqa: F811
    session = signed_in(site)
    csrf = csrf_of(session.get(f"{site.url}/admin/", timeout=10).text)
    target = f"{site.url}/admin/portals/{quote(member_id, safe='')}/backfill"
    read = session.get(target + ".json", timeout=10)
    assert read.status_code == 404 and read.json()["error"] == "not_found"
    started = session.post(target, data={"csrf_token": csrf}, headers=JSON, timeout=10)
    assert started.status_code == 404 and started.json()["error"] == "not_found"


def test_only_post_starts_a_backfill(site: Any) -> None:  # noqa: F811
    answer = requests.get(backfill_url(site), timeout=10,
                          headers={**JSON, "Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 405
