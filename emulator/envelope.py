"""Response bodies: the success envelope with ``time`` and the error shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.clock import Clock


@dataclass
class Timing:
    """One call's ``time`` block."""

    start: float
    finish: float
    processing: float
    operating: float = 0.0
    operating_reset_at: float | None = None

    def render(self, clock: Clock) -> dict[str, Any]:
        block: dict[str, Any] = {
            "start": self.start,
            "finish": self.finish,
            "duration": self.finish - self.start,
            "processing": self.processing,
            "date_start": clock.iso(self.start),
            "date_finish": clock.iso(self.finish),
            "operating": round(self.operating, 6),
        }
        if self.operating_reset_at is not None:
            block["operating_reset_at"] = int(self.operating_reset_at)
        return block


def success(
    result: Any, timing: Timing, clock: Clock, total: int | None = None, next_: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"result": result}
    if next_ is not None:
        body["next"] = next_
    if total is not None:
        body["total"] = total
    body["time"] = timing.render(clock)
    return body


def error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}
