"""What the admin pages show beside an id: a task's or a deal's title, a person's name.

Task titles come from the task snapshots TaskBridge stores (one query per page, whatever
its portals). Deal and
lead titles and people's names are stored nowhere, so they are read from the portal: at
most one `batch` request of `MAX_READS` reads per installed portal and page view (of
`MAX_PORTALS_ASKED` portals), for the ids the in-process cache does not hold, and none
while the portal's request budget is more than half spent (the worker needs it); answers
are kept for `TTL` seconds, at most `MAX_ENTRIES` of them. A portal that cannot answer is
not asked again for `FAILED_TTL` seconds: its pages show the ids alone rather than wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.errors import TaskBridgeError
from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.sync_log import SyncLog

log = logging.getLogger(__name__)

TTL = 600.0
FAILED_TTL = 60.0
MAX_ENTRIES = 20_000
MAX_READS = 50  # one batch request
MAX_PORTALS_ASKED = 3  # a staff page across many portals asks only a few of them
PAGE_TIMEOUT = 3.0  # seconds a page waits for a portal's answer
READ_METHODS = {"deal": "crm.deal.get", "lead": "crm.lead.get"}
ONCE = RetryPolicy(max_attempts=1, max_seconds=PAGE_TIMEOUT, base_delay=0.0, max_delay=0.0)


class NameCache:
    """Titles and names by (portal's member id, key such as `deal:12` or `user:3`), for
    `ttl` seconds; the oldest go first past `max_entries`. Thread-safe (one per app)."""

    def __init__(self, ttl: float = TTL, failed_ttl: float = FAILED_TTL,
                 max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.failed_ttl, self.max_entries = ttl, failed_ttl, max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._failed: dict[str, float] = {}
        self._lock = threading.Lock()

    def lookup(self, member_id: str, keys: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """The held values, and the keys not held (in the order asked)."""
        now = self._clock()
        found: dict[str, str] = {}
        missing: list[str] = []
        with self._lock:
            for key in dict.fromkeys(keys):
                held = self._entries.get((member_id, key))
                if held is not None and held[0] > now:
                    found[key] = held[1]
                else:
                    missing.append(key)
        return found, missing

    def keep(self, member_id: str, values: Mapping[str, str]) -> None:
        until = self._clock() + self.ttl
        with self._lock:
            for key, value in values.items():
                self._entries[(member_id, key)] = (until, value)
                self._entries.move_to_end((member_id, key))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def resting(self, member_id: str) -> bool:
        """Whether the portal failed to answer a moment ago."""
        with self._lock:
            return self._failed.get(member_id, 0.0) > self._clock()

    def failed(self, member_id: str) -> None:
        with self._lock:
            self._failed[member_id] = self._clock() + self.failed_ttl


@dataclass
class PageNames:
    """The titles and names one page shows, by portal; empty text where none is known."""

    titles: dict[tuple[int, str], str] = field(default_factory=dict)

    def item(self, portal_id: int | None, key: str) -> str:
        """The title of `task:7`, `deal:12` or `lead:5` (or of `D_12`-style item keys)."""
        return self.titles.get((portal_id or 0, key), "")

    def task(self, portal_id: int | None, task_id: Any) -> str:
        return self.item(portal_id, f"task:{task_id}")

    def user(self, portal_id: int | None, user_id: Any) -> str:
        return self.item(portal_id, f"user:{user_id}")


def wanted_key(key: str) -> str | None:
    """`deal:12`, `lead:5`, `task:7` or `user:3` with a positive id, else None."""
    kind, _, number = str(key).partition(":")
    if kind not in ("deal", "lead", "task", "user") or not number.isascii() \
            or not number.isdigit() or len(number) > 18 or int(number) == 0:
        return None
    return f"{kind}:{int(number)}"


def page_names(storage: Storage, settings: Settings, wanted: Iterable[tuple[int | None, str]],
               cache: NameCache) -> PageNames:
    """The titles and names of `(portal id, key)` pairs: task titles from storage, the
    rest from the cache or one batch request per portal (see the module's note)."""
    by_portal: dict[int, set[str]] = {}
    for portal_id, key in wanted:
        checked = wanted_key(key)
        if portal_id and checked:
            by_portal.setdefault(portal_id, set()).add(checked)
    names = PageNames()
    if not by_portal:
        return names
    log = SyncLog(storage.engine)
    tasks = log.task_titles((portal_id, int(key.partition(":")[2]))
                            for portal_id, keys in by_portal.items()
                            for key in keys if key.startswith("task:"))
    names.titles.update({(portal_id, f"task:{task_id}"): title
                         for (portal_id, task_id), title in tasks.items()})
    members = log.installed_member_ids(by_portal)
    asked = 0
    for portal_id, keys in sorted(by_portal.items()):
        member_id = members.get(portal_id)
        if member_id is None:
            continue
        found, missing = cache.lookup(member_id, sorted(k for k in keys
                                                        if not k.startswith("task:")))
        if missing and asked < MAX_PORTALS_ASKED and not cache.resting(member_id):
            asked += 1
            found.update(_read(storage, settings, member_id, missing, cache))
        names.titles.update({(portal_id, key): value for key, value in found.items()})
    return names


def _read(storage: Storage, settings: Settings, member_id: str, keys: list[str],
          cache: NameCache) -> dict[str, str]:
    commands = {key: _command(key) for key in keys[:MAX_READS]}
    quick = settings.model_copy(update={"http_timeout": min(settings.http_timeout,
                                                            PAGE_TIMEOUT)})
    try:
        client = PortalClient.for_portal(storage, quick, member_id, policy=ONCE)
        try:
            if _budget_busy(client):
                return {}
            answer = client.batch(commands)
        finally:
            client.close()
    except TaskBridgeError as exc:
        log.warning("portal %s: titles and names not readable for an admin page: %s",
                    member_id, getattr(exc, "code", None) or type(exc).__name__)
        cache.failed(member_id)
        return {}
    # A deleted item or person answers an error: kept as "" so it is not asked again soon.
    read = {key: _text(key, answer.results.get(key)) for key in commands
            if key in answer.results or key in answer.errors}
    cache.keep(member_id, read)
    return read


def _budget_busy(client: PortalClient) -> bool:
    """Whether the portal's request budget is more than half spent: the worker's writes
    need it more than a page needs names, and the page would wait for a slot."""
    level = getattr(client.budget, "level", None)
    return callable(level) and level() > client.budget.burst / 2


def _command(key: str) -> tuple[str, dict[str, Any]]:
    kind, _, number = key.partition(":")
    if kind == "user":
        return "user.get", {"ID": int(number)}
    return READ_METHODS[kind], {"id": int(number)}


def _text(key: str, result: Any) -> str:
    if key.startswith("user:"):
        row = result[0] if isinstance(result, list) and result else result
        if not isinstance(row, Mapping):
            return ""
        return " ".join(str(row.get(part) or "").strip() for part in ("NAME", "LAST_NAME")
                        ).strip()
    if isinstance(result, Mapping):
        return str(result.get("TITLE") or "").strip()
    return ""
