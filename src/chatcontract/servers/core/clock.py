"""A wall clock the test hooks can move forward, so expiry is testable without waiting."""

from __future__ import annotations

import threading
import time


class Clock:
    """Milliseconds since the Unix epoch, plus an offset that only ever grows."""

    def __init__(self) -> None:
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self._offset_ms

    def now_s(self) -> float:
        return self.now_ms() / 1000

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset_ms += ms
            return self._offset_ms

    def reset(self) -> None:
        with self._lock:
            self._offset_ms = 0
