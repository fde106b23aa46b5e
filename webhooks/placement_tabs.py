"""TaskBridge's tabs inside Bitrix24: the task card tab and the deal and lead card tabs.

- `TASK_VIEW_TAB`: opening it is the one sign a portal gives that a user *saw* a task
  (opening a task fires no event). The view is journaled; if the user is the task's
  responsible the worker records VIEWED.
- `CRM_DEAL_DETAIL_TAB`, `CRM_LEAD_DETAIL_TAB`: the item's tasks with their CRM
  statuses, and a form that creates a task bound to the item.

`PLACEMENT_OPTIONS` only say what the user asks to see, never what they may see: `prepare`
turns them (ids read strictly) into reads made with the user's OWN token, which
`webhooks.placement` runs in the batch that verifies the user, and `render` shows only
what the portal answered them. A task or item the portal does not show the user is a
404 page and journals nothing. The create form carries a signed, short-lived token
naming the portal, the item and the user (never their access token), spent on first use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.storage.access import FormTokenStore
from connector.storage.journal import Journal
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore, StoredTask
from connector.sync.task_creation import (
    InvalidNewTask,
    NewTask,
    TaskNotCreated,
    TaskPartlyCreated,
    checklist_lines,
    create_and_show,
    parse_deadline,
)
from mappers.bindings import DEAL, LEAD, CrmRef, parse_binding
from mappers.errors import InvalidIdError
from mappers.ids import parse_id
from mappers.statuses import CrmTaskStatus, label
from webhooks import answers
from webhooks.admin_auth import signer
from webhooks.answers import portal_refusal_status
from webhooks.errors import TabFormRefused
from webhooks.placement_verify import Commands, PortalUser
from webhooks.request_body import read_body
from webhooks.tab_words import translator

blueprint = answers.register(Blueprint("placement_tabs", __name__))

VIEW_EVENT = "TASKBRIDGE_TASK_VIEWED"
FORM_MAX_AGE = 3600
LISTED_TASKS = 50  # one page of tasks.task.list: the item's most recently changed tasks
ITEM_TABS = {"CRM_DEAL_DETAIL_TAB": DEAL, "CRM_LEAD_DETAIL_TAB": LEAD}
ITEM_GET = {DEAL: "crm.deal.get", LEAD: "crm.lead.get"}
DEFAULT_TITLES = {DEAL: "default_title_deal", LEAD: "default_title_lead"}


@dataclass(frozen=True)
class TabRequest:
    """One tab open: what it names, the reads to make as the user, and what is stored."""

    placement: str
    task_id: int | None = None
    ref: CrmRef | None = None
    commands: Commands = field(default_factory=dict)
    stored: tuple[StoredTask, ...] = ()


def prepare(placement: str, options: dict[str, Any], portal: Portal) -> TabRequest:
    """The reads a tab needs, from its options; `InvalidIdError` for an id that is not one."""
    if placement == "TASK_VIEW_TAB":
        task_id = parse_id(options.get("taskId", options.get("TASK_ID")), "taskId")
        return TabRequest(placement, task_id=task_id, commands={
            "task": ("tasks.task.get", {"taskId": task_id, "select": ["ID", "TITLE"]})})
    ref = CrmRef(ITEM_TABS[placement], parse_id(options.get("ID"), "ID"))
    storage = current_app.extensions["taskbridge.storage"]
    stored = sorted(SnapshotStore(storage.engine).tasks_bound_to(portal.id, ref),
                    key=lambda t: t.status_changed_at or datetime.min.astimezone(),
                    reverse=True)[:LISTED_TASKS]
    commands: dict[str, tuple[str, dict[str, Any]]] = {
        "item": (ITEM_GET[ref.entity_type_id], {"id": ref.id}),
        "users": ("user.get", {"ACTIVE": True}),
    }
    if stored:
        commands["tasks"] = ("tasks.task.list", {
            "filter": {"ID": [t.snapshot.id for t in stored]}, "select": ["ID"], "start": -1})
    return TabRequest(placement, ref=ref, commands=commands, stored=tuple(stored))


def render(tab: TabRequest, user: PortalUser):  # type: ignore[no-untyped-def]
    """The page for one of TaskBridge's tabs, showing what the portal showed the user."""
    language = user.portal.settings.get("language") or user.portal.language
    if tab.task_id is not None:
        return _task_tab(tab.task_id, user, language)
    return _item_tab(tab, user, language)


def _not_visible(language: str, what: str):  # type: ignore[no-untyped-def]
    t = translator(language)
    return render_template("tabs/not_visible.html", language=language, t=t,
                           message=t(what)), 404


def _task_tab(task_id: int, user: PortalUser, language: str):  # type: ignore[no-untyped-def]
    answer = user.checks.results.get("task")
    task = answer.get("task") if isinstance(answer, dict) else None
    if not isinstance(task, dict) or str(task.get("id")) != str(task_id):
        return _not_visible(language, "task_not_visible")
    storage = current_app.extensions["taskbridge.storage"]
    Journal(storage.engine).enqueue(
        portal_id=user.portal.id, member_id=user.portal.member_id, event=VIEW_EVENT,
        object_type="task", object_id=str(task_id), payload={"user_id": str(user.user_id)},
        source="placement",
    )
    stored = SnapshotStore(storage.engine).tasks(user.portal.id, [task_id]).get(task_id)
    status = stored.crm_status if stored else None
    return render_template(
        "tabs/task.html", language=language, t=translator(language), task_id=task_id,
        title=str(task.get("title") or ""),
        status=label(status, language) if status else None,
    )


def _item_tab(tab: TabRequest, user: PortalUser, language: str):  # type: ignore[no-untyped-def]
    ref = tab.ref
    assert ref is not None
    item = user.checks.results.get("item")
    if not isinstance(item, dict) or str(item.get("ID")) != str(ref.id):
        return _not_visible(language, "item_not_visible")
    visible = _task_ids(user.checks.results.get("tasks"))
    tasks = [task for task in tab.stored if task.snapshot.id in visible]
    storage = current_app.extensions["taskbridge.storage"]
    stored_item = SnapshotStore(storage.engine).items(user.portal.id, [ref]).get(ref)
    token = _signer().dumps({"member_id": user.portal.member_id, "item": ref.code,
                             "user": user.user_id, "jti": secrets.token_urlsafe(16)})
    t = translator(language)
    return render_template(
        "tabs/item.html", language=language, t=t, ref=ref, tasks=tasks,
        users=_users(user.checks.results.get("users")), user_id=user.user_id, token=token,
        default_title=t(DEFAULT_TITLES[ref.entity_type_id]),
        item_status=label(stored_item.status, language) if stored_item and stored_item.status
        else None,
        label=lambda status: label(CrmTaskStatus(status), language) if status else "",
    )


def _task_ids(answer: Any) -> set[int]:
    """Ids in a `tasks.task.list` answer (the tasks the portal shows the user)."""
    rows = answer.get("tasks") if isinstance(answer, dict) else None
    return {int(row["id"]) for row in rows or []
            if isinstance(row, dict) and str(row.get("id", "")).isdigit()}


def _users(answer: Any) -> list[dict[str, str]]:
    return [{"id": str(u.get("ID")), "name": f"{u.get('NAME', '')} {u.get('LAST_NAME', '')}"
             .strip() or f"user {u.get('ID')}"} for u in answer or [] if isinstance(u, dict)]


def _signer() -> URLSafeTimedSerializer:
    """Form tokens are signed like admin sessions (a key derived from the secret key)."""
    serializer = signer("create-task")
    if serializer is None:  # no TASKBRIDGE_SECRET_KEY: no portal can be installed anyway
        raise RuntimeError("TASKBRIDGE_SECRET_KEY is needed to sign card forms")
    return serializer


@blueprint.post("/bitrix/placement/tasks")
def create_task():  # type: ignore[no-untyped-def]
    """The create-task form of a deal or lead tab; each form creates one task at most."""
    body = read_body(request)
    try:
        claims = _signer().loads(str(body.get("token", "")), max_age=FORM_MAX_AGE)
    except SignatureExpired as exc:
        raise TabFormRefused(403, "form_expired",
                             "This form is older than an hour: reopen the tab.") from exc
    except BadSignature as exc:
        raise TabFormRefused(403, "invalid_form_token",
                             "This form was not issued by TaskBridge.") from exc
    if not isinstance(claims, dict) or not str(claims.get("jti") or ""):
        raise TabFormRefused(403, "invalid_form_token", "This form is from an older "
                             "TaskBridge: reopen the tab.")
    storage = current_app.extensions["taskbridge.storage"]
    settings = current_app.extensions["taskbridge.settings"]
    portal = storage.portals.find(str(claims.get("member_id", "")))
    if portal is None or portal.state != "installed":
        raise TabFormRefused(410, "portal_unavailable",
                             "TaskBridge is not installed on this portal.")
    try:
        new_task = _new_task(body, claims)
    except (InvalidNewTask, InvalidIdError) as exc:
        raise TabFormRefused(400, "invalid_task", str(exc)) from exc
    if not FormTokenStore(storage.engine, max_age=FORM_MAX_AGE).spend(
            str(claims["jti"]), portal.id):
        raise TabFormRefused(409, "form_already_used", "This form already created its task: "
                             "reopen the tab to create another.")
    client = PortalClient.for_portal(storage, settings, portal.member_id)
    try:
        task_id = create_and_show(storage.engine, client, portal, new_task)
    except TaskPartlyCreated as exc:
        raise TabFormRefused(502, "task_incomplete", exc.description or str(exc)) from exc
    except (TaskNotCreated, BitrixError) as exc:
        raise TabFormRefused(portal_refusal_status(exc), "portal_refused",
                             exc.description or str(exc)) from exc
    finally:
        client.close()
    language = portal.settings.get("language") or portal.language
    return render_template("tabs/created.html", language=language, t=translator(language),
                           task_id=task_id, title=new_task.title, ref=new_task.item)


def _new_task(body: dict[str, Any], claims: dict[str, Any]) -> NewTask:
    try:
        responsible = parse_id(body.get("responsible"), "responsible")
    except InvalidIdError as exc:
        raise InvalidNewTask("responsible", "pick a user") from exc
    deadline = str(body.get("deadline") or "")
    return NewTask(
        item=parse_binding(str(claims["item"])),
        title=str(body.get("title", "")).strip(),
        responsible_id=responsible,
        created_by=parse_id(claims.get("user"), "user"),
        description=str(body.get("description", "")),
        deadline=parse_deadline(deadline) if deadline else None,
        task_control=body.get("task_control") in ("on", "Y", "1"),
        result_required=body.get("result_required") in ("on", "Y", "1"),
        checklist=checklist_lines(str(body.get("checklist", ""))),
    )
