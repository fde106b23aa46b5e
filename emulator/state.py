"""What the portal holds: users, CRM items, tasks and their satellites, apps.

Plain dataclasses in one ``PortalState`` guarded by one re-entrant lock; the
services (``tasks_service``, ``crm_service``...) are the only writers.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    id: int
    name: str
    last_name: str = ""
    email: str = ""
    is_admin: bool = False
    active: bool = True
    work_position: str = ""


@dataclass
class Task:
    id: int
    title: str
    created_by: int
    responsible_id: int
    created_date: float
    description: str = ""
    accomplices: list[int] = field(default_factory=list)
    auditors: list[int] = field(default_factory=list)
    status: int = 2
    deadline: float | None = None
    task_control: bool = False
    se_parameters: dict[int, str] = field(default_factory=dict)
    uf_crm_task: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    group_id: int = 0
    priority: int = 1
    changed_by: int = 0
    changed_date: float = 0.0
    status_changed_by: int = 0
    status_changed_date: float = 0.0
    closed_by: int | None = None
    closed_date: float | None = None
    date_start: float | None = None
    views: dict[int, float] = field(default_factory=dict)
    comments_count: int = 0

    def members(self) -> set[int]:
        return {self.created_by, self.responsible_id, *self.accomplices, *self.auditors}


@dataclass
class ChecklistItem:
    id: int
    task_id: int
    title: str
    created_by: int
    sort_index: int = 0
    is_complete: bool = False
    parent_id: int = 0


@dataclass
class TaskComment:
    id: int
    task_id: int
    author_id: int
    text: str
    created: float
    is_result: bool = False
    result_status: int = 0
    # The new task card keeps comments as chat messages: ``message_id`` is set, the
    # comment itself has no id a REST caller can use (events carry ``ID: 0``).
    message_id: int = 0


@dataclass
class HistoryEntry:
    id: int
    task_id: int
    created: float
    user_id: int
    field: str
    value_from: Any
    value_to: Any


@dataclass
class Category:
    id: int
    name: str
    sort: int = 100
    is_default: bool = False


@dataclass
class Stage:
    entity_id: str
    status_id: str
    name: str
    sort: int
    semantics: str | None = None
    category_id: int | None = None
    id: int = 0


@dataclass
class Deal:
    id: int
    title: str
    category_id: int
    stage_id: str
    assigned_by_id: int
    created_by: int
    date_create: float
    date_modify: float
    modify_by: int = 0
    opportunity: str = "0.00"
    currency_id: str = "USD"
    user_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lead:
    id: int
    title: str
    status_id: str
    assigned_by_id: int
    created_by: int
    date_create: float
    date_modify: float
    modify_by: int = 0
    name: str = ""
    user_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class CrmItem:
    """A contact (entityTypeId 3), a company (4) or a smart-process item (128 and up)."""

    entity_type_id: int
    id: int
    title: str
    assigned_by_id: int
    created_by: int
    date_create: float
    date_modify: float
    modify_by: int = 0
    name: str = ""
    last_name: str = ""


@dataclass
class SmartProcess:
    """A smart-process type: its items are bound to tasks as ``T{hex}_{id}``."""

    entity_type_id: int
    title: str


@dataclass
class UserField:
    id: int
    entity_id: str
    field_name: str
    user_type_id: str
    multiple: str = "N"
    mandatory: str = "N"
    xml_id: str = ""
    sort: int = 100
    label: str = ""
    items: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TimelineEntry:
    id: int
    kind: str  # "comment" or "logmessage"
    entity_type: str  # "deal", "lead", ...
    entity_id: int
    author_id: int
    created: float
    text: str
    title: str = ""
    icon_code: str = ""
    client_id: str | None = None  # the app that added a log message (it alone may delete it)


@dataclass
class Badge:
    """A kanban badge (``crm.activity.badge.add``): portal-wide, found by its code."""

    code: str
    title: Any  # a string or {lang: text}
    value: Any
    type: str


@dataclass
class ConfigurableActivity:
    """An app's activity (``crm.activity.configurable.add``) bound to a CRM item."""

    id: int
    client_id: str
    owner_type_id: int
    owner_id: int
    fields: dict[str, Any]
    layout: dict[str, Any]
    created: float
    author_id: int
    updated: float = 0.0
    badge_order: int = 0  # when its badge was last (re)bound: the card shows the newest


@dataclass
class App:
    client_id: str
    client_secret: str
    title: str = "TaskBridge"
    handler_url: str = ""
    scope: list[str] = field(default_factory=lambda: ["crm", "task", "user", "placement",
                                                      "bizproc"])
    version: int = 1
    code: str = "taskbridge"
    installed: bool = False
    install_finished: bool = False
    application_token: str = ""
    status: str = "L"


@dataclass
class EventBinding:
    id: int
    client_id: str
    event: str
    handler: str
    auth_type: int
    offline: bool
    auth_connector: str = ""


@dataclass
class PlacementBinding:
    id: int
    client_id: str
    placement: str
    handler: str
    title: str = ""
    description: str = ""


@dataclass
class Robot:
    """An app's automation rule registered with ``bizproc.robot.add``."""

    client_id: str
    code: str
    handler: str
    name: Any
    auth_user_id: int = 0
    use_subscription: bool | None = None  # None: each rule's own setting (waits by default)
    description: Any = ""
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    return_properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    document_type: list[str] = field(default_factory=list)
    filter: dict[str, Any] = field(default_factory=dict)
    use_placement: bool = False
    placement_handler: str = ""


@dataclass
class OfflineEvent:
    id: int
    message_id: str
    client_id: str
    event_name: str
    event_data: dict[str, Any]
    additional: dict[str, Any]
    timestamp: float
    object_key: str
    process_id: str | None = None
    error: bool = False
    connector: str = ""  # the binding's auth_connector: each one is its own queue


class PortalState:
    """Every record of one portal, with id counters and a lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.tasks: dict[int, Task] = {}
        self.checklist: dict[int, ChecklistItem] = {}
        self.comments: dict[int, TaskComment] = {}
        self.history: list[HistoryEntry] = []
        self.categories: dict[int, Category] = {}
        self.stages: list[Stage] = []
        self.deals: dict[int, Deal] = {}
        self.leads: dict[int, Lead] = {}
        # Contacts, companies and smart-process items, by entityTypeId then ID.
        self.crm_items: dict[int, dict[int, CrmItem]] = {3: {}, 4: {}}
        self.smart_processes: dict[int, SmartProcess] = {}
        self.user_fields: dict[int, UserField] = {}
        self.timeline: dict[int, TimelineEntry] = {}
        self.badges: dict[str, Badge] = {}  # by code
        self.activities: dict[int, ConfigurableActivity] = {}
        # what kanban cards show besides title, stage and badge: field names per entity
        self.kanban_fields: dict[str, list[str]] = {}
        self.apps: dict[str, App] = {}
        self.bindings: dict[int, EventBinding] = {}
        self.placements: dict[int, PlacementBinding] = {}
        self.offline_events: dict[int, OfflineEvent] = {}
        self.webhooks: dict[str, int] = {}
        self.robots: dict[tuple[str, str], Robot] = {}  # (client_id, CODE)
        # (entity, stage_id) -> rules; workflows by id (emulator.automation.Workflow)
        self.automation_rules: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.workflows: dict[str, Any] = {}
        # REST 3.0 Idempotency-Key answers (emulator.rest_v3)
        self.idempotent: dict[tuple[str, ...], Any] = {}
        self._counters: dict[str, itertools.count[int]] = {}

    def next_id(self, kind: str) -> int:
        with self.lock:
            counter = self._counters.setdefault(kind, itertools.count(1))
            return next(counter)
