"""The admin pages' error messages in the page's language.

The errors behind them (a filter TaskBridge cannot read, a replay refused, a setting
refused) are raised by `connector/` in English, with the values that went wrong in them.
Like a gettext catalog whose message ids are the English texts, each kind of message is
recognised once here, by its English shape, and said again from the labels tables
(`labels.EN` / `labels.IT`, keys `err.*`) with the same values. A message nobody
catalogued is shown as it came.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from webhooks.admin.labels import EN, translator

_VALUE = r"(?P<value>'.*'|\".*\")"
CATALOG: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.DOTALL)) for key, pattern in (
        # the sync log's filters (connector/storage/sync_log.py, webhooks/admin/query.py)
        ("err.not_item", rf"item: {_VALUE} is not a CRM item such as D_12, deal:12 or L_5"),
        ("err.not_outcome", rf"outcome: {_VALUE} is not one of (?P<choices>.+)"),
        ("err.not_number", rf"(?P<name>\w+): {_VALUE} is not a number"),
        ("err.not_id", rf"(?P<name>\w+): {_VALUE} is not an id \(1 to 18 digits\)"),
        ("err.not_time", rf"(?P<name>\w+): {_VALUE} is not a date and time"),
        # replay (connector/sync/replay.py)
        ("err.no_event", r"event (?P<id>\d+) does not exist"),
        ("err.not_replayable", r"event (?P<id>\d+) is (?P<state>\w+); "
                               r"only failed or dead events replay"),
        ("err.filter_not_replayable", r"only failed or dead events replay, not (?P<state>\w+)"),
        # a portal's settings (connector/portals/settings.py, connector/portals/settings_change.py)
        ("err.no_funnel", r"(?P<name>review_stage\.\d+): the portal has no such funnel"),
        ("err.not_a_stage", rf"(?P<name>review_stage\.\d+): {_VALUE} is not a stage of "
                            r"that funnel"),
        ("err.final_stage", rf"(?P<name>review_stage\.\d+): {_VALUE} is a final stage "
                            r"\(won or lost\); the review stage holds a deal before it "
                            r"reaches one"),
        ("err.funnel_id", r"(?P<name>\S+): the funnel must be a category id, e.g. 0"),
        ("err.unknown_setting", r"(?P<name>\S+): unknown setting \(known: (?P<known>.+)\)"),
        ("err.no_labels", rf"language: {_VALUE} has no labels \(known: (?P<known>.+), or "
                          r"empty for the portal's own language\)"),
        ("err.language_code", r"(?P<name>\S+): must be a language code such as en or it"),
        ("err.labels_refused", r"language: the portal did not take the status field's "
                               r"(?P<language>\S+) labels \((?P<code>.+)\); nothing changed"),
        ("err.not_boolean", r"(?P<name>\S+): Input should be a valid boolean(?P<rest>.*)"),
    )
)
# AdminAuthError codes (webhooks/admin_auth.py) with words of their own.
AUTH_CODES = frozenset({"csrf_failed", "invalid_admin_token", "sign_in", "admin_disabled",
                        "no_secret_key", "too_many_attempts"})


def auth_key(code: str) -> str | None:
    """The label key of an admin auth refusal, by its code."""
    return f"auth.{code}" if code in AUTH_CODES else None


def localized(language: str) -> Callable[[str], str]:
    """`say(text)`: a label key or a catalogued English message, in `language`."""
    words = translator(language)

    def say(text: str) -> str:
        if text in EN:
            return words(text)
        for key, pattern in CATALOG:
            found = pattern.fullmatch(text)
            if found:
                return words(key).format(**found.groupdict())
        return text

    return say
