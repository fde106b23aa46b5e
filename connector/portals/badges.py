"""TaskBridge's kanban badges on a portal: registered at install, in the install's batches.

`ensure_setup` reads `crm.activity.badge.list` in its first batch and adds, in its second,
the badges the portal lacks (a badge whose words or colour changed is deleted and added
again: a code cannot be added twice). A portal whose badge methods fail keeps the rest
of its setup; the kanban card then shows no badge until a re-install adds them.

On uninstall the portal sends ONAPPUNINSTALL after it has revoked the app's tokens, so
nothing can be deleted then; `remove_badges` deletes them while the app is still
installed (the badges of an app that is gone show on no card: no open activity of
TaskBridge's names them any more once its activities are closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connector.rest.client import PortalClient
from mappers.badges import BADGE_LANGUAGES, badges, missing_badges, stale_badges, status_of_badge

BADGE_LIST = ("crm.activity.badge.list", {})


def wanted_languages(language: str) -> tuple[str, ...]:
    """English and Italian always, and the portal's label language."""
    return (*BADGE_LANGUAGES, language)


def listed_badges(answer: Any) -> list[Mapping[str, Any]]:
    """The badges of a `crm.activity.badge.list` answer (`{"badges": [...]}`)."""
    rows = answer.get("badges") if isinstance(answer, Mapping) else answer
    return [row for row in rows or [] if isinstance(row, Mapping)]


def badge_commands(answer: Any, language: str) -> tuple[dict[str, tuple[str, dict[str, Any]]],
                                                        list[str]]:
    """The batch commands that bring the portal's badges to the wanted set, and their codes."""
    wanted = badges(wanted_languages(language))
    listed = listed_badges(answer)
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for badge in stale_badges(wanted, listed):
        commands[f"badge_del_{badge.code}"] = ("crm.activity.badge.delete", {"code": badge.code})
        commands[f"badge_{badge.code}"] = ("crm.activity.badge.add", badge.add_params())
    for badge in missing_badges(wanted, listed):
        commands[f"badge_{badge.code}"] = ("crm.activity.badge.add", badge.add_params())
    return commands, [params["code"] for method, params in commands.values()
                      if method == "crm.activity.badge.add"]


def ours(listed: Iterable[Mapping[str, Any]]) -> list[str]:
    """The codes of TaskBridge's badges among those listed."""
    return [str(row.get("code")) for row in listed
            if status_of_badge(str(row.get("code", ""))) is not None]


def remove_badges(client: PortalClient) -> list[str]:
    """Delete TaskBridge's badges from the portal (one batch to list, one to delete)."""
    seen = client.batch({"badges": BADGE_LIST})
    if seen.errors:
        raise next(iter(seen.errors.values()))
    codes = ours(listed_badges(seen.results.get("badges")))
    if codes:
        done = client.batch({f"del_{code}": ("crm.activity.badge.delete", {"code": code})
                             for code in codes})
        if done.errors:
            raise next(iter(done.errors.values()))
    return codes
