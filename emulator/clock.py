"""The portal's clock: real time plus an offset tests can move forward."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta, timezone


class Clock:
    """Wall-clock seconds that tests can advance (token expiry, deadlines passing)."""

    def __init__(self, tz_offset_hours: int = 0) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.tz = timezone(timedelta(hours=tz_offset_hours))
        self._last_iso: tuple[int, str] = (-1, "")

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0

    def iso(self, ts: float | None = None) -> str:
        """Portal date format: ``2025-10-24T19:00:00+02:00``."""
        # every answer's time block formats the current second twice; remember the last
        second = math.floor(self.now() if ts is None else ts)
        last_second, text = self._last_iso
        if second == last_second:
            return text
        text = datetime.fromtimestamp(second, tz=self.tz).isoformat()
        self._last_iso = (second, text)
        return text


def parse_datetime(value: object) -> float | None:
    """Accept what clients send for dates (ISO, ``dd.mm.yyyy hh:mm:ss``, epoch) -> epoch."""
    if value in (None, "", False):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text.isascii() and text.isdigit():  # "²" is a digit to str.isdigit, not to float
        return float(text)
    for parser in (_iso, _russian):
        moment = parser(text)
        if moment is not None:
            return moment.timestamp()
    return None


def _iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _russian(text: str) -> datetime | None:
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
