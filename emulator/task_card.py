"""The task card a portal shows: ``classic``, or ``new`` (module ``tasks 25.700.0``).

Contract (``Portal(task_card="classic"|"new")``, ``taskbridge emulator --task-card``;
classic by default, and classic behaves as the emulator always did):

- Comments. Classic: forum comments with ids; ``ONTASKCOMMENTADD`` carries
  ``FIELDS_AFTER[ID]`` (the comment) and ``[TASK_ID]``. New: a comment is a message of
  the task's chat; the event carries ``ID: 0``, ``TASK_ID`` and ``MESSAGE_ID``;
  ``UserActions.add_comment/add_result`` and ``task.commentitem.add`` answer the
  message id. ``tasks.task.get`` with ``select`` ``CHAT_ID`` answers ``chatId`` (new;
  null in classic); REST 3.0 ``select`` ``chat.id``, ``chat.entityId``,
  ``chat.entityType`` (``TASKS_TASK``) likewise.
- Results: ``tasks.task.result.list`` works in both; in new every result has
  ``commentId: 0``. ``tasks.task.result.addFromComment`` in new: error ``0``
  "Comment not found.".
- ``task.commentitem.getlist|get|update|delete`` in new answer ``ERROR_CORE`` (the
  docs say they "do not work" without naming an error; we answer the errors their
  pages list: getlist ``#8 ACTION_FAILED_TO_BE_PROCESSED``, get ``#512
  ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE``, update/delete ``#4 ACTION_NOT_ALLOWED``);
  ``task.commentitem.add`` still works (the docs say so).
- Widgets. Classic: ``TASK_VIEW_TAB`` is a tab; ``as_user(u).open_task(id)`` opens the
  card (a view, no POST: the tab loads when clicked) and ``open_task_tab(id)`` clicks
  the app's tab. New: no tabs; every task widget is a row of the "Applications" block,
  loaded only when the user clicks it: ``open_app_block(id)``. Either POSTs the
  placement to the app's handler as a browser would (synchronously): query
  ``DOMAIN, PROTOCOL, LANG, APP_SID``; form ``AUTH_ID, AUTH_EXPIRES, REFRESH_ID,
  SERVER_ENDPOINT, APPLICATION_TOKEN, APPLICATION_SCOPE, member_id, status, PLACEMENT,
  PLACEMENT_OPTIONS`` (``{"taskId": "31", "URI": "/company/personal/user/1/tasks/task/
  view/31/"}``) with tokens of the user, and records the user's view. Calling the other
  card's action raises ``ValueError``; no widget of the app (or install not finished)
  raises ``LookupError``.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from emulator.delivery import Delivery
from emulator.errors import RestError

if TYPE_CHECKING:
    from emulator.portal import Portal
    from emulator.state import PlacementBinding, TaskComment

TASK_WIDGETS = ("TASK_VIEW_TAB", "TASK_VIEW_SIDEBAR", "TASK_VIEW_TOP_PANEL")
_COMMENT_ERRORS = {
    "getlist": "TASKS_ERROR_EXCEPTION_#8; Action failed; 8/TE/ACTION_FAILED_TO_BE_PROCESSED",
    "get": "TASKS_ERROR_EXCEPTION_#512; Comment not found or not accessible; "
           "512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE",
    "update": "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED",
    "delete": "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED",
}


def is_new(portal: Portal) -> bool:
    return portal.task_card == "new"


def refuse_comment_method(portal: Portal, action: str) -> None:
    """In the new card ``task.commentitem.{action}`` does not work."""
    if is_new(portal):
        raise RestError("ERROR_CORE", _COMMENT_ERRORS[action] + ".<br>", 400)


def refuse_result_from_comment(portal: Portal) -> None:
    if is_new(portal):
        raise RestError("0", "Comment not found.", 400)


def comment_event_fields(portal: Portal, comment: TaskComment) -> dict[str, str]:
    """``FIELDS_AFTER`` of ``ONTASKCOMMENTADD`` for the card in use."""
    if is_new(portal):
        return {"ID": "0", "TASK_ID": str(comment.task_id),
                "MESSAGE_ID": str(comment.message_id)}
    return {"ID": str(comment.id), "TASK_ID": str(comment.task_id)}


def visible_id(portal: Portal, comment: TaskComment) -> int:
    """What a caller learns of a new comment: its id, or its chat message's in new."""
    return comment.message_id if is_new(portal) else comment.id


def chat_id(task_id: int) -> int:
    """The task chat's id (a fixed offset: the emulator keeps no chats)."""
    return 1000 + task_id


def open_widget(portal: Portal, user_id: int, task_id: int, how: str,
                client_id: str | None = None) -> Delivery:
    """``how`` is ``"tab"`` (classic) or ``"app_block"`` (new); see the module doc."""
    wanted = "app_block" if is_new(portal) else "tab"
    if how != wanted:
        raise ValueError(
            "the new task card has no tabs: use open_app_block" if is_new(portal)
            else "the classic task card has no Applications block: use open_task_tab")
    portal.tasks.view(user_id, task_id)
    binding = _widget(portal, client_id, ("TASK_VIEW_TAB",) if how == "tab" else TASK_WIDGETS)
    return _post_placement(portal, binding, user_id, task_id)


def _widget(portal: Portal, client_id: str | None, codes: tuple[str, ...]
            ) -> PlacementBinding:
    state = portal.state
    with state.lock:
        found = [p for p in state.placements.values()
                 if p.placement in codes and (client_id is None or p.client_id == client_id)
                 and p.client_id in state.apps and state.apps[p.client_id].install_finished]
    apps = {p.client_id for p in found}
    if not found:
        raise LookupError("no task widget of an installed app"
                          + (f" {client_id!r}" if client_id else ""))
    if len(apps) > 1:
        raise LookupError(f"several apps have task widgets ({', '.join(sorted(apps))}): "
                          "name one with client_id=")
    return min(found, key=lambda p: (codes.index(p.placement), p.id))


def _post_placement(portal: Portal, binding: PlacementBinding, user_id: int,
                    task_id: int) -> Delivery:
    app = portal.state.apps[binding.client_id]
    tokens = portal.tokens.issue(app.client_id, user_id)
    identity = portal.identity()
    query = urlencode({
        "DOMAIN": identity["domain"],
        "PROTOCOL": "1" if identity["client_endpoint"].startswith("https") else "0",
        "LANG": portal.language, "APP_SID": secrets.token_hex(16),
    })
    options: dict[str, Any] = {"taskId": str(task_id),
                               "URI": f"/company/personal/user/{user_id}/tasks/task/view/"
                                      f"{task_id}/"}
    form = {
        "AUTH_ID": tokens.access_token, "AUTH_EXPIRES": str(tokens.expires_in),
        "REFRESH_ID": tokens.refresh_token, "SERVER_ENDPOINT": identity["server_endpoint"],
        "APPLICATION_TOKEN": app.application_token, "APPLICATION_SCOPE": ",".join(app.scope),
        "member_id": identity["member_id"], "status": app.status,
        "PLACEMENT": binding.placement, "PLACEMENT_OPTIONS": json.dumps(options),
    }
    separator = "&" if "?" in binding.handler else "?"
    delivery = Delivery(event=f"PLACEMENT:{binding.placement}",
                        handler=f"{binding.handler}{separator}{query}", payload=form)
    return portal.sender.post_now(delivery)
