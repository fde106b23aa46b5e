"""`taskbridge demo`: the article's eight scenarios, played against the bundled portal.

It starts the emulated portal (limits on: 2 requests/s, bucket 50) and TaskBridge's web
app on loopback, installs TaskBridge the way a portal admin does (the install page
POST, verified through the portal's OAuth server), plays each scenario as the portal's
users, lets the worker process what the portal sent, and prints what each task and deal
shows, the REST requests spent, and the sync log. After every step it prints the deal's
or lead's kanban card as the portal draws it: title, stage, TaskBridge's badge (the
item's status, while it has an open task), and the status field, which the demo adds to
the card's fields as an administrator would in the kanban's card settings.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from connector.scheduler.overdue import overdue_sweep
from connector.settings import load_settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.snapshots import SnapshotStore
from connector.storage.token_cipher import new_key
from connector.sync.worker import Worker
from mappers.statuses import CrmTaskStatus, label

CLIENT_ID = "local.taskbridge.demo"
CLIENT_SECRET = "demo-client-secret"


@dataclass
class Demo:
    portal: Any  # emulator.Portal
    storage: Storage
    worker: Worker
    url: str
    say: Callable[[str], None] = click.echo
    _calls_seen: int = 0
    _timeline_seen: int = 0

    def observe(self) -> tuple[int, list[Any]]:
        """REST requests and timeline entries since the last observation."""
        calls = self.portal.call_log.count()
        entries = sorted(self.portal.state.timeline.values(), key=lambda entry: entry.id)
        spent, new = calls - self._calls_seen, entries[self._timeline_seen:]
        self._calls_seen, self._timeline_seen = calls, len(entries)
        return spent, new

    def step(self, what: str, task_id: int, entity: str, item_id: int, *, note: str = "",
             settle: bool = True, colon: bool = True) -> None:
        """Let the step land, then show the task's status, the card, the cost, the timeline."""
        if settle:
            self.settle()
        self.say(f"   {what}{':' if colon else ''} {self.status(task_id)}"
                 + (f" {note}" if note else ""))
        self.report(None, entity, item_id)

    def report(self, spent: int | None, entity: str, item_id: int) -> None:
        requests_spent, entries = self.observe()
        self.say(f"      card of {entity} {item_id}: {self.card(entity, item_id)} · "
                 f"{spent if spent is not None else requests_spent} REST requests")
        for entry in entries:
            text = re.sub(r"\s*(·\s*TaskBridge\s*)?\[[0-9a-f]+\]$", "", entry.text)
            self.say(f"      timeline: {text}")
        for line in self.kanban_card(entity, item_id).splitlines():
            self.say(f"      {line}")

    def kanban_card(self, entity: str, item_id: int) -> str:
        """The item's card on the CRM kanban, drawn as text by the emulator."""
        from emulator.kanban import render_kanban_card

        return render_kanban_card(self.portal.kanban_card(entity, item_id))

    def settle(self) -> int:
        """Let the portal's events land and the worker finish; the REST requests it took."""
        before = self.portal.call_log.count()
        for _ in range(10):
            self.portal.sender.wait_idle(timeout=10)
            if self.worker.run(until_idle=True) == 0:
                break
        return self.portal.call_log.count() - before

    def title(self, task_id: int) -> str:
        return f"«{self.portal.state.tasks[task_id].title}»"

    def real_status(self, task_id: int) -> int:
        return int(self.portal.state.tasks[task_id].status)

    def status(self, task_id: int) -> str:
        portal_row = self.storage.portals.get(self.portal.member_id)
        stored = SnapshotStore(self.storage.engine).tasks(portal_row.id, [task_id])
        status = stored[task_id].crm_status if task_id in stored else None
        return label(status) if status else "-"

    def card(self, entity: str, item_id: int) -> str:
        """The label the item's status field shows on its kanban card."""
        item = self.portal.deal(item_id) if entity == "deal" else self.portal.lead(item_id)
        value = str(item.get("UF_CRM_TASKBRIDGE_STATUS") or "")
        entity_id = "CRM_DEAL" if entity == "deal" else "CRM_LEAD"
        for field in self.portal.state.user_fields.values():
            if field.entity_id == entity_id and field.field_name == "UF_CRM_TASKBRIDGE_STATUS":
                for entry in field.items:
                    if str(entry["ID"]) == value:
                        return label(CrmTaskStatus(entry["XML_ID"]))
        return "-"

    def create_from_card(self, user_id: int, deal_id: int, title: str, responsible: int,
                         auditors_note: str = "") -> int:
        """What a manager does in the deal card's TaskBridge tab: fill in the form."""
        tokens = self.portal.issue_tokens(CLIENT_ID, user_id)
        tab = requests.post(f"{self.url}/bitrix/placement", timeout=10, data={
            "AUTH_ID": tokens.access_token, "REFRESH_ID": tokens.refresh_token,
            "member_id": self.portal.member_id, "PLACEMENT": "CRM_DEAL_DETAIL_TAB",
            "PLACEMENT_OPTIONS": json.dumps({"ID": str(deal_id)}),
        })
        tab.raise_for_status()
        form_token = re.search(r'name="token" value="([^"]+)"', tab.text)
        if form_token is None:
            raise click.ClickException("the deal tab showed no task form")
        created = requests.post(f"{self.url}/bitrix/placement/tasks", timeout=10, data={
            "token": form_token.group(1), "title": title, "responsible": str(responsible),
            "description": auditors_note,
        })
        created.raise_for_status()
        found = re.search(r"Task (\d+)", created.text)
        if found is None:
            raise click.ClickException("the card did not say which task it created")
        return int(found.group(1))

    def open_task_tab(self, user_id: int, task_id: int) -> None:
        tokens = self.portal.issue_tokens(CLIENT_ID, user_id)
        requests.post(f"{self.url}/bitrix/placement", timeout=10, data={
            "AUTH_ID": tokens.access_token, "REFRESH_ID": tokens.refresh_token,
            "member_id": self.portal.member_id, "PLACEMENT": "TASK_VIEW_TAB",
            "PLACEMENT_OPTIONS": json.dumps({"taskId": str(task_id)}),
        }).raise_for_status()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The demo prints its own story; no access log."""


@contextmanager
def _running_demo(workdir: Path, admin_token: str | None = None,
                  task_card: str = "classic") -> Iterator[Demo]:
    from emulator import Portal
    from emulator.server import serve_in_thread
    from webhooks.app import create_app

    portal = Portal(limits=True, task_card=task_card)
    emulator_server = serve_in_thread(portal)
    # Bind first: the URL is one of TaskBridge's settings.
    web = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_Quiet)
    url = f"http://127.0.0.1:{web.socket.getsockname()[1]}"
    settings = load_settings(
        database_url=f"sqlite:///{workdir / 'demo.sqlite3'}", secret_key=new_key(),
        public_url=url, oauth_url=emulator_server.url, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET, allow_insecure_portals=True, log_level="WARNING",
        worker_coalesce_seconds=0,
        log_format="text",
        **({"admin_token": admin_token} if admin_token else {}),
    )
    storage = open_storage(settings)
    web.app = create_app(settings, storage)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url=f"{url}/bitrix/install")
        portal.install_app(CLIENT_ID, how="page")
        portal.finish_install(CLIENT_ID)
        for entity in ("deal", "lead"):  # the kanban's card settings: "Fields shown on the card"
            portal.set_kanban_card_fields(entity, ["UF_CRM_TASKBRIDGE_STATUS"])
        running = Demo(portal, storage, Worker(storage, settings), url)
        running.observe()  # the install's requests are not the story's
        yield running
    finally:
        web.shutdown()
        emulator_server.stop()
        portal.close()
        storage.engine.dispose()


def _scenarios(demo: Demo, say: Callable[[str], None]) -> None:
    p = demo.portal
    manager, colleague, auditor = (p.add_user(*name) for name in
                                   (("Maria", "Rossi"), ("Luca", "Bianchi"), ("Anna", "Verdi")))
    say("1. A deal manager creates 'Prepare the contract' for a colleague, from the deal card")
    deal = p.as_user(manager).create_deal("ACME supply", assigned_by=manager)
    demo.settle()
    demo.observe()  # the deal alone: nothing of the story yet
    task = demo.create_from_card(manager, deal, "Prepare the contract", colleague)
    p.as_user(manager).update_task(task, AUDITORS=[auditor])
    demo.step("created", task, "deal", deal)
    p.as_user(colleague).open_task(task)
    demo.open_task_tab(colleague, task)
    demo.step("the colleague opens it", task, "deal", deal)
    p.as_user(colleague).start_task(task)
    demo.step("starts it", task, "deal", deal)
    p.as_user(colleague).pause_task(task)
    demo.step("pauses it", task, "deal", deal)

    say("2. An auditor edits the description; the deal's manager does too")
    p.as_user(auditor).update_task(task, DESCRIPTION="Use the 2026 template")
    demo.step("auditor", task, "deal", deal)
    second = p.as_user(manager).create_task(f"D_{deal}", title="Check the VAT number",
                                            responsible=colleague)
    demo.step("a second task", second, "deal", deal)
    p.as_user(manager).update_task(second, DESCRIPTION="The manager's own note")
    demo.step("manager on another task", second, "deal", deal, note="(no change)")

    say("3. The creator moves the deadline, then the deadline passes")
    deadline = datetime(2031, 1, 15, 18, 0, tzinfo=UTC)
    p.as_user(manager).update_task(second, DEADLINE=deadline.isoformat())
    demo.step("moved", second, "deal", deal)
    later = deadline + timedelta(hours=1)
    queued = overdue_sweep(demo.storage, now=later)
    demo.worker.run_once(now=later)
    demo.step(f"the overdue sweep at {later:%Y-%m-%d %H:%M} re-checks {queued}", second,
              "deal", deal, settle=False)
    p.as_user(manager).update_task(second, DEADLINE=(later + timedelta(days=7)).isoformat())
    demo.step("the deadline moved again, a week later", second, "deal", deal)

    say("4. A task with 'result required' gets a result")
    third = p.as_user(manager).create_task(f"D_{deal}", title="Write the summary",
                                           responsible=colleague, result_required=True)
    demo.step("created", third, "deal", deal)
    p.as_user(colleague).add_result(third, "All documents are in order")
    demo.step("the result is added", third, "deal", deal)

    say("5. 'Check on completion': completed by the responsible, accepted by the creator")
    controlled = p.as_user(manager).create_task(f"D_{deal}", title="Sign the NDA",
                                                responsible=colleague, task_control=True)
    demo.step("created", controlled, "deal", deal)
    p.as_user(colleague).complete_task(controlled)
    demo.step("completed by the responsible", controlled, "deal", deal)
    p.as_user(manager).approve_task(controlled)
    demo.step("accepted by the creator", controlled, "deal", deal)

    say(f"6. The deal's card shows the last changed task: {demo.card('deal', deal)}")
    for task_id in (task, second, third, controlled):
        say(f"   {demo.title(task_id)}: {demo.status(task_id)}")

    say("7. The deal is won with open tasks, one with 'check on completion'")
    review = p.as_user(manager).create_task(f"D_{deal}", title="Countersign",
                                            responsible=colleague, task_control=True)
    demo.step("'Countersign' created", review, "deal", deal)
    p.as_user(manager).move_deal(deal, "WON")
    spent = demo.settle()
    for task_id in (task, second, third, review):
        say(f"   task {task_id}: {demo.status(task_id)}  "
            f"(real status {demo.real_status(task_id)}, {demo.title(task_id)})")
    demo.report(spent, "deal", deal)

    say("8. A lead is converted, with the lead setting off and then on")
    for setting in (False, True):
        demo.storage.portals.update_settings(p.member_id,
                                             {"close_tasks_on_lead_convert": setting})
        lead = p.as_user(manager).create_lead(f"Inbound {int(setting)}", assigned_by=manager)
        lead_task = p.as_user(manager).create_task(f"L_{lead}", title="Call back",
                                                   responsible=colleague)
        demo.settle()
        p.as_user(manager).convert_lead(lead)
        demo.step(f"setting {'on' if setting else 'off'}: task {lead_task} is", lead_task,
                  "lead", lead, colon=False)


def _summary(demo: Demo, say: Callable[[str], None]) -> None:
    """What the whole run cost and did, from the portal's call log and the sync log."""
    rows = Journal(demo.storage.engine).rows()
    say("Summary")
    records = demo.portal.call_log.records()
    calls = Counter(record.method for record in records if not record.in_batch)
    inside = Counter(record.method for record in records if record.in_batch)
    say(f"  REST requests to the portal, the install included: {sum(calls.values())} ("
        + ", ".join(f"{method} {count}" for method, count in calls.most_common()) + ")")
    say(f"  commands inside those batches: {sum(inside.values())} ("
        + ", ".join(f"{method} {count}" for method, count in inside.most_common()) + ")")
    events = Counter(row["event"] for row in rows)
    states = Counter(row["state"] for row in rows)
    say(f"  events in the sync log: {len(rows)} ("
        + ", ".join(f"{event} {count}" for event, count in events.most_common()) + "); "
        + ", ".join(f"{state} {count}" for state, count in sorted(states.items())))
    outcomes: Counter[str] = Counter()
    own = 0
    for row in rows:
        detail = row["detail"] or {}
        own += str(detail.get("outcome", "")).startswith("TaskBridge's own change")
        for decision in detail.get("decisions") or ():
            outcomes[decision.get("outcome", "?")] += 1
    say("  status decisions: " + ", ".join(f"{outcome} {count}"
                                           for outcome, count in outcomes.most_common()))
    say(f"  TaskBridge's own writes coming back as events, recognised without a fetch: {own}")
    say(f"  timeline entries written: {len(demo.portal.state.timeline)}")


def _sync_log(demo: Demo, say: Callable[[str], None], limit: int) -> None:
    rows = Journal(demo.storage.engine).rows()
    if not limit:
        return
    say(f"Sync log (the last {min(limit, len(rows))} of {len(rows)} events):")
    for row in rows[-limit:]:
        outcome = (row["detail"] or {}).get("outcome") or (row["detail"] or {}).get("status")
        say(f"  #{row['id']:<4} {row['event']:<22} {row['object_key']:<10} "
            f"{row['state']:<9} {outcome or ''}")


@click.command()
@click.option("--log-lines", default=10, show_default=True, type=click.IntRange(0, 10_000),
              help="How many sync log rows to print at the end.")
@click.option("--serve", is_flag=True,
              help="Keep the portal and TaskBridge running afterwards, to open the sync log "
                   "pages; Ctrl-C stops them.")
@click.option("--task-card", type=click.Choice(["classic", "new"]), default="classic",
              show_default=True,
              help="The portal's task card: the classic one, or the new one of tasks 25.700.0.")
def demo(log_lines: int, serve: bool, task_card: str) -> None:
    """Start the emulator, install TaskBridge into it, play the article's scenarios."""
    admin_token = secrets.token_urlsafe(16) if serve else None
    with tempfile.TemporaryDirectory(prefix="taskbridge-demo-") as workdir, \
            _running_demo(Path(workdir), admin_token, task_card) as running:
        click.echo(f"Portal {running.portal.base_url} ({task_card} task card) · "
                   f"TaskBridge {running.url} · installed")
        _scenarios(running, click.echo)
        _summary(running, click.echo)
        _sync_log(running, click.echo, log_lines)
        if not serve:
            click.echo("The sync log pages: run `taskbridge demo --serve` and open the address "
                       "it prints; on your own installation they are at PUBLIC_URL/admin/ "
                       "(TASKBRIDGE_ADMIN_TOKEN), and `taskbridge logs` reads the same log.")
            return
        click.echo(f"Sync log pages: {running.url}/admin/ (sign in with the admin token "
                   f"{admin_token}, made for this run)")
        click.echo(f"From a shell: TASKBRIDGE_DATABASE_URL=sqlite:///{workdir}/demo.sqlite3 "
                   "taskbridge logs")
        click.echo("Serving until Ctrl-C.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped")
