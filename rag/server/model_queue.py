"""The line for the one model: one answer runs at a time, a bounded number wait in arrival order, more are refused."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from statistics import fmean

from rag.server.errors import busy

_DEFAULT_ANSWER_S = 10.0  # the guess for Retry-After before any answer has been timed


class ModelQueue:
    """Turns on the model for API answers. Lives on the server's event loop; `finish` may come from any thread.

    A waiter whose request is cancelled (the client left, or its time ran out) leaves the line at once.
    """

    def __init__(self, size: int):
        self.size = size
        self._lock = asyncio.Lock()  # FIFO: waiters are served in the order they arrived
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = 0
        self._started = 0.0
        self.durations: deque[float] = deque(maxlen=20)  # seconds of recent answers: for Retry-After
        self.waits: deque[float] = deque(maxlen=10_000)  # seconds each admitted request waited for its turn

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def retry_after(self) -> int:
        """Seconds until the line has probably moved enough for one more: the answers ahead at the recent pace."""
        each = fmean(self.durations) if self.durations else _DEFAULT_ANSWER_S
        return max(1, math.ceil(each * (self._waiting + 1)))

    def admit(self) -> None:
        """Refuse (429 with Retry-After) when `size` requests already wait behind a running one."""
        if self.running and self._waiting >= self.size:
            raise busy(self._waiting, self.retry_after())

    async def turn(self) -> float:
        """Wait for the model; returns the seconds waited. The caller must call `finish` when its answer ends."""
        self.admit()
        self._waiting += 1
        arrived = time.monotonic()
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        self._loop, self._started = asyncio.get_running_loop(), time.monotonic()
        waited = self._started - arrived
        self.waits.append(waited)
        return waited

    def finish(self) -> None:
        """The answer ended (from any thread): the next in line gets the model."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        self.durations.append(time.monotonic() - self._started)
        self._lock.release()
