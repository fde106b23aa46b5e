"""Statuses and decisions on the admin pages as the portal speaks of them: a status as the
kanban card's badge, a decision's reason, rule and outcome in the page's language."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from mappers.badges import BADGE_TYPES
from mappers.decision_reasons import explain_row
from mappers.decisions import Outcome, Rule
from mappers.reasons import reason_text
from mappers.statuses import CrmTaskStatus, labels_for
from webhooks.admin.labels import translator

_STATUS_CODES = re.compile(r"\b(?:" + "|".join(s.value for s in CrmTaskStatus) + r")\b")
_DECISION_FIELDS = ("rule", "outcome", "previous", "desired", "change", "actor_of", "reason")


def decision_reason(language: str) -> Callable[[Any], str]:
    """A status decision's reason in the page's language, from its rule and outcome (the
    stored English reason when the row names neither)."""

    labels = labels_for(language)

    def reason(decision: Any) -> str:
        row = decision if isinstance(decision, Mapping) else {
            name: getattr(decision, name, None) for name in _DECISION_FIELDS}
        text = explain_row(row, language) or str(row.get("reason") or "")
        # The sentences name statuses by code; the pages speak as the portal does.
        return _STATUS_CODES.sub(lambda found: labels[CrmTaskStatus(found[0])], text)

    return reason


def status_badge(language: str) -> Callable[[Any], Markup]:
    """A CRM task status as the kanban card's badge shows it: its label in the page's
    language, coloured by its badge type (`mappers.badges`); the code stays as a data
    attribute. Anything that is not a status is shown as escaped text."""
    labels = labels_for(language)

    def badge(code: Any) -> Markup:
        if code is None or code == "":
            return Markup("")
        try:
            status = CrmTaskStatus(str(code))
        except ValueError:
            return Markup("{}").format(code)
        return Markup('<span class="badge badge-{}" data-status="{}">{}</span>').format(
            BADGE_TYPES[status], status.value, labels[status])

    return badge


def decision_words(language: str) -> Callable[[str, Any], str]:
    """A decision's rule or outcome (`words("rule", value)`) in the page's language; a
    value TaskBridge does not know is shown as stored."""
    t = translator(language)

    def words(part: str, value: Any) -> str:
        text = "" if value is None else str(value)
        try:
            if part == "rule":
                return reason_text(Rule(text), language)
            return t(f"outcome.{Outcome(text).name}")
        except (ValueError, KeyError):
            return text

    return words
