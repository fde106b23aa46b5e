"""TaskBridge's kanban badges: one per CRM task status, coloured by meaning.

A badge (``crm.activity.badge.*``) is what a kanban card shows for a CRM item while a
configurable activity naming its code is open. TaskBridge registers one per status at
install; the item's activity carries the code of the item's status (spec §4).

Colours (the portal's five badge types):

| status | type | colour | why |
|---|---|---|---|
| ``EXPIRED`` | ``failure`` | red | the deadline passed: needs attention |
| ``FINISHED`` | ``success`` | green | done |
| ``CONTROL_WAITING`` | ``warning`` | yellow | waits for the creator's review |
| ``IN_PROGRESS`` | ``primary`` | blue | being worked on |
| every other status | ``secondary`` | grey | news, no action asked |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from mappers.statuses import DEFAULT_LANGUAGE, CrmTaskStatus, labels_for, language_code

S = CrmTaskStatus

# The five badge types the portal knows (REST docs: configurable/badges, "Badge type").
BADGE_TYPE_NAMES: frozenset[str] = frozenset(
    {"success", "failure", "warning", "primary", "secondary"}
)

BADGE_TYPES: dict[CrmTaskStatus, str] = {
    S.CREATED: "secondary",
    S.VIEWED: "secondary",
    S.UPDATED: "secondary",
    S.IN_PROGRESS: "primary",
    S.WAITING: "secondary",
    S.CONTROL_WAITING: "warning",
    S.DEADLINE_CHANGED: "secondary",
    S.RESULT_ADDED: "secondary",
    S.EXPIRED: "failure",
    S.FINISHED: "success",
}

# The colour each type shows as, for pages that draw a badge as the kanban does.
BADGE_COLOURS: Mapping[str, str] = {
    "success": "green",
    "failure": "red",
    "warning": "yellow",
    "primary": "blue",
    "secondary": "grey",
}

BADGE_CODE_PREFIX = "taskbridge_"

# The badge's title (shown on hover) in each language; the value is the status label.
BADGE_TITLES: Mapping[str, str] = {"en": "Task status", "it": "Stato incarico"}

BADGE_LANGUAGES: tuple[str, ...] = ("en", "it")


class Badge(NamedTuple):
    """One badge as ``crm.activity.badge.add`` takes it (title and value per language)."""

    code: str
    type: str
    title: Mapping[str, str]
    value: Mapping[str, str]

    def add_params(self) -> dict[str, object]:
        """The parameters of ``crm.activity.badge.add`` for this badge."""
        return {
            "code": self.code,
            "title": dict(self.title),
            "value": dict(self.value),
            "type": self.type,
        }


def badge_code(status: CrmTaskStatus | str) -> str:
    """The badge code of a status, e.g. ``taskbridge_expired``."""
    return BADGE_CODE_PREFIX + CrmTaskStatus(status).value.lower()


def status_of_badge(code: str) -> CrmTaskStatus | None:
    """The status a badge code stands for; None for a code that is not TaskBridge's."""
    if not code.startswith(BADGE_CODE_PREFIX):
        return None
    try:
        return CrmTaskStatus(code[len(BADGE_CODE_PREFIX) :].upper())
    except ValueError:
        return None


def badge_type(status: CrmTaskStatus | str) -> str:
    """The badge type (colour) of a status."""
    return BADGE_TYPES[CrmTaskStatus(status)]


def badge_colour(status: CrmTaskStatus | str) -> str:
    """The colour a status's badge shows as: red, green, yellow, blue or grey."""
    return BADGE_COLOURS[badge_type(status)]


def _languages(languages: Iterable[str] | None) -> tuple[str, ...]:
    """English first (the portal's fallback), then each other language once."""
    wanted = [DEFAULT_LANGUAGE, *(language_code(lang) for lang in languages or BADGE_LANGUAGES)]
    return tuple(dict.fromkeys(wanted))


def badge(status: CrmTaskStatus | str, languages: Iterable[str] | None = None) -> Badge:
    """The badge of one status, titled and valued in each language (English always)."""
    status = CrmTaskStatus(status)
    langs = _languages(languages)
    return Badge(
        code=badge_code(status),
        type=BADGE_TYPES[status],
        title={lang: BADGE_TITLES.get(lang, BADGE_TITLES[DEFAULT_LANGUAGE]) for lang in langs},
        value={lang: labels_for(lang)[status] for lang in langs},
    )


def badges(languages: Iterable[str] | None = None) -> list[Badge]:
    """Every status's badge, in status order (English and Italian by default)."""
    return [badge(status, languages) for status in CrmTaskStatus]


def missing_badges(wanted: Iterable[Badge], listed: Iterable[Mapping[str, object]]) -> list[Badge]:
    """The wanted badges whose code ``crm.activity.badge.list`` does not show (re-install)."""
    have = {str(row.get("code", "")) for row in listed}
    return [b for b in wanted if b.code not in have]


def stale_badges(wanted: Iterable[Badge], listed: Iterable[Mapping[str, object]]) -> list[Badge]:
    """Listed badges of TaskBridge's whose type, title or value differ from the wanted ones.

    A badge's code cannot be added twice, so a changed one is deleted and added again.
    """
    by_code = {b.code: b for b in wanted}
    stale = []
    for row in listed:
        want = by_code.get(str(row.get("code", "")))
        if want is not None and not _same(want, row):
            stale.append(want)
    return stale


def _same(want: Badge, row: Mapping[str, object]) -> bool:
    """Whether a listed badge shows what the wanted one would: its type, and its value.

    ``crm.activity.badge.list`` gives the value in the caller's language, so any of the
    wanted languages' values matches.
    """
    if row.get("type") != want.type:
        return False
    value = row.get("value")
    if isinstance(value, Mapping):
        return dict(value) == dict(want.value)
    return value in want.value.values()
