"""TaskBridge's tabs inside Bitrix24: the task card tab and the deal and lead card tabs.

- `TASK_VIEW_TAB`: opening it is the one sign a portal gives that a user *saw* a task
  (opening a task fires no event). The view is journaled; if the user is the task's
  responsible the worker records VIEWED.
- `CRM_DEAL_DETAIL_TAB`, `CRM_LEAD_DETAIL_TAB`: the item's tasks with their CRM
  statuses, and a form that creates a task bound to the item.

`webhooks.placement` verifies the user before calling `render`; the create form carries
a signed, short-lived token naming the portal, the item and the user instead of their
access token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from connector.journal import Journal
from connector.portal_store import Portal
from connector.rest_client import PortalClient
from connector.rest_errors import BitrixError
from connector.snapshot_store import SnapshotStore
from connector.task_creation import (
    InvalidNewTask,
    NewTask,
    TaskPartlyCreated,
    checklist_lines,
    create_and_show,
    parse_deadline,
)
from mappers.bindings import DEAL, LEAD, CrmRef, parse_binding
from mappers.statuses import CrmTaskStatus, label
from webhooks.admin_auth import signer
from webhooks.answers import error
from webhooks.request_body import read_body
from webhooks.tab_words import translator

blueprint = Blueprint("placement_tabs", __name__)

VIEW_EVENT = "TASKBRIDGE_TASK_VIEWED"
FORM_MAX_AGE = 3600
ITEM_TABS = {"CRM_DEAL_DETAIL_TAB": DEAL, "CRM_LEAD_DETAIL_TAB": LEAD}
DEFAULT_TITLES = {DEAL: "default_title_deal", LEAD: "default_title_lead"}


def render(placement: str, portal: Portal, user_id: int, options: dict[str, Any],
           client: PortalClient):  # type: ignore[no-untyped-def]
    """The page for one of TaskBridge's tabs, for a verified user."""
    language = portal.settings.get("language") or portal.language
    if placement == "TASK_VIEW_TAB":
        return _task_tab(portal, user_id, options, language)
    return _item_tab(placement, portal, user_id, options, client, language)


def _task_tab(portal: Portal, user_id: int, options: dict[str, Any], language: str):  # type: ignore[no-untyped-def]
    task_id = str(options.get("taskId") or options.get("TASK_ID") or "")
    if not task_id.isdigit():
        return error(400, "invalid_placement", "PLACEMENT_OPTIONS must name the task (taskId)")
    storage = current_app.extensions["taskbridge.storage"]
    Journal(storage.engine).enqueue(
        portal_id=portal.id, member_id=portal.member_id, event=VIEW_EVENT,
        object_type="task", object_id=task_id, payload={"user_id": str(user_id)},
        source="placement",
    )
    stored = SnapshotStore(storage.engine).tasks(portal.id, [int(task_id)]).get(int(task_id))
    status = stored.crm_status if stored else None
    return render_template(
        "tabs/task.html", language=language, t=translator(language), task_id=task_id,
        title=stored.snapshot.title if stored else "",
        status=label(status, language) if status else None,
    )


def _item_tab(placement: str, portal: Portal, user_id: int, options: dict[str, Any],
              client: PortalClient, language: str):  # type: ignore[no-untyped-def]
    item_id = str(options.get("ID") or "")
    if not item_id.isdigit():
        return error(400, "invalid_placement", "PLACEMENT_OPTIONS must name the item (ID)")
    ref = CrmRef(ITEM_TABS[placement], int(item_id))
    storage = current_app.extensions["taskbridge.storage"]
    snapshots = SnapshotStore(storage.engine)
    tasks = sorted(snapshots.tasks_bound_to(portal.id, ref),
                   key=lambda t: t.status_changed_at or datetime.min.astimezone(), reverse=True)
    stored_item = snapshots.items(portal.id, [ref]).get(ref)
    users = _users(client)
    token = _signer().dumps({"member_id": portal.member_id, "item": ref.code, "user": user_id})
    t = translator(language)
    return render_template(
        "tabs/item.html", language=language, t=t, ref=ref, tasks=tasks, users=users,
        user_id=user_id, token=token, default_title=t(DEFAULT_TITLES[ref.entity_type_id]),
        item_status=label(stored_item.status, language) if stored_item and stored_item.status
        else None,
        label=lambda status: label(CrmTaskStatus(status), language) if status else "",
    )


def _signer() -> URLSafeTimedSerializer:
    """Form tokens are signed like admin sessions (a key derived from the secret key)."""
    serializer = signer("create-task")
    if serializer is None:  # no TASKBRIDGE_SECRET_KEY: no portal can be installed anyway
        raise RuntimeError("TASKBRIDGE_SECRET_KEY is needed to sign card forms")
    return serializer


def _users(client: PortalClient) -> list[dict[str, str]]:
    try:
        answer = client.call("user.get", {"ACTIVE": True}).result or []
    except BitrixError:
        return []
    return [{"id": str(u.get("ID")), "name": f"{u.get('NAME', '')} {u.get('LAST_NAME', '')}"
             .strip() or f"user {u.get('ID')}"} for u in answer if isinstance(u, dict)]


@blueprint.post("/bitrix/placement/tasks")
def create_task():  # type: ignore[no-untyped-def]
    """The create-task form of a deal or lead tab."""
    body = read_body(request)
    try:
        claims = _signer().loads(str(body.get("token", "")), max_age=FORM_MAX_AGE)
    except SignatureExpired:
        return error(403, "form_expired", "This form is older than an hour: reopen the tab.")
    except BadSignature:
        return error(403, "invalid_form_token", "This form was not issued by TaskBridge.")
    storage = current_app.extensions["taskbridge.storage"]
    settings = current_app.extensions["taskbridge.settings"]
    portal = storage.portals.find(str(claims.get("member_id", "")))
    if portal is None or portal.state != "installed":
        return error(410, "portal_unavailable", "TaskBridge is not installed on this portal.")
    try:
        new_task = _new_task(body, claims)
    except InvalidNewTask as exc:
        return error(400, "invalid_task", str(exc))
    client = PortalClient.for_portal(storage, settings, portal.member_id)
    try:
        task_id = create_and_show(storage.engine, client, portal, new_task)
    except TaskPartlyCreated as exc:
        return error(502, "task_incomplete", exc.description or str(exc))
    except BitrixError as exc:
        return error(502, "portal_refused", exc.description or str(exc))
    finally:
        client.close()
    language = portal.settings.get("language") or portal.language
    return render_template("tabs/created.html", language=language, t=translator(language),
                           task_id=task_id, title=new_task.title, ref=new_task.item)


def _new_task(body: dict[str, Any], claims: dict[str, Any]) -> NewTask:
    responsible = str(body.get("responsible", ""))
    if not responsible.isdigit():
        raise InvalidNewTask("responsible", "pick a user")
    deadline = str(body.get("deadline") or "")
    return NewTask(
        item=parse_binding(str(claims["item"])),
        title=str(body.get("title", "")).strip(),
        responsible_id=int(responsible),
        created_by=int(claims["user"]),
        description=str(body.get("description", "")),
        deadline=parse_deadline(deadline) if deadline else None,
        task_control=body.get("task_control") in ("on", "Y", "1"),
        result_required=body.get("result_required") in ("on", "Y", "1"),
        checklist=checklist_lines(str(body.get("checklist", ""))),
    )
