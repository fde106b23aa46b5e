"""The sync log in headless Chromium: a support user finds a deal's dead event, reads why,
replays it and sees it succeed; reads a deal's page as the portal speaks, in English and
Italian (titles, people, status labels in their badge colours); a portal admin inside
Bitrix24 changes a setting and cannot reach another portal's data, and reads the portal's
tasks again, watching the progress. Screenshots go to var/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from connector.rest.call_log import CallRecord
from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.storage.portals import Installation
from connector.storage.schema import journal
from connector.sync.backfill import backfill_progress
from connector.sync.worker import Worker
from emulator.lossy_delivery import lose_deliveries
from tests.conftest import REQUIRED_ENV, required
from tests.support.card_tasks import status_code
from tests.support.stack import CLIENT_ID, taskbridge_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "browser"
ADMIN = "browser-admin-token"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if required("chromium") and not CHROMIUM.exists():
    raise RuntimeError(f"{REQUIRED_ENV} says this run needs Chromium, and {CHROMIUM} is missing")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at "
                       "/usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(portal: Any, tmp_path: Path, secret_key: str) -> Iterator[Any]:
    url = f"sqlite:///{tmp_path / 'tb.sqlite3'}"
    with taskbridge_for(portal, url, secret_key, admin_token=ADMIN) as running:
        running.install()
        yield running


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def deal_event_gone_dead(site: Any) -> tuple[int, int, int]:
    """A real deal closing through the receiver and the worker that dies in an outage:
    the portal answers 500 to its writes once its tasks are read, and one try is all."""
    user = site.portal.as_user(1)
    deal = user.create_deal("Fornitura uffici")
    user.create_deal("Another deal")
    task = user.create_task(f"D_{deal}", title="Prepare the offer", responsible=1)
    site.drain()

    def outage_after_the_fetch(record: CallRecord, _row: object) -> None:
        if "tasks.task.list" in (record.params.get("cmd") or {}).values():
            site.portal.set_faults(error_500_rate=1.0, methods=["batch"])

    user.move_deal(deal, "WON")
    assert site.portal.sender.wait_idle(timeout=10)
    settings = site.settings.model_copy(update={"worker_max_attempts": 1})
    once = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01)
    Worker(site.storage, settings, on_call=outage_after_the_fetch,
           client_factory=lambda portal, sink: PortalClient.for_portal(
               site.storage, settings, portal.member_id, policy=once, on_call=sink),
           ).run_once()
    site.portal.set_faults()
    [row_id] = [row["id"] for row in site.journal.rows(object_key=f"deal:{deal}")
                if row["state"] == "dead"]
    return deal, task, row_id


def test_support_finds_reads_and_replays_a_dead_event(site: Any, browser: Any) -> None:
    deal, task, row_id = deal_event_gone_dead(site)
    page = browser.new_context().new_page()
    page.goto(f"{site.url}/admin/")
    page.fill("input[name=token]", ADMIN)
    page.click("#sign-in")
    page.wait_for_selector("#log")
    page.fill("input[name=item]", f"D_{deal}")
    page.click("#apply-filter")
    page.wait_for_url(f"**/admin/?*item=D_{deal}*")
    shown = set(page.locator("#log tbody tr td:nth-child(5) .id").all_inner_texts())
    assert f"deal:{deal}" in shown and shown <= {f"deal:{deal}", f"task:{task}"}
    titles = set(page.locator("#log tbody tr td:nth-child(5) .title").all_inner_texts())
    assert titles == {"Fornitura uffici", "Prepare the offer"}
    shot(page, "1-log-filtered-to-deal")
    page.click(f"#log tr[data-id='{row_id}'] a")
    page.wait_for_selector("#decisions")
    assert "Viewed → Completed: closed automatically with its CRM item" in \
        page.inner_text("#decisions")
    calls = page.inner_text("#rest-calls")
    assert "batch" in calls and "500" in calls
    assert page.inner_text("#entry-state") == "dead"
    shot(page, "2-dead-event")
    page.click("#replay-button")
    page.wait_for_selector("#notice")
    assert page.inner_text("#entry-state") == "pending"
    assert "staff" in page.inner_text("main")  # who replayed it, in the history
    site.drain()
    page.reload()
    page.wait_for_function("document.querySelector('#entry-state').textContent === 'done'")
    shot(page, "3-replayed-and-done")


def test_a_portal_admin_changes_a_setting_and_sees_only_their_portal(
        site: Any, browser: Any) -> None:
    other = site.storage.portals.save(Installation(
        member_id="other-member", domain="other.example",
        client_endpoint="https://other.example/rest/"))
    with site.storage.engine.begin() as conn:
        foreign = conn.execute(insert(journal).values(
            portal_id=other.id, member_id="other-member", received_at=other.installed_at,
            source="online", event="ONTASKADD", object_key="task:1", object_type="task",
            object_id="1", payload={}, dedupe_key="x", state="dead", attempts=1,
        ).returning(journal.c.id)).scalar_one()
    emulator = site.portal.emulator
    context = browser.new_context()
    opened = context.request.post(f"{site.url}/bitrix/placement?DOMAIN=x&LANG=en", form={
        "AUTH_ID": emulator.issue_tokens(CLIENT_ID, 1).access_token, "AUTH_EXPIRES": "3600",
        "member_id": emulator.member_id, "status": "L", "PLACEMENT": "DEFAULT",
        "PLACEMENT_OPTIONS": "{}"})
    assert opened.ok
    page = context.new_page()
    page.goto(f"{site.url}/admin/settings")
    page.wait_for_selector("#settings-form")
    page.uncheck("input[name=close_tasks_on_lead_convert]")
    page.select_option("select[name=language]", "it")
    page.click("#save-settings")
    page.wait_for_selector("#saved")
    shot(page, "4-portal-admin-settings-saved")
    assert site.stored().settings["close_tasks_on_lead_convert"] is False
    page.goto(f"{site.url}/admin/")
    assert "SETTINGS_CHANGED" in page.inner_text("#log")
    assert page.locator(f"#log tr[data-id='{foreign}']").count() == 0
    page.goto(f"{site.url}/admin/events/{foreign}")
    assert page.inner_text("#message") == "Not found."
    page.goto(f"{site.url}/admin/portals/other-member/settings")
    assert "belongs to another portal" in page.inner_text("#message")
    shot(page, "5-other-portal-refused")


def test_a_portal_admin_reads_the_tasks_again_and_watches_the_progress_refresh(
        site: Any, browser: Any) -> None:
    site.drain()  # what the install queued is done
    user = site.portal.as_user(1)
    lost = lose_deliveries(site.portal.emulator, 1.0)  # TaskBridge hears nothing of it
    try:
        deal = user.create_deal("Fornitura uffici")
        user.start_task(user.create_task(f"D_{deal}", title="Prepare the offer",
                                         responsible=1))
    finally:
        lost.stop()
    assert status_code(site.portal, "deal", deal) == ""
    emulator = site.portal.emulator
    context = browser.new_context()
    opened = context.request.post(f"{site.url}/bitrix/placement?DOMAIN=x&LANG=en", form={
        "AUTH_ID": emulator.issue_tokens(CLIENT_ID, 1).access_token, "AUTH_EXPIRES": "3600",
        "member_id": emulator.member_id, "status": "L", "PLACEMENT": "DEFAULT",
        "PLACEMENT_OPTIONS": "{}"})
    assert opened.ok
    page = context.new_page()
    page.goto(f"{site.url}/admin/settings")
    page.wait_for_selector("#backfill-progress")
    assert page.inner_text("#backfill-button") == "Read existing tasks again"
    page.click("#backfill-button")
    page.wait_for_selector("#backfill-queued")
    assert page.inner_text("#backfill-state") == "queued"
    assert page.is_disabled("#backfill-button")
    shot(page, "6-backfill-queued")
    site.drain()  # the worker runs it; the page asks for the numbers by itself
    page.wait_for_function(
        "document.querySelector('#backfill-state').textContent === 'done'", timeout=15000)
    progress = backfill_progress(site.storage, site.stored().id)
    assert page.inner_text("#backfill-done") == str(progress.items_done)
    assert page.inner_text("#backfill-left") == "0"
    assert page.inner_text("#backfill-requests") == str(progress.requests_spent)
    assert page.is_enabled("#backfill-button")
    shot(page, "7-backfill-done")
    assert status_code(site.portal, "deal", deal) == "IN_PROGRESS"


# The badge colours of the admin stylesheet (background), by badge type.
BADGE_BACKGROUNDS = {"primary": "rgb(220, 241, 253)", "success": "rgb(227, 245, 200)",
                     "secondary": "rgb(234, 235, 237)"}
ITEM_PAGE = {
    "en": {"started": "In progress", "done": "Completed", "created": "Created, not viewed",
           "card": "On the kanban card", "responsible": "Responsible"},
    "it": {"started": "In corso", "done": "Completato", "created": "Creato, non visualizzato",
           "card": "Sulla scheda kanban", "responsible": "Responsabile"},
}


def badge_look(locator: Any) -> tuple[str, str]:
    """A badge's text and its computed background colour."""
    return locator.inner_text(), locator.evaluate(
        "element => getComputedStyle(element).backgroundColor")


@pytest.mark.parametrize("lang", ["en", "it"])
def test_the_item_page_shows_titles_people_and_badges_as_the_portal_does(
        site: Any, browser: Any, lang: str) -> None:
    portal = site.portal
    manager = portal.add_user("Maria", "Rossi")
    colleague = portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("Fornitura uffici", assigned_by=manager)
    signed = portal.as_user(manager).create_task(f"D_{deal}", title="Sign the NDA",
                                                 responsible=manager)
    offer = portal.as_user(manager).create_task(f"D_{deal}", title="Prepare the offer",
                                                responsible=colleague)
    site.drain()
    portal.as_user(manager).complete_task(signed)
    site.drain()
    portal.as_user(colleague).start_task(offer)
    site.drain()
    words = ITEM_PAGE[lang]
    page = browser.new_context().new_page()
    page.goto(f"{site.url}/admin/login?lang={lang}")
    page.fill("input[name=token]", ADMIN)
    page.click("#sign-in")
    page.wait_for_selector("#log")
    page.goto(f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}?lang={lang}")
    page.wait_for_selector("#item-tasks")
    assert page.inner_text("#item-heading .title") == "Fornitura uffici"
    assert words["card"] in page.inner_text("main")
    # The card shows the item's status (the task changed last) in its badge colour.
    assert badge_look(page.locator("#card-badge .badge")) == (
        words["started"], BADGE_BACKGROUNDS["primary"])
    assert badge_look(page.locator("#item-status .badge")) == (
        words["started"], BADGE_BACKGROUNDS["primary"])
    offer_row = page.locator(f"#item-tasks tr[data-task='{offer}']")
    assert offer_row.locator(".title").inner_text() == "Prepare the offer"
    assert offer_row.locator(".person").inner_text() == "Luca Bianchi"
    assert badge_look(offer_row.locator(".badge")) == (
        words["started"], BADGE_BACKGROUNDS["primary"])
    signed_row = page.locator(f"#item-tasks tr[data-task='{signed}']")
    assert signed_row.locator(".title").inner_text() == "Sign the NDA"
    assert signed_row.locator(".person").inner_text() == "Maria Rossi"
    assert badge_look(signed_row.locator(".badge")) == (
        words["done"], BADGE_BACKGROUNDS["success"])
    assert words["responsible"] in page.inner_text("#item-tasks thead")
    created = page.locator("#item-history .badge[data-status='CREATED']").first
    assert badge_look(created) == (words["created"], BADGE_BACKGROUNDS["secondary"])
    assert "IN_PROGRESS" not in page.inner_text("main")
    assert "FINISHED" not in page.inner_text("main")
    shot(page, f"8-item-page-{lang}")
