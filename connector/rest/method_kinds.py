"""Which REST methods only read, and which writes may safely be repeated.

A method counts as a read only when its last word says so (`get`, `list`, `fields`...);
anything else, including names we have never seen, is a write, so it is never repeated
blind. `event.offline.get` is a write: by default it removes what it returns.
"""

from __future__ import annotations

READ_VERBS = frozenset({
    "get", "list", "fields", "getfields", "getlist", "current", "search", "info", "count",
    "getlistbyentity", "time", "scope", "methods", "profile", "history",
})
WRITES_NAMED_LIKE_READS = frozenset({"event.offline.get"})
# Setting a value twice leaves the same state as setting it once.
IDEMPOTENT_VERBS = frozenset({"update", "set"})


def _verb(method: str) -> str:
    return method.strip().lower().rsplit(".", 1)[-1]


def is_write(method: str) -> bool:
    """True unless the method is known to only read."""
    name = method.strip().lower()
    if name in WRITES_NAMED_LIKE_READS:
        return True
    return _verb(name) not in READ_VERBS


def is_idempotent(method: str) -> bool:
    """Reads, and writes that set absolute values (`*.update`, `*.set`)."""
    return not is_write(method) or _verb(method) in IDEMPOTENT_VERBS
