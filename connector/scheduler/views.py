"""Responsible views: opening a task fires no event, and the unviewed marker answers for
the calling user only, so each responsible who opened TaskBridge is asked, with their own
token (`connector.storage.portals.UserTokenStore`), whether they have seen their CREATED tasks.

A refresh token kept for a user is checked on its first use, for free: the OAuth server's
answer to a refresh names `user_id` and `member_id`, and a token naming anyone else is
forgotten, never saved.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from connector.rest.errors import AuthError, BitrixError
from connector.rest.oauth import OAuthError, exchange_refresh_token
from connector.rest.user_client import user_client
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.portals import INSTALLED, Portal, UserTokenStore
from connector.storage.snapshots import SnapshotStore
from mappers.statuses import CrmTaskStatus

log = logging.getLogger(__name__)

VIEW_EVENT = "TASKBRIDGE_TASK_VIEWED"
PAGE = 50


def poll_views(storage: Storage, settings: Settings, *, now: datetime | None = None) -> int:
    """Journal a view for each task still CREATED whose responsible, asked with their own
    token, has seen it. Returns the views found."""
    store = UserTokenStore(storage.engine, storage.cipher)
    snapshots, journal = SnapshotStore(storage.engine), Journal(storage.engine)
    found = 0
    for portal in storage.portals.all():
        if portal.state != INSTALLED:
            continue
        waiting: dict[int, list[int]] = defaultdict(list)
        for task in snapshots.open_tasks(portal.id):
            if task.crm_status is CrmTaskStatus.CREATED and task.snapshot.crm_bindings:
                waiting[task.snapshot.responsible_id].append(task.snapshot.id)
        tokens = store.for_users(portal.id, set(waiting))
        for user_id, (access, refresh) in tokens.items():
            for task_id in _seen(storage, settings, store, portal, user_id, access, refresh,
                                 waiting[user_id]):
                journal.enqueue(portal_id=portal.id, member_id=portal.member_id,
                                event=VIEW_EVENT, object_type="task", object_id=str(task_id),
                                payload={"user_id": str(user_id), "how": "unviewed marker"},
                                source="poll", now=now)
                found += 1
    return found


def _seen(storage: Storage, settings: Settings, store: UserTokenStore, portal: Portal,
          user_id: int, access: str, refresh: str, task_ids: list[int]) -> list[int]:
    seen: list[int] = []
    for start in range(0, len(task_ids), PAGE):
        params = {"filter": {"ID": task_ids[start:start + PAGE]},
                  "select": ["ID", "NOT_VIEWED", "RESPONSIBLE_ID"], "start": -1}
        answer = _as_user(storage, settings, store, portal, user_id, access, refresh, params)
        if answer is None:
            return seen
        seen += [int(task["id"]) for task in answer
                 if task.get("notViewed") == "N" and str(task.get("responsibleId")) ==
                 str(user_id)]
    return seen


def _as_user(storage: Storage, settings: Settings, store: UserTokenStore, portal: Portal,
             user_id: int, access: str, refresh: str, params: dict[str, Any]
             ) -> list[dict[str, Any]] | None:
    """tasks.task.list as the user; refreshes their token once; forgets a dead one."""
    for attempt in range(2):
        client = user_client(storage, settings, portal, access)
        try:
            result = client.call("tasks.task.list", params, write=False).result or {}
            return list(result.get("tasks", [])) if isinstance(result, dict) else []
        except AuthError as exc:
            if attempt or exc.code != "expired_token":
                break
            try:
                grant = exchange_refresh_token(settings, refresh)
            except OAuthError as refused:
                log.info("portal %s: user %s's token is gone (%s)", portal.member_id, user_id,
                         refused.code)
                break
            if grant.user_id != user_id or grant.member_id != portal.member_id:
                # A placement hands over REFRESH_ID unchecked: a token of someone else
                # must not answer for this user.
                log.warning("portal %s: the refresh token kept for user %s belongs to "
                            "another user; dropped", portal.member_id, user_id)
                break
            access, refresh = grant.access_token, grant.refresh_token
            store.save(portal.id, user_id, access, refresh)
        except BitrixError as exc:
            log.warning("portal %s: view check as user %s failed: %s", portal.member_id,
                        user_id, exc.code or exc)
            return None
        finally:
            client.close()
    store.forget(portal.id, user_id)
    return None
