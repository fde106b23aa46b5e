"""A portal's own settings (closing behaviour, review stages, label language), validated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connector.errors import PortalError
from mappers.statuses import language_code, registered_languages

if TYPE_CHECKING:
    from connector.storage.portals import Portal


class PortalSettingsError(PortalError):
    """A portal setting has an unknown name or a bad value; the message names it."""


class PortalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    close_tasks_on_lead_convert: bool = Field(
        default=True, description="Close a lead's open tasks when it is converted or junked."
    )
    close_tasks_on_deal_close: bool = Field(
        default=True, description="Close a deal's open tasks when it reaches a final stage."
    )
    review_stage: dict[int, str] = Field(
        default_factory=dict,
        description="Per deal funnel (category id): the stage that holds a deal with open tasks.",
    )
    language: str | None = Field(
        default=None, description="Label language; the portal's own language when unset."
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        # The shape only: a language stored before its labels were withdrawn still reads
        # (its labels fall back to English); a change must name one with labels.
        if value is not None and not (2 <= len(value) <= 8 and value.isalpha()):
            raise ValueError("must be a language code such as en or it")
        return value.lower() if value else None


def labels_language(portal: Portal) -> str:
    """The language of the portal's labels: its setting, else the language it installed in."""
    chosen = PortalSettings.model_validate(portal.settings).language
    return language_code(chosen or portal.language)


RATE_KEYS = {"rate_drain": float, "rate_burst": int}
# The names the CLI and the docs use for the same settings.
ALIASES = {
    "lead_conversion_closes_tasks": "close_tasks_on_lead_convert",
    "deal_close_closes_tasks": "close_tasks_on_deal_close",
}
FLAGS = {"on": "true", "off": "false", "yes": "true", "no": "false", "y": "true", "n": "false"}


def parse_assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise PortalSettingsError(f"{text!r}: expected KEY=VALUE")
    return key.strip(), value.strip()


def apply_assignments(
    current: dict[str, Any], assignments: list[tuple[str, str]]
) -> tuple[PortalSettings, dict[str, float | int]]:
    """Apply KEY=VALUE pairs to a portal's settings; returns the settings and rate columns."""
    data: dict[str, Any] = PortalSettings.model_validate(current).model_dump()
    rates: dict[str, float | int] = {}
    for key, value in assignments:
        key = ALIASES.get(key, key)
        if key in ("close_tasks_on_lead_convert", "close_tasks_on_deal_close"):
            value = FLAGS.get(value.lower(), value)
        if key.startswith("review_stage.") and value.lower() in ("none", "-"):
            value = ""
        if key in RATE_KEYS:
            rates[key] = _rate(key, value)
        elif key.startswith("review_stage."):
            category = key.removeprefix("review_stage.")
            if not category.isdigit():
                raise PortalSettingsError(f"{key}: the funnel must be a category id, e.g. 0")
            stages = dict(data["review_stage"])
            if value:
                stages[int(category)] = value
            else:
                stages.pop(int(category), None)
            data["review_stage"] = stages
        elif key == "language":
            data[key] = _language(value)
        elif key in PortalSettings.model_fields and key != "review_stage":
            data[key] = value or None
        else:
            known = sorted([*PortalSettings.model_fields, *RATE_KEYS, *ALIASES])
            raise PortalSettingsError(f"{key}: unknown setting (known: {', '.join(known)})")
    try:
        return PortalSettings.model_validate(data), rates
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise PortalSettingsError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None


def _language(value: str) -> str | None:
    """A language with labels, or None for the portal's own."""
    if not value:
        return None
    known = sorted(registered_languages())
    if value.lower() not in known:
        raise PortalSettingsError(
            f"language: {value!r} has no labels (known: {', '.join(known)}, or empty for "
            "the portal's own language)")
    return value.lower()


def _rate(key: str, value: str) -> float | int:
    try:
        number = RATE_KEYS[key](value)
    except ValueError:
        raise PortalSettingsError(f"{key}: must be a number") from None
    if number <= 0:
        raise PortalSettingsError(f"{key}: must be greater than 0")
    return number
