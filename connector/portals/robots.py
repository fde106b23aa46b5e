"""TaskBridge's automation rules (robots) for deals and leads, and keeping them registered.

Three rules appear in the automation designer of deals and leads: "Create a task",
"Wait for the item's tasks" and "Task status". Each is registered with `bizproc.robot.add`
(scope `bizproc`, an administrator, in the app's context) with its handler on TaskBridge's
public URL (`POST /bitrix/robots`) and `AUTH_USER_ID` the installing administrator. Each
waits for TaskBridge's answer (`USE_SUBSCRIPTION`) and gets it through
`bizproc.event.send` with the rule's return values.

Registration rides on the install's own two batches (`install.ensure_setup`): the first
reads `bizproc.robot.list` (which answers the codes only), the second adds the missing
rules and updates those whose definition changed since they were registered (the
portal's `robots` record keeps the definitions' digest). A portal that did not grant
`bizproc` gets no rules: the install still succeeds, and the record says why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mappers.robot_calls import CREATE_TASK, TASK_STATUS, WAIT_FOR_TASKS

HANDLER_PATH = "/bitrix/robots"
SCOPE = "bizproc"
FILTER = {"INCLUDE": [["crm", "CCrmDocumentDeal"], ["crm", "CCrmDocumentLead"]]}
NO_SCOPE = "the portal did not grant the bizproc scope"

Command = tuple[str, dict[str, Any]]


def _words(en: str, it: str) -> dict[str, str]:
    return {"en": en, "it": it}


def _prop(name: tuple[str, str], kind: str, *, required: bool = False, default: Any = None,
          description: tuple[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"Name": _words(*name), "Type": kind,
                            "Required": "Y" if required else "N", "Multiple": "N"}
    if description:
        spec["Description"] = _words(*description)
    if default is not None:
        spec["Default"] = default
    return spec


ERROR = _prop(("Error", "Errore"), "string",
              description=("Why TaskBridge could not run the rule; empty when it did",
                           "Perché TaskBridge non ha potuto eseguire la regola; "
                           "vuoto se l'ha fatto"))

RULES: dict[str, dict[str, Any]] = {
    CREATE_TASK: {
        "NAME": _words("TaskBridge: create a task", "TaskBridge: crea un incarico"),
        "DESCRIPTION": _words(
            "Creates a task bound to this item, tagged CRM and announced on its timeline; "
            "returns its ID.",
            "Crea un incarico collegato a questo elemento, con il tag CRM e annunciato "
            "nella sua cronologia; restituisce il suo ID."),
        "PROPERTIES": {
            "Title": _prop(("Title", "Titolo"), "string", required=True),
            "Description": _prop(("Description", "Descrizione"), "text"),
            "Responsible": _prop(("Responsible", "Responsabile"), "user", required=True),
            "Deadline": _prop(("Deadline", "Scadenza"), "datetime"),
            "DeadlineIn": _prop(("Deadline in", "Scadenza tra"), "string", description=(
                "Instead of a date: an offset from when the rule runs, e.g. +3 days, +4 hours",
                "Invece di una data: quanto dopo l'esecuzione della regola, es. +3 giorni")),
            "Checklist": _prop(("Checklist", "Lista di controllo"), "text",
                               description=("One item per line", "Una voce per riga")),
            "CheckOnCompletion": _prop(("Check on completion", "Verifica al completamento"),
                                       "bool", default="N"),
            "ResultRequired": _prop(("Result required", "Risultato obbligatorio"), "bool",
                                    default="N"),
        },
        "RETURN_PROPERTIES": {"TaskId": _prop(("Task ID", "ID incarico"), "int"),
                              "Error": ERROR},
    },
    WAIT_FOR_TASKS: {
        "NAME": _words("TaskBridge: wait for the item's tasks",
                       "TaskBridge: attendi gli incarichi dell'elemento"),
        "DESCRIPTION": _words(
            "Holds the automation until every task bound to this item is completed; goes on "
            "at once when none is open.",
            "Trattiene l'automazione finché ogni incarico collegato a questo elemento è "
            "completato; prosegue subito se nessuno è aperto."),
        "PROPERTIES": {
            "PendingReviewDone": _prop(
                ("Count pending review as done", "Conta come fatti quelli in revisione"),
                "bool", default="N"),
        },
        "RETURN_PROPERTIES": {"Error": ERROR},
    },
    TASK_STATUS: {
        "NAME": _words("TaskBridge: task status", "TaskBridge: stato degli incarichi"),
        "DESCRIPTION": _words(
            "Returns the item's CRM task status (code and label) and its number of open tasks.",
            "Restituisce lo stato degli incarichi CRM dell'elemento (codice ed etichetta) e "
            "il numero di incarichi aperti."),
        "PROPERTIES": {},
        "RETURN_PROPERTIES": {
            "StatusCode": _prop(("Status code", "Codice dello stato"), "string"),
            "StatusLabel": _prop(("Status", "Stato"), "string"),
            "OpenTasks": _prop(("Open tasks", "Incarichi aperti"), "int"),
            "Error": ERROR,
        },
    },
}


def has_scope(scope: str) -> bool:
    """Whether the portal granted `bizproc` (scopes as the OAuth server lists them)."""
    return SCOPE in {part.strip() for part in scope.replace(" ", ",").split(",")}


def definitions(public_url: str, auth_user_id: int) -> dict[str, dict[str, Any]]:
    """The three rules as `bizproc.robot.add` takes them, by code."""
    return {code: {"CODE": code, "HANDLER": f"{public_url}{HANDLER_PATH}",
                   "AUTH_USER_ID": auth_user_id, "USE_SUBSCRIPTION": "Y", "FILTER": FILTER,
                   **rule}
            for code, rule in RULES.items()}


def digest(wanted: Mapping[str, Mapping[str, Any]]) -> str:
    """Changes whenever any definition does (handler, user, names, properties)."""
    blob = json.dumps(wanted, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def commands(listed: object, wanted: Mapping[str, Mapping[str, Any]],
             registered: Mapping[str, Any] | None) -> tuple[dict[str, Command], list[str],
                                                            list[str]]:
    """The adds and updates that make the portal hold `wanted`; and the codes of each.

    `listed` is `bizproc.robot.list`'s answer (the codes this app registered);
    `registered` the portal's record of what was sent last time."""
    present = {str(code) for code in listed} if isinstance(listed, list) else set()
    unchanged = bool(registered) and (registered or {}).get("digest") == digest(wanted)
    found: dict[str, Command] = {}
    added, updated = [], []
    for code, fields in wanted.items():
        if code not in present:
            found[f"robot_add_{code}"] = ("bizproc.robot.add", dict(fields))
            added.append(code)
        elif not unchanged:
            update = {key: value for key, value in fields.items() if key != "CODE"}
            found[f"robot_update_{code}"] = ("bizproc.robot.update",
                                             {"CODE": code, "FIELDS": update})
            updated.append(code)
    return found, added, updated


def record(wanted: Mapping[str, Mapping[str, Any]] | None, *, auth_user_id: int | None,
           failed: Mapping[str, str] | None = None, skipped: str = "") -> dict[str, Any]:
    """The portal's `robots` record: registered (the digest), skipped or failed (why)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if skipped:
        return {"state": "skipped", "reason": skipped, "at": now}
    if failed:
        return {"state": "failed", "reason": "; ".join(f"{k}: {v}" for k, v in failed.items()),
                "auth_user_id": auth_user_id, "at": now}
    return {"state": "registered", "digest": digest(wanted or {}),
            "codes": sorted(wanted or {}), "auth_user_id": auth_user_id, "at": now}


@dataclass(frozen=True)
class RobotSetup:
    """What registering the rules needs to know about the portal."""

    scope: str
    auth_user_id: int | None
    registered: Mapping[str, Any] | None = None

    @property
    def skipped_because(self) -> str:
        """Why no rule can be registered now, or "" when they can."""
        if not has_scope(self.scope):
            return NO_SCOPE
        if not self.auth_user_id:
            return "no installing administrator is known: reinstall TaskBridge"
        return ""
