"""The admin pages over real HTTP: who may enter, CSRF, the log, an event, settings, and
how they speak: titles and names beside ids, status labels in their badge colours."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import requests
from sqlalchemy import event, insert

from connector.rest.call_log import CallRecord
from connector.rest.rate_budget import DatabaseRateBudget
from connector.storage.journal import Journal
from connector.storage.rest_state import RestCallStore
from connector.storage.schema import journal
from connector.storage.snapshots import SnapshotStore
from mappers.bindings import DEAL, CrmRef
from tests.support.stack import CLIENT_SECRET, taskbridge_for

ADMIN = "staff-token-for-tests"


@pytest.fixture
def site(portal: Any, tmp_path: Any, secret_key: str) -> Any:
    url = f"sqlite:///{tmp_path / 'tb.sqlite3'}"
    with taskbridge_for(portal, url, secret_key, admin_token=ADMIN) as running:
        running.install()
        yield running


def dead_event(site: Any, key: str = "deal:12") -> int:
    stored = site.stored()
    with site.storage.engine.begin() as conn:
        row_id = conn.execute(insert(journal).values(
            portal_id=stored.id, member_id=stored.member_id, received_at=stored.installed_at,
            source="online", event="ONCRMDEALUPDATE", object_type="deal",
            object_id=key.split(":")[1], object_key=key, payload={"auth": {
                "access_token": stored.access_token}}, dedupe_key=key, state="dead",
            attempts=8, error="crm.deal.update: QUERY_LIMIT_EXCEEDED",
            detail={"decisions": [{"task_id": 7, "change": "viewed", "previous": "CREATED",
                                   "desired": "VIEWED", "status": "VIEWED", "outcome": "write",
                                   "rule": "§3 viewed", "reason": "responsible opened it"}],
                    "outcome": "error"},
        ).returning(journal.c.id)).scalar_one()
    RestCallStore(site.storage.engine).record(
        CallRecord(portal=stored.member_id, method="crm.deal.update", duration=0.25,
                   http_status=503, error_code="QUERY_LIMIT_EXCEEDED", retries=3,
                   params={"auth": "x", "id": 12}), journal_id=row_id, portal_id=stored.id)
    return row_id


def signed_in(site: Any) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{site.url}/admin/login", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = session.post(f"{site.url}/admin/login", timeout=10,
                          data={"csrf_token": csrf, "token": ADMIN, "next": "/admin/"})
    assert answer.status_code == 200 and answer.url.endswith("/admin/")
    return session


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_without_an_admin_token_the_pages_refuse_with_a_reason(taskbridge: Any) -> None:
    answer = requests.get(f"{taskbridge.url}/admin/", timeout=10)
    assert answer.status_code == 503
    assert "TASKBRIDGE_ADMIN_TOKEN is not set" in answer.text


def test_a_wrong_bearer_token_is_refused_and_the_right_one_enters(site: Any) -> None:
    wrong = requests.get(f"{site.url}/admin/", headers={"Authorization": "Bearer nope",
                                                       "Accept": "application/json"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_admin_token"
    right = requests.get(f"{site.url}/admin/", headers={"Authorization": f"Bearer {ADMIN}"},
                         timeout=10)
    assert right.status_code == 200 and 'id="log"' in right.text


def test_anonymous_visitors_are_sent_to_sign_in(site: Any) -> None:
    answer = requests.get(f"{site.url}/admin/events/1", timeout=10)
    assert answer.url.endswith("/admin/login?next=/admin/events/1")


def test_a_wrong_token_or_a_missing_csrf_token_does_not_sign_in(site: Any) -> None:
    session = requests.Session()
    csrf = csrf_of(session.get(f"{site.url}/admin/login", timeout=10).text)
    wrong = session.post(f"{site.url}/admin/login", data={"csrf_token": csrf, "token": "x"},
                         timeout=10)
    assert wrong.status_code == 401
    forged = requests.post(f"{site.url}/admin/login", data={"token": ADMIN}, timeout=10)
    assert forged.status_code == 400 and "did not come from this site" in forged.text


def test_the_event_page_shows_decisions_calls_and_no_secret(site: Any) -> None:
    row_id = dead_event(site)
    page = signed_in(site).get(f"{site.url}/admin/events/{row_id}", timeout=10).text
    assert "responsible opened it" in page and "§3 viewed" in page
    assert "crm.deal.update" in page and "QUERY_LIMIT_EXCEEDED" in page
    assert site.stored().access_token not in page


def test_replay_needs_the_csrf_token_then_queues_the_event(site: Any) -> None:
    row_id = dead_event(site)
    session = signed_in(site)
    forged = session.post(f"{site.url}/admin/events/{row_id}/replay", timeout=10)
    assert forged.status_code == 400
    page = session.get(f"{site.url}/admin/events/{row_id}", timeout=10).text
    done = session.post(f"{site.url}/admin/events/{row_id}/replay", timeout=10,
                        data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200 and "Queued again: 1" in done.text
    assert Journal(site.storage.engine).rows(id=row_id)[0]["state"] == "pending"


def test_filter_replay_and_exports_follow_the_filter(site: Any) -> None:
    dead_event(site, "deal:12")
    dead_event(site, "deal:13")
    session = signed_in(site)
    csv_text = session.get(f"{site.url}/admin/export.csv?item=D_12", timeout=10).text
    assert csv_text.count("deal:12") == 1 and "deal:13" not in csv_text
    exported = session.get(f"{site.url}/admin/export.json?outcome=dead", timeout=10).json()
    assert [row["object"] for row in exported] == ["deal:13", "deal:12"]
    page = session.get(f"{site.url}/admin/?item=D_13", timeout=10).text
    answer = session.post(f"{site.url}/admin/replay", timeout=10, data={
        "csrf_token": csrf_of(page), "item": "deal:13"})
    assert "Queued again: 1" in answer.text
    assert Journal(site.storage.engine).count(state="dead") == 1


def test_pages_speak_italian_when_asked(site: Any) -> None:
    page = signed_in(site).get(f"{site.url}/admin/?lang=it", timeout=10).text
    assert "Registro" in page and 'lang="it"' in page


def test_settings_offer_the_portals_real_stages_and_save_to_the_log(site: Any) -> None:
    category = site.portal.emulator.add_deal_category("Wholesale")
    session = signed_in(site)
    member = site.portal.member_id
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    assert "Wholesale" in page and f'name="review_stage.{category}"' in page
    stage = f"C{category}:PREPARATION"
    assert stage in page
    saved = session.post(f"{site.url}/admin/portals/{member}/settings", timeout=10, data={
        "csrf_token": csrf_of(page), "close_tasks_on_deal_close": "1",
        f"review_stage.{category}": stage, "language": "it"})
    assert saved.status_code == 200 and "Settings saved." in saved.text
    assert site.stored().settings == {
        "close_tasks_on_lead_convert": False, "close_tasks_on_deal_close": True,
        "review_stage": {str(category): stage}, "language": "it"}
    row = Journal(site.storage.engine).rows(event="SETTINGS_CHANGED")[0]
    assert (row["source"], row["state"]) == ("admin", "done")
    assert row["detail"]["old"]["close_tasks_on_lead_convert"] is True
    assert row["detail"]["new"]["review_stage"] == {str(category): stage}


def test_a_head_request_to_the_settings_page_changes_nothing(site: Any) -> None:
    """HEAD is answered as a GET: only a POST saves (a staff token needs no CSRF token)."""
    before = site.stored().settings
    member = site.portal.member_id
    answer = requests.head(f"{site.url}/admin/portals/{member}/settings", timeout=10,
                           headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 200
    assert site.stored().settings == before
    assert Journal(site.storage.engine).rows(event="SETTINGS_CHANGED") == []


def test_a_stage_of_another_funnel_is_refused(site: Any) -> None:
    session = signed_in(site)
    member = site.portal.member_id
    page = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    refused = session.post(f"{site.url}/admin/portals/{member}/settings", timeout=10, data={
        "csrf_token": csrf_of(page), "review_stage.0": "C9:NOPE"})
    assert refused.status_code == 400
    assert "review_stage.0: 'C9:NOPE' is not a stage of that funnel" in \
        html.unescape(refused.text)


def test_no_output_holds_a_secret_the_portal_issued(site: Any) -> None:
    row_id = dead_event(site)
    stored = site.stored()
    app = site.portal.emulator.app("local.taskbridge.0001")
    secrets = [stored.access_token, stored.refresh_token, app.application_token,
               CLIENT_SECRET]
    session = signed_in(site)
    outputs = [session.get(f"{site.url}{path}", timeout=10).text for path in (
        "/admin/", f"/admin/events/{row_id}", f"/admin/portals/{stored.id}/items/deal:12",
        "/admin/export.csv", "/admin/export.json", f"/admin/portals/{stored.member_id}/settings",
    )]
    outputs.append(requests.get(f"{site.url}/metrics", timeout=10).text)
    for secret in secrets:
        assert secret and all(secret not in text for text in outputs)


def _cells(page: str, section: str) -> list[list[str]]:
    body = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return [[html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body) if "<td>" in row]


def _tasks_on_three_deals(site: Any) -> list[int]:
    """Three deals, a task on each, all handled by the worker in one pass."""
    user = site.portal.as_user(1)
    tasks = [user.create_task(f"D_{user.create_deal(f'Deal {n}')}", title=f"Task {n}",
                              responsible=1) for n in range(3)]
    site.drain()
    return tasks


def test_every_event_of_a_pass_shows_the_rest_calls_it_shared(site: Any) -> None:
    tasks = _tasks_on_three_deals(site)
    added = [Journal(site.storage.engine).rows(event="ONTASKADD", object_key=f"task:{t}")[0]
             for t in tasks]
    handled = added[-1]["detail"]["pass"]
    assert handled["events"] > 1 and handled["first_journal_id"] != added[-1]["id"]
    assert RestCallStore(site.storage.engine).for_journal(added[-1]["id"]) == []
    session = signed_in(site)
    page = session.get(f"{site.url}/admin/events/{added[-1]['id']}", timeout=10).text
    first = session.get(f"{site.url}/admin/events/{handled['first_journal_id']}",
                        timeout=10).text
    calls = [row[1:] for row in _cells(page, "rest-calls")]
    assert calls and calls == [row[1:] for row in _cells(first, "rest-calls")]
    assert [calls[-1][0], calls[-1][3], calls[-1][4]] == ["batch", "ok", "0"]
    assert f"served {handled['events'] - 1} other events too" in html.unescape(page)


def _decided(site: Any, task: int, desired: str) -> int:
    """The journal row of `task` whose processing decided on `desired`."""
    rows = Journal(site.storage.engine).rows(object_key=f"task:{task}")
    return next(row["id"] for row in rows if any(
        d["desired"] == desired for d in (row["detail"] or {}).get("decisions") or []))


def test_the_event_page_says_why_each_status_was_decided_in_the_page_language(
    site: Any,
) -> None:
    portal = site.portal
    manager = portal.add_user("Maria", "Rossi")
    colleague = portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                               responsible=colleague)
    site.drain()
    portal.as_user(colleague).start_task(task)
    site.drain()
    portal.as_user(colleague).pause_task(task)
    site.drain()
    portal.as_user(manager).update_task(task, DESCRIPTION="Also the annex")
    site.drain()
    session = signed_in(site)

    def reasons(row_id: int, lang: str) -> list[str]:
        page = session.get(f"{site.url}/admin/events/{row_id}?lang={lang}", timeout=10).text
        return [row[-1] for row in _cells(page, "decisions")]

    paused = _decided(site, task, "WAITING")
    # The responsible's own action is a sign they saw it, too late to matter.
    assert reasons(paused, "en") == [
        "ignored: In progress → Viewed is not allowed (transition rule); "
        "the responsible viewed it",
        "In progress → On hold: real status became 2 (pending)"]
    assert reasons(paused, "it")[-1] == "In corso → In sospeso: l'incarico è tornato in attesa"
    edited = _decided(site, task, "UPDATED")
    assert reasons(edited, "en") == [
        "ignored: the actor is the deal's responsible (actor rule); "
        "description, people, checklist, group or other fields changed"]
    assert reasons(edited, "it")[0].startswith(
        "ignorata: chi ha agito è il responsabile della trattativa (regola dell'autore)")
    stored = Journal(site.storage.engine).rows(id=paused)[0]["detail"]["decisions"]
    assert stored[-1]["reason"] == "IN_PROGRESS → WAITING: real status became 2 (pending)"
    history = session.get(f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}"
                          "?lang=it", timeout=10).text
    assert "In corso → In sospeso: l&#39;incarico è tornato in attesa" in history


def test_refusals_speak_italian_on_italian_pages(site: Any) -> None:
    [task] = _tasks_on_three_deals(site)[:1]
    [done] = Journal(site.storage.engine).rows(event="ONTASKADD", object_key=f"task:{task}")
    session = signed_in(site)
    listed = session.get(f"{site.url}/admin/?lang=it&outcome=bogus", timeout=10)
    assert listed.status_code == 400
    assert "esito: &#39;bogus&#39; non è uno tra" in listed.text
    page = session.get(f"{site.url}/admin/events/{done['id']}", timeout=10).text
    refused = session.post(f"{site.url}/admin/events/{done['id']}/replay", timeout=10,
                           data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 409
    assert (f"l&#39;evento {done['id']} è done; si rieseguono solo gli eventi falliti "
            "o morti") in refused.text
    forged = session.post(f"{site.url}/admin/events/{done['id']}/replay", timeout=10)
    assert forged.status_code == 400 and "Il modulo è scaduto" in forged.text
    member = site.portal.member_id
    settings = session.get(f"{site.url}/admin/portals/{member}/settings", timeout=10).text
    wrong = session.post(f"{site.url}/admin/portals/{member}/settings", timeout=10, data={
        "csrf_token": csrf_of(settings), "review_stage.0": "C9:NOPE"})
    assert wrong.status_code == 400
    assert "review_stage.0: 'C9:NOPE' non è una fase di quella pipeline" in \
        html.unescape(wrong.text)
    anonymous = requests.get(f"{site.url}/admin/", timeout=10,
                             headers={"Authorization": "Bearer nope", "Accept-Language": "it"})
    assert anonymous.status_code == 401
    assert "Il token di amministrazione non è valido." in anonymous.text


# -- the pages speak as the portal does: titles, names, status labels and badges ------------

CODES = re.compile(r"\b(CREATED|VIEWED|UPDATED|IN_PROGRESS|WAITING|CONTROL_WAITING|"
                   r"DEADLINE_CHANGED|RESULT_ADDED|EXPIRED|FINISHED)\b")


def _visible(page: str) -> str:
    """The text a reader sees, spaces collapsed: tags, attributes and the stylesheet left
    out."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _section(page: str, element_id: str) -> str:
    return page.split(f'id="{element_id}"', 1)[1].split("</table>", 1)[0]


def _deal_with_a_started_task(site: Any, deal_title: str = "Fornitura uffici",
                              task_title: str = "Prepare the offer",
                              responsible: tuple[str, str] = ("Luca", "Bianchi"),
                              ) -> tuple[int, int, int]:
    """A manager's deal with a colleague's task, started: (colleague, deal, task)."""
    portal = site.portal
    manager = portal.add_user("Maria", "Rossi")
    colleague = portal.add_user(*responsible)
    deal = portal.as_user(manager).create_deal(deal_title, assigned_by=manager)
    task = portal.as_user(manager).create_task(f"D_{deal}", title=task_title,
                                               responsible=colleague)
    site.drain()
    portal.as_user(colleague).start_task(task)
    site.drain()
    return colleague, deal, task


def test_the_item_page_shows_titles_names_and_the_cards_badge_in_both_languages(
        site: Any) -> None:
    colleague, deal, _task = _deal_with_a_started_task(site)
    session = signed_in(site)
    item_url = f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}"
    english = session.get(f"{item_url}?lang=en", timeout=10).text
    assert "Fornitura uffici" in _section(english, "item-heading").split("</h1>")[0]
    tasks = _visible(_section(english, "item-tasks"))
    assert "Prepare the offer" in tasks and f"Luca Bianchi #{colleague}" in tasks
    assert "In progress" in tasks
    assert '<span id="card-badge"><span class="badge badge-primary" ' \
           'data-status="IN_PROGRESS">In progress</span>' in english
    history = _visible(_section(english, "item-history"))
    assert "Prepare the offer" in history and "Created, not viewed" in history
    assert not CODES.search(_visible(english))
    assert 'id="card-activity"' in english
    italian = session.get(f"{item_url}?lang=it", timeout=10).text
    assert '<span class="badge badge-primary" data-status="IN_PROGRESS">In corso</span>' \
        in italian
    italian_history = _visible(_section(italian, "item-history"))
    assert "Creato, non visualizzato" in italian_history and "applicato" in italian_history
    assert "applied" not in italian_history
    assert f"Luca Bianchi #{colleague}" in _visible(_section(italian, "item-tasks"))
    assert not CODES.search(_visible(italian))


def test_the_badge_leaves_the_item_page_when_the_item_has_no_open_task(site: Any) -> None:
    colleague, deal, task = _deal_with_a_started_task(site)
    site.portal.as_user(colleague).complete_task(task)
    site.drain()
    page = signed_in(site).get(
        f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}?lang=it",
        timeout=10).text
    assert '<span class="badge badge-success" data-status="FINISHED">Completato</span>' in \
        _section(page, "item-tasks")
    card = page.split('id="card-badge">', 1)[1].split("</p>", 1)[0]
    assert "badge-" not in card and "non ha attività aperte" in html.unescape(card)


def test_the_log_and_the_event_page_name_items_tasks_and_people(site: Any) -> None:
    colleague, deal, task = _deal_with_a_started_task(site)
    session = signed_in(site)
    listed = session.get(f"{site.url}/admin/?lang=en", timeout=10).text
    rows = {m[0]: _visible(m[1]) for m in re.findall(
        r'<tr data-id="(\d+)">(.*?)</tr>', listed, flags=re.S)}
    assert any(f"task:{task} Prepare the offer" in text for text in rows.values())
    assert any(f"deal:{deal} Fornitura uffici" in text for text in rows.values())
    started = _decided(site, task, "IN_PROGRESS")
    page = session.get(f"{site.url}/admin/events/{started}?lang=it", timeout=10).text
    shown = _visible(page)
    assert f"task:{task} Prepare the offer" in shown
    assert f"Responsabile dell'attività Luca Bianchi #{colleague}" in shown
    decisions = _visible(page.split('<section id="decisions">', 1)[1].split("</section>")[0])
    assert "Prepare the offer" in decisions and "In corso" in decisions
    assert not CODES.search(decisions)


def test_hostile_titles_and_names_are_shown_as_text(site: Any) -> None:
    _colleague, deal, task = _deal_with_a_started_task(
        site, deal_title='<script>alert("deal")</script>',
        task_title="<img src=x onerror=alert(1)>", responsible=("<b>Eve</b>", "&amp;"))
    session = signed_in(site)
    pages = [session.get(f"{site.url}{path}", timeout=10).text for path in (
        "/admin/", f"/admin/portals/{site.stored().id}/items/deal:{deal}",
        f"/admin/events/{_decided(site, task, 'IN_PROGRESS')}")]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "<b>Eve</b>" not in page
    assert "&lt;script&gt;alert(&#34;deal&#34;)&lt;/script&gt;" in pages[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp;amp;" in pages[1]


def test_titles_and_names_are_read_in_one_request_then_kept(site: Any) -> None:
    _colleague, deal, _task = _deal_with_a_started_task(site)
    session = signed_in(site)
    item_url = f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}"
    before = site.app_calls
    first = session.get(item_url, timeout=10).text
    assert site.app_calls - before == 1  # one batch: the deal's title, the people's names
    assert "Fornitura uffici" in first
    again = site.app_calls
    assert "Fornitura uffici" in session.get(item_url, timeout=10).text
    session.get(f"{site.url}/admin/", timeout=10)
    assert site.app_calls == again


def test_a_portal_that_cannot_answer_leaves_the_ids_and_is_not_asked_again_at_once(
        site: Any) -> None:
    colleague, deal, _task = _deal_with_a_started_task(site)
    site.portal.set_faults(error_500_rate=1.0, methods=["batch"])
    session = signed_in(site)
    item_url = f"{site.url}/admin/portals/{site.stored().id}/items/deal:{deal}"
    page = session.get(item_url, timeout=10)
    assert page.status_code == 200
    assert "Prepare the offer" in page.text  # stored: no portal needed
    assert "Fornitura uffici" not in page.text and f"#{colleague}" in page.text
    site.portal.set_faults()
    before = site.app_calls
    again = session.get(item_url, timeout=10)
    assert again.status_code == 200 and "Fornitura uffici" not in again.text
    assert site.app_calls == before


def test_a_page_reads_its_task_titles_in_one_query(site: Any) -> None:
    tasks = _tasks_on_three_deals(site)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    session = signed_in(site)
    event.listen(site.storage.engine, "before_cursor_execute", seen)
    try:
        page = session.get(f"{site.url}/admin/", timeout=10).text
    finally:
        event.remove(site.storage.engine, "before_cursor_execute", seen)
    assert all(f"Task {n}" in page for n in range(len(tasks)))
    assert sum("task_snapshots" in statement for statement in statements) == 1


def test_a_leads_page_names_the_lead_and_its_overdue_task_in_red(site: Any) -> None:
    portal = site.portal
    colleague = portal.add_user("Luca", "Bianchi")
    lead = portal.as_user(1).create_lead("Richiesta preventivo")
    task = portal.as_user(1).create_task(f"L_{lead}", title="Call back",
                                         responsible=colleague,
                                         deadline="2020-01-01T10:00:00+00:00")
    site.drain()
    assert site.task_status(task) == "EXPIRED"
    page = signed_in(site).get(
        f"{site.url}/admin/portals/{site.stored().id}/items/lead:{lead}?lang=it",
        timeout=10).text
    assert "Richiesta preventivo" in _section(page, "item-heading").split("</h1>")[0]
    assert '<span class="badge badge-failure" data-status="EXPIRED">Posticipato</span>' in \
        _section(page, "item-tasks")
    assert "Call back" in _visible(_section(page, "item-tasks"))


def test_a_page_leaves_a_busy_portals_request_budget_to_the_worker(site: Any) -> None:
    _colleague, deal, _task = _deal_with_a_started_task(site)
    stored = site.stored()
    DatabaseRateBudget(site.storage.engine, stored.member_id, stored.rate_drain,
                       stored.rate_burst).saturate()
    before = site.app_calls
    page = signed_in(site).get(
        f"{site.url}/admin/portals/{stored.id}/items/deal:{deal}", timeout=10)
    assert page.status_code == 200 and "Prepare the offer" in page.text
    assert "Fornitura uffici" not in page.text
    assert site.app_calls == before


def test_no_badge_is_shown_while_the_item_has_no_activity_of_taskbridges(site: Any) -> None:
    _colleague, deal, _task = _deal_with_a_started_task(site)
    stored = site.stored()
    # As if the card's write had failed: TaskBridge holds no activity for the deal.
    SnapshotStore(site.storage.engine).save_cards(stored.id, {CrmRef(DEAL, deal): (None, "")})
    page = signed_in(site).get(
        f"{site.url}/admin/portals/{stored.id}/items/deal:{deal}?lang=en", timeout=10).text
    card = page.split('id="card-badge">', 1)[1].split("</p>", 1)[0]
    assert "badge-" not in card and "No badge" in card
    assert '<span class="badge badge-primary" data-status="IN_PROGRESS">In progress</span>' \
        in page.split('id="item-status">', 1)[1].split("</p>", 1)[0]
