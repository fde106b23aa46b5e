"""What is secret, and what stands in for it, wherever TaskBridge keeps or shows data: the
REST call log, the sync log's pages, `taskbridge logs` and exports, and log lines.

`SECRET_KEYS` are the keys whose values are never kept or shown; `PLACEHOLDER` replaces
them. mappers/ may not import connector/, so the event bodies the receiver journals are
redacted by `mappers.portal_events.redact`: its keys and its marker are part of these (a
test holds them together). Free text (log lines, error messages) is searched for the keys
that cannot be ordinary words, `key=value` or `"key": "value"`, and for an incoming
webhook's secret path (`/rest/1/<code>/`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mappers.portal_events import REDACTED as EVENT_PLACEHOLDER
from mappers.portal_events import SECRET_KEYS as EVENT_SECRET_KEYS

PLACEHOLDER = EVENT_PLACEHOLDER  # "[redacted]"
# Words that are secret as keys but ordinary in a sentence ("error code", "admin token").
_WORDS = frozenset({"code", "token", "secret", "webhook_url"})
SECRET_KEYS = EVENT_SECRET_KEYS | _WORDS
TEXT_KEYS = SECRET_KEYS - _WORDS

_SECRET_TEXT = re.compile(
    r"(?i)((?:" + "|".join(sorted(TEXT_KEYS, key=lambda key: (-len(key), key)))
    + r")[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;}]+)"
)
_WEBHOOK_PATH = re.compile(r"(/rest/\d+/)([A-Za-z0-9]{6,})(/)")


def redact(value: Any) -> Any:
    """A copy with the value of every secret key replaced by `PLACEHOLDER`; mappings are
    searched, not replaced (an event's `auth` block keeps its member_id and domain)."""
    if isinstance(value, Mapping):
        return {
            key: redact(item) if isinstance(item, Mapping) or str(key).lower() not in SECRET_KEYS
            else PLACEHOLDER
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def scrub_text(text: str) -> str:
    """A line of text with credentials (`access_token=...`) and webhook codes replaced."""
    text = _SECRET_TEXT.sub(lambda found: found[1] + PLACEHOLDER, text)
    return _WEBHOOK_PATH.sub(lambda found: found[1] + PLACEHOLDER + found[3], text)
