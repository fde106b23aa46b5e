"""Lost deliveries: a share of online event POSTs is never sent (chaos tests).

A real portal gives up on a handler that is down or slow and never resends; the event
then exists only in the offline queue of an app that bound it offline. `lose_deliveries`
makes the emulator's sender lose a share of online events that way, reproducibly.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.delivery import Delivery

if TYPE_CHECKING:
    from emulator.portal import Portal


@dataclass
class LostDeliveries:
    """What was lost; `stop()` puts the sender back as it was."""

    rate: float
    lost: list[Delivery] = field(default_factory=list)
    _restore: object = None

    def stop(self) -> None:
        if callable(self._restore):
            self._restore()


def lose_deliveries(portal: Portal, rate: float, *, seed: int | None = None,
                    events: frozenset[str] | None = None) -> LostDeliveries:
    """From now on, lose `rate` of the online events (of `events`, or all but app events)."""
    sender = portal.sender
    original = sender.submit
    rng = random.Random(seed)
    lock = threading.Lock()
    report = LostDeliveries(rate=rate)

    def submit(delivery: Delivery) -> None:
        eligible = (delivery.event in events if events is not None
                    else not delivery.event.startswith("ONAPP"))
        with lock:
            lose = eligible and rng.random() < rate
        if lose:
            delivery.error = "lost: never delivered (emulator.lossy_delivery)"
            report.lost.append(delivery)
            delivery.done.set()
            return
        original(delivery)

    sender.submit = submit  # type: ignore[method-assign]

    def restore() -> None:
        sender.submit = original  # type: ignore[method-assign]

    report._restore = restore
    return report
