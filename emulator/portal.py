"""``Portal``: one emulated Bitrix24 portal, and the Python control API tests drive."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from emulator import crm_catalog, crm_fields, rest_v3_tasks, task_fields
from emulator.automation import AutomationService
from emulator.call_log import CallLog
from emulator.clock import Clock
from emulator.control import ControlApi
from emulator.crm_items_service import CrmItemService
from emulator.crm_service import CrmService
from emulator.crm_userfields_api import add_user_field
from emulator.delivery import Delivery, EventSender
from emulator.errors import InvalidArgument
from emulator.events import EventHub
from emulator.faults import FaultInjector, FaultSettings
from emulator.install import AppInstaller, Installation
from emulator.kanban import KanbanService
from emulator.limits import LeakyBucket, LimitSettings, OperatingBudget
from emulator.methods import build_registry
from emulator.oauth import TokenPair, TokenStore
from emulator.offline_queue import OfflineQueue
from emulator.rest import RestExecutor
from emulator.rest_v3 import RestV3
from emulator.state import App, PortalState, User
from emulator.tasks_service import TaskService
from emulator.user_actions import UserActions
from emulator.wsgi import PortalApp

TASK_CARDS = ("classic", "new")
PORTAL_LANGUAGES = ("en", "de", "it", "es", "fr", "pt", "pl", "ru", "ua")


class Portal:
    """A portal in memory. Serve it with ``emulator.server.serve_in_thread(portal)``."""

    def __init__(
        self,
        *,
        limits: bool | LimitSettings = True,
        webhook_code: str | None = None,
        access_token_lifetime: int = 3600,
        member_id: str | None = None,
        base_url: str = "http://127.0.0.1",
        delivery_timeout: float = 5.0,
        verify_deliveries: bool | str = True,
        task_card: str = "classic",
        language: str = "en",
        languages: tuple[str, ...] = PORTAL_LANGUAGES,
        rest_v3: bool = True,
    ) -> None:
        if task_card not in TASK_CARDS:
            raise ValueError(f"task_card must be one of {', '.join(TASK_CARDS)}")
        if language not in languages:
            raise ValueError(f"language {language!r} is not among {languages}")
        self.task_card = task_card
        self.language = language
        self.languages = tuple(languages)
        self.member_id = member_id or secrets.token_hex(16)
        self.base_url = base_url.rstrip("/")
        self._initial_limits = (limits if isinstance(limits, LimitSettings)
                                else LimitSettings(enabled=bool(limits)))
        self._webhook_code = webhook_code
        # False: a portal without REST 3.0, whose `/rest/api/...` is an unknown method.
        self.offers_rest_v3 = rest_v3
        self.clock = Clock()
        self.registry = build_registry()
        self.tokens = TokenStore(self.clock, access_token_lifetime)
        self.sender = EventSender(timeout=delivery_timeout, verify=verify_deliveries)
        self.call_log = CallLog()
        self.faults = FaultInjector()
        self.rest = RestExecutor(self)
        self.rest_v3 = RestV3(self)
        rest_v3_tasks.register(self.rest_v3)
        self.events = EventHub(self)
        self.control = ControlApi(self)
        self.wsgi_app = PortalApp(self)
        self._build_state()

    def _build_state(self) -> None:
        self.state = PortalState()
        self.limit_settings = dataclasses.replace(self._initial_limits)
        self.bucket = LeakyBucket(self.limit_settings)
        self.operating = OperatingBudget(self.limit_settings, self.clock.now)
        self.offline = OfflineQueue(self.state, self.clock)
        self.tasks = TaskService(self)
        self.crm = CrmService(self)
        self.crm_items = CrmItemService(self)
        self.installer = AppInstaller(self)
        self.automation = AutomationService(self)
        self.kanban = KanbanService(self)
        crm_catalog.seed(self.state)
        self.add_user("Admin", "Portal", email="admin@example.test", admin=True)
        if self._webhook_code:
            self.add_webhook(self._webhook_code, 1)

    # identity ---------------------------------------------------------------
    def attach_url(self, base_url: str) -> None:
        """Called by the server once it knows its address."""
        self.base_url = base_url.rstrip("/")

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def client_endpoint(self) -> str:
        return f"{self.base_url}/rest/"

    def identity(self) -> dict[str, str]:
        return {
            "domain": self.domain, "client_endpoint": self.client_endpoint,
            "server_endpoint": f"{self.base_url}/rest/", "oauth_domain": self.domain,
            "member_id": self.member_id, "status": "L",
        }

    def webhook_url(self, code: str, user_id: int = 1) -> str:
        return f"{self.base_url}/rest/{user_id}/{code}/"

    # users ------------------------------------------------------------------
    def add_user(self, name: str, last_name: str = "", *, email: str = "",
                 admin: bool = False, work_position: str = "") -> int:
        with self.state.lock:
            user = User(self.state.next_id("user"), name, last_name, email, admin,
                        work_position=work_position)
            self.state.users[user.id] = user
            return user.id

    def require_user(self, user_id: int) -> User:
        user = self.state.users.get(int(user_id))
        if user is None:
            raise InvalidArgument(f"User {user_id} not found")
        return user

    def is_admin(self, user_id: int) -> bool:
        user = self.state.users.get(user_id)
        return bool(user and user.is_admin)

    def user_card(self, user_id: int) -> dict[str, str]:
        user = self.state.users.get(user_id)
        name = f"{user.name} {user.last_name}".strip() if user else ""
        return {"id": str(user_id), "name": name, "link": f"/company/personal/user/{user_id}/",
                "icon": "/bitrix/images/tasks/default_avatar.png",
                "workPosition": user.work_position if user else ""}

    def add_webhook(self, code: str, user_id: int = 1) -> str:
        self.require_user(user_id)
        with self.state.lock:
            self.state.webhooks[code] = user_id
        return self.webhook_url(code, user_id)

    # acting -----------------------------------------------------------------
    def as_user(self, user_id: int) -> UserActions:
        self.require_user(user_id)
        return UserActions(self, user_id)

    def add_deal_category(self, name: str, sort: int = 100) -> int:
        return crm_catalog.add_category(self.state, name, sort).id

    def add_user_field(self, entity: str, field_name: str, user_type_id: str = "string",
                       values: list[str] | None = None, multiple: bool = False) -> str:
        """Create ``UF_CRM_...`` on ``"deal"`` or ``"lead"``; answer its full name."""
        entity_id = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}[entity]
        fields = {"FIELD_NAME": field_name, "USER_TYPE_ID": user_type_id,
                  "MULTIPLE": "Y" if multiple else "N",
                  "LIST": [{"VALUE": v} for v in values or []]}
        return add_user_field(self, entity_id, fields).field_name

    def add_smart_process(self, title: str, entity_type_id: int | None = None) -> int:
        """A smart-process type (entityTypeId 128 and up, bound as ``T{hex}_{id}``)."""
        return self.crm_items.add_smart_process(title, entity_type_id).entity_type_id

    def crm_item(self, entity_type_id: int, item_id: int) -> dict[str, Any]:
        """A contact (3), company (4) or smart-process item as ``crm.item.get`` shows it."""
        with self.state.lock:
            return self.crm_items.render(self.crm_items.get(entity_type_id, item_id))

    def deal(self, deal_id: int) -> dict[str, Any]:
        with self.state.lock:
            return crm_fields.render_upper(self, self.crm.deal(deal_id))

    def lead(self, lead_id: int) -> dict[str, Any]:
        with self.state.lock:
            return crm_fields.render_upper(self, self.crm.lead(lead_id))

    def task(self, task_id: int, viewer: int = 1) -> dict[str, Any]:
        with self.state.lock:
            task = self.tasks.require(task_id, viewer)
            return task_fields.render(self, task, viewer, ["*", "UF_CRM_TASK", "TAGS",
                                                           "REAL_STATUS", "SE_PARAMETER"])

    # kanban cards and configurable activities (contract: emulator.kanban) --------
    def kanban_card(self, entity: str, item_id: int, lang: str | None = None
                    ) -> dict[str, Any]:
        """What the item's kanban card shows: title, stage, badge, chosen fields."""
        return self.kanban.card(entity, int(item_id), lang)

    def set_kanban_card_fields(self, entity: str, names: list[str]) -> list[str]:
        """The kanban's card settings (a UI setting, not REST): fields cards show."""
        return self.kanban.set_card_fields(entity, list(names))

    def kanban_card_fields(self, entity: str) -> list[str]:
        return list(self.state.kanban_fields.get(entity, []))

    def configurable_activities(self, entity: str | int, item_id: int
                                ) -> list[dict[str, Any]]:
        """The item's configurable activities, oldest first, with their ``clientId``."""
        with self.state.lock:
            return [{**self.kanban.render(a), "clientId": a.client_id}
                    for a in self.kanban.of_item(entity, int(item_id))]

    # apps -------------------------------------------------------------------
    def register_app(self, client_id: str, client_secret: str, handler_url: str = "",
                     scope: list[str] | None = None) -> App:
        return self.installer.register(client_id, client_secret, handler_url, scope)

    def install_app(self, client_id: str, how: str = "page", user_id: int = 1,
                    handler_url: str | None = None) -> Installation:
        return self.installer.install(client_id, how, user_id, handler_url)

    def finish_install(self, client_id: str) -> None:
        self.installer.finish_install(client_id)

    def update_app(self, client_id: str, version: int | None = None) -> Delivery | None:
        return self.installer.update(client_id, version)

    def uninstall_app(self, client_id: str, clean: bool = False) -> Delivery | None:
        return self.installer.uninstall(client_id, clean)

    def app(self, client_id: str) -> App:
        return self.installer.app(client_id)

    def issue_tokens(self, client_id: str, user_id: int) -> TokenPair:
        """Tokens of ``user_id`` for the app, as if that user opened it."""
        return self.tokens.issue(client_id, user_id)

    def expire_tokens(self) -> None:
        self.tokens.expire_access_tokens()

    # automation rules (robots) ---------------------------------------------
    def set_automation_rules(self, entity: str, stage_id: str,
                             rules: list[dict[str, Any]]) -> None:
        """Rules run when a deal/lead enters ``stage_id``; see ``emulator.automation``."""
        self.automation.set_rules(entity, stage_id, rules)

    def automation_rules(self, entity: str, stage_id: str) -> list[dict[str, Any]]:
        return self.automation.rules(entity, stage_id)

    def workflows(self, entity: str, item_id: int) -> list[dict[str, Any]]:
        """The item's workflows, oldest first, as dicts (``emulator.automation``)."""
        return self.automation.workflows(entity, item_id)

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        return self.automation.workflow(workflow_id)

    def redeliver_robot_call(self, workflow_id: str) -> Delivery:
        """POST the workflow's last robot call again, unchanged (a duplicate delivery)."""
        return self.automation.redeliver(workflow_id)

    def robots(self, client_id: str | None = None) -> list[dict[str, Any]]:
        """Registered robots (``bizproc.robot.add``), of one app or all."""
        with self.state.lock:
            return [dataclasses.asdict(r) for r in self.state.robots.values()
                    if client_id is None or r.client_id == client_id]

    # logs -------------------------------------------------------------------
    @property
    def delivered_events(self) -> list[Delivery]:
        return list(self.sender.log)

    def wait_for_deliveries(self, predicate: Callable[[list[Delivery]], bool] | int = 1,
                            timeout: float = 5.0) -> list[Delivery]:
        """Wait until the finished deliveries satisfy ``predicate`` (or reach a count)."""
        check = (predicate if callable(predicate)
                 else lambda done, n=predicate: len(done) >= n)
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while True:
            done = [d for d in self.sender.log if d.done.is_set()]
            if check(done):
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(f"deliveries did not arrive within {timeout}s")
            pause.wait(0.01)

    # tuning -----------------------------------------------------------------
    def set_limits(self, **changes: Any) -> LimitSettings:
        """E.g. ``set_limits(enabled=True, drain_rate=50, capacity=10, operating_budget=1)``."""
        for key, value in changes.items():
            if not hasattr(self.limit_settings, key):
                raise TypeError(f"unknown limit setting {key}")
            setattr(self.limit_settings, key, value)
        self.bucket.reset()
        self.operating.reset()
        return self.limit_settings

    def set_faults(self, **settings: Any) -> FaultSettings:
        """E.g. ``set_faults(error_503_rate=0.2, delay=0.1, moved_to="http://...")``."""
        if "methods" in settings:
            settings["methods"] = frozenset(m.lower() for m in settings["methods"])
        fault_settings = FaultSettings(**settings)
        self.faults.configure(fault_settings)
        return fault_settings

    def advance_time(self, seconds: float) -> None:
        """Move the portal clock on; waits and robot timeouts that came due go on."""
        self.clock.advance(seconds)
        self.automation.tick()

    def reset(self) -> None:
        """Back to a fresh portal: same address and member_id, nothing else kept."""
        self.sender.wait_idle(timeout=2)
        self.sender.clear()
        self.call_log.clear()
        self.tokens.clear()
        self.faults.configure(FaultSettings())
        self.clock.reset()
        self._build_state()

    def close(self) -> None:
        self.sender.stop()
