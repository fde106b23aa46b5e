"""The table of REST methods: name -> handler, scope, and whether app context is needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal


@dataclass
class Paged:
    """A list result: the page plus ``total`` and ``next`` for the envelope."""

    items: Any
    total: int | None
    next: int | None


Handler = Callable[["Portal", "CallContext", dict[str, Any]], Any]


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    scope: str | None
    app_only: bool = False


class MethodRegistry:
    """Methods by lower-case name; modules add theirs through ``method``."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def method(
        self, name: str, scope: str | None = None, app_only: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._methods[name.lower()] = Method(name, handler, scope, app_only)
            return handler

        return register

    def find(self, name: str) -> Method | None:
        return self._methods.get(name.lower())

    def names(self) -> list[str]:
        return sorted(m.name for m in self._methods.values())
