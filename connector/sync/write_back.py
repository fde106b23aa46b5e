"""Sending a write plan to the portal through `batch`, exactly once per idempotency key.

Each write is logged in `write_log` before it is sent and marked after: `done` writes are
never sent again, so a replayed or retried event writes nothing twice. A write whose
outcome is unknown (the request timed out after the portal may have run it) is checked
before it is repeated: a timeline entry carries a short reference that is looked for on
the item's timeline; a kanban card's first activity is looked for among the item's
activities (by its origin, the item's code); the other writes set a value and are safe to
repeat.

Status changes go to the timeline as log messages (`crm.timeline.logmessage.add`): they
belong to the app (no user can edit or delete them, and the app can), they are drawn with
less weight than people's comments, and the item's kanban-card activity already shows
the current status of every task. Closings and review-stage moves stay comments: they
report what TaskBridge did to people's tasks and deals, which people should not miss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.portals.install import AUTH_CONNECTOR
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError, OutcomeUnknown
from connector.storage.engines import Engine
from connector.storage.write_log import WriteLog
from connector.sync.fetch import PortalFacts
from mappers.bindings import CrmRef
from mappers.kanban_card import ORIGINATOR_ID, added_activity_id, configurable_params
from mappers.snapshots import TaskSnapshot
from mappers.status_writes import written_status
from mappers.task_actions import closing_calls
from mappers.write_plan import Write, WriteKind

ENTITY_TYPES = {1: "lead", 2: "deal", 3: "contact", 4: "company"}
# Methods whose call fires an update event on the object written (the timeline does not).
EVENTFUL = frozenset({"tasks.task.update", "tasks.task.complete", "tasks.task.approve",
                      "crm.deal.update", "crm.lead.update"})
ITEM_UPDATE = {1: "crm.lead.update", 2: "crm.deal.update"}
LOG_TITLE = "TaskBridge"
LOG_ICON = "info"
# Closings first (statuses settle), then tags, fields and the kanban card's activity, the
# timeline, stage moves last.
ORDER = {WriteKind.TASK_CLOSE: 0, WriteKind.TASK_TAG: 1, WriteKind.ITEM_STATUS: 2,
         WriteKind.ITEM_CARD: 3, WriteKind.TIMELINE: 4, WriteKind.ITEM_STAGE: 5}


@dataclass
class WriteOutcome:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    owners: dict[str, str] = field(default_factory=dict)  # write key -> object key
    # Events the sent writes will fire on their objects (a task or item update fires one).
    echoes: dict[str, int] = field(default_factory=dict)
    # The id `crm.activity.configurable.add` gave each item's new activity.
    card_ids: dict[CrmRef, int] = field(default_factory=dict)

    def summary(self, object_key: str | None = None) -> list[dict[str, str]]:
        """What happened to each write, or to those of one task or item."""
        rows = [{"key": key, "state": "done"} for key in self.sent]
        rows += [{"key": key, "state": "already written"} for key in self.skipped]
        rows += [{"key": key, "state": "failed", "error": err} for key, err in self.failed.items()]
        if object_key is None:
            return rows
        return [row for row in rows if self.owners.get(row["key"]) == object_key]


def owner_key(write: Write) -> str:
    """The journal object a write belongs to: its task, else its CRM item."""
    if write.task_id is not None:
        return f"task:{write.task_id}"
    item = write.item
    return f"{item.kind}:{item.id}" if item is not None else ""


def reference(key: str) -> str:
    """The short marker a timeline entry carries so an unknown outcome can be checked."""
    return key.split(":", 1)[-1][:12]


def entity_type(ref: CrmRef) -> str:
    return ENTITY_TYPES.get(ref.entity_type_id, f"dynamic_{ref.entity_type_id}")


class WriteBack:
    def __init__(self, engine: Engine, client: PortalClient, portal_id: int,
                 facts: PortalFacts) -> None:
        self._log = WriteLog(engine, portal_id)
        self._client = client
        self._portal_id = portal_id
        self._facts = facts
        self._found_cards: dict[CrmRef, int] = {}

    def send(self, writes: Iterable[Write], tasks: Mapping[int, TaskSnapshot],
             journal_id: int | None = None, *,
             journal_ids: Mapping[str, int] | None = None) -> WriteOutcome:
        """Send what is not written yet; each write is logged under the journal row whose
        event caused it (`journal_ids` by write key, else `journal_id`)."""
        pending = sorted(writes, key=lambda w: ORDER[w.kind])
        outcome = WriteOutcome(owners={w.key: owner_key(w) for w in pending})
        states = self._states([w.key for w in pending])
        # "planned" and never marked: the worker died sending it, and the portal may have
        # run it. Both are checked like an outcome the client could not know.
        unknown = [w for w in pending if states.get(w.key) in ("unknown", "planned")]
        confirmed = self._confirm_unknown(unknown, outcome, self._earlier_adds(pending, states))
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        owners: dict[str, Write] = {}
        for write in pending:
            if states.get(write.key) == "done" or write.key in confirmed:
                outcome.skipped.append(write.key)
                continue
            for index, (method, params) in enumerate(self._calls(write, tasks)):
                command_key = f"w{len(owners)}_{index}"
                commands[command_key] = (method, {**params, "auth_connector": AUTH_CONNECTOR})
                owners[command_key] = write
        if not commands:
            return outcome
        to_send = {w.key: w for w in owners.values()}
        self._log_planned(to_send.values(), commands, owners,
                          lambda key: (journal_ids or {}).get(key, journal_id))
        try:
            result = self._client.batch(commands)
        except OutcomeUnknown as exc:
            self._mark(to_send, "unknown", error=str(exc))
            raise
        except BitrixError as exc:
            self._mark(to_send, "failed", error=str(exc))
            raise
        outcome.requests += result.requests
        failed: dict[str, str] = {}
        for command_key, error in result.errors.items():
            failed.setdefault(owners[command_key].key, str(error))
        for command_key in result.skipped:
            failed.setdefault(owners[command_key].key, "not run: an earlier command failed")
        self._mark({k: w for k, w in to_send.items() if k not in failed}, "done")
        for key, error in failed.items():
            self._mark({key: to_send[key]}, "failed", error=error)
        outcome.sent = [key for key in to_send if key not in failed]
        outcome.failed = failed
        for command_key, write in owners.items():
            if write.kind is WriteKind.ITEM_CARD and write.item is not None \
                    and write.key in outcome.sent:
                found = added_activity_id(result.results.get(command_key))
                if found is not None:
                    outcome.card_ids[write.item] = found
        for command_key, write in owners.items():
            if write.key in outcome.sent and commands[command_key][0] in EVENTFUL:
                owner = outcome.owners[write.key]
                outcome.echoes[owner] = outcome.echoes.get(owner, 0) + 1
        return outcome

    # -- one write, as REST calls ------------------------------------------------------

    def _calls(self, write: Write, tasks: Mapping[int, TaskSnapshot]
               ) -> list[tuple[str, dict[str, Any]]]:
        if write.kind is WriteKind.TASK_CLOSE:
            task = tasks[write.task_id or 0]
            return list(closing_calls(task, int(write.field("real_status")),
                                      self._facts.acting_user_id))
        if write.kind is WriteKind.TASK_TAG:
            # The tasks API has no way to add one tag: TAGS on tasks.task.update replaces
            # the list (no tag method or TAGS operation in either API version), so this
            # sends the tags as fetched plus CRM. A tag someone adds between this pass's
            # fetch and this write is lost. The window is that one pass (its fetch and its
            # write batch), once in a task's life: only a bound task without CRM gets this
            # write, and a task created from a card is tagged by tasks.task.add instead.
            return [("tasks.task.update",
                     {"taskId": write.task_id, "fields": {"TAGS": list(write.field("tags"))}})]
        item = write.item
        assert item is not None, write
        if write.kind is WriteKind.ITEM_STATUS:
            # Deals and leads number their enumeration values apart: map by the code.
            values = self._facts.status_values.get(item.entity_type_id, {})
            status = written_status(write)
            value = values.get(status, "") if status is not None else ""
            return [(ITEM_UPDATE[item.entity_type_id],
                     {"id": item.id, "fields": {write.field("field"): value}})]
        if write.kind is WriteKind.ITEM_CARD:
            return [configurable_params(write, self._found_cards.get(item))]
        if write.kind is WriteKind.ITEM_STAGE:
            return [(ITEM_UPDATE[item.entity_type_id],
                     {"id": item.id, "fields": {"STAGE_ID": write.field("stage_id")}})]
        if is_status_entry(write):
            return [("crm.timeline.logmessage.add",
                     {"fields": {"entityTypeId": item.entity_type_id, "entityId": item.id,
                                 "title": LOG_TITLE, "iconCode": LOG_ICON,
                                 "text": f"{write.field('text')} [{reference(write.key)}]"}})]
        text = f"{write.field('text')} · TaskBridge [{reference(write.key)}]"
        return [("crm.timeline.comment.add",
                 {"fields": {"ENTITY_ID": item.id, "ENTITY_TYPE": entity_type(item),
                             "COMMENT": text}})]

    def _earlier_adds(self, pending: list[Write], states: Mapping[str, str]
                      ) -> dict[CrmRef, list[str]]:
        """Items this send adds an activity to while an earlier add for them, under another
        key, may have run (its answer was lost): by item, the earlier writes' keys."""
        adds = {w.item for w in pending if w.kind is WriteKind.ITEM_CARD and w.item is not None
                and not w.field("activity_id") and states.get(w.key) != "done"}
        if not adds:
            return {}
        earlier: dict[CrmRef, list[str]] = {}
        for key, params in self._log.unsettled(f"{WriteKind.ITEM_CARD.value}:").items():
            ref = _added_to(params)
            if ref in adds:
                earlier.setdefault(ref, []).append(key)
        return earlier

    def _confirm_unknown(self, unknown: list[Write], outcome: WriteOutcome,
                         earlier: Mapping[CrmRef, list[str]]) -> set[str]:
        """Writes whose earlier send may have run: timeline entries, looked for by their
        reference, and kanban-card activities added, looked for by their origin (a card
        added under another key whose answer was lost is found too, and updated)."""
        timeline = [w for w in unknown if w.kind is WriteKind.TIMELINE and w.item is not None]
        cards = [w for w in unknown if w.kind is WriteKind.ITEM_CARD and w.item is not None
                 and not w.field("activity_id")]
        if not timeline and not cards and not earlier:
            return set()
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        for ref in {w.item for w in timeline if w.item is not None}:
            commands[f"tl_{ref.entity_type_id}_{ref.id}"] = (
                "crm.timeline.comment.list",
                {"filter": {"ENTITY_ID": ref.id, "ENTITY_TYPE": entity_type(ref)}})
            commands[f"lm_{ref.entity_type_id}_{ref.id}"] = (
                "crm.timeline.logmessage.list",
                {"entityTypeId": ref.entity_type_id, "entityId": ref.id})
        for ref in {w.item for w in cards if w.item is not None} | set(earlier):
            commands[f"act_{ref.entity_type_id}_{ref.id}"] = (
                "crm.activity.list",
                {"filter": {"OWNER_TYPE_ID": ref.entity_type_id, "OWNER_ID": ref.id,
                            "PROVIDER_ID": "CONFIGURABLE_REST_APP"}})
        result = self._client.batch(commands)
        outcome.requests += result.requests
        texts = " ".join(
            str(entry.get("COMMENT", "") or entry.get("text", ""))
            for answer in result.results.values()
            for entry in _entries(answer, "logMessages")
        )
        found = {w.key: w for w in timeline if f"[{reference(w.key)}]" in texts}
        activities = {ref: _activity_of(ref, result.results.get(
            f"act_{ref.entity_type_id}_{ref.id}")) for ref in {w.item for w in cards} | set(earlier)
            if ref is not None}
        for write in cards:
            assert write.item is not None
            if (activity_id := activities.get(write.item)) is not None:
                outcome.card_ids[write.item] = activity_id
                found[write.key] = write
        for ref, keys in earlier.items():
            # Those earlier adds are settled either way: found (this send updates it) or
            # never run.
            self._log.mark(keys, "done" if activities.get(ref) is not None else "failed",
                           None if activities.get(ref) is not None
                           else "not found on the portal: it did not run")
            if (activity_id := activities.get(ref)) is not None:
                outcome.card_ids[ref] = self._found_cards[ref] = activity_id
        if found:
            self._mark(found, "done")
        return set(found)

    # -- the write log ------------------------------------------------------------------

    def _states(self, keys: list[str]) -> dict[str, str]:
        return self._log.states(keys)

    def _log_planned(self, writes: Iterable[Write], commands: Mapping[str, Any],
                     owners: Mapping[str, Write],
                     journal_of: Callable[[str], int | None]) -> None:
        planned = {}
        for write in writes:
            calls = [
                {"method": commands[key][0], "params": _shown(commands[key][1])}
                for key, owner in owners.items() if owner.key == write.key
            ]
            planned[write.key] = {
                "journal_id": journal_of(write.key), "method": calls[0]["method"],
                "params": {"kind": write.kind.value, "calls": calls},
            }
        self._log.log_planned(planned)

    def _mark(self, writes: Mapping[str, Write], state: str, error: str | None = None) -> None:
        self._log.mark(writes, state, error)


def is_status_entry(write: Write) -> bool:
    """A timeline entry announcing one task's status change (it names the status)."""
    return write.kind is WriteKind.TIMELINE and any(name == "status" for name, _ in write.fields)


def _activity_of(ref: CrmRef, answer: Any) -> int | None:
    """The id of TaskBridge's activity on `ref` in a `crm.activity.list` answer, if any."""
    ids = [int(row["ID"]) for row in _entries(answer, "activities")
           if row.get("ORIGINATOR_ID") == ORIGINATOR_ID and row.get("ORIGIN_ID") == ref.code
           and str(row.get("ID", "")).isdigit()]
    return min(ids) if ids else None


def _added_to(params: Any) -> CrmRef | None:
    """The item a logged `crm.activity.configurable.add` was for (None for an update)."""
    calls = params.get("calls") if isinstance(params, Mapping) else None
    call = calls[0] if isinstance(calls, list) and calls else {}
    shown = call.get("params") if isinstance(call, Mapping) else None
    if not isinstance(shown, Mapping) or call.get("method") != "crm.activity.configurable.add":
        return None
    try:
        return CrmRef(int(shown["ownerTypeId"]), int(shown["ownerId"]))
    except (KeyError, TypeError, ValueError):
        return None


def _entries(answer: Any, key: str) -> list[Mapping[str, Any]]:
    """The rows of a list answer: a plain list, or the list under `key`."""
    rows = answer.get(key) if isinstance(answer, Mapping) else answer
    return [row for row in rows or [] if isinstance(row, Mapping)] if isinstance(
        rows, list) else []


def _shown(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != "auth_connector"}
