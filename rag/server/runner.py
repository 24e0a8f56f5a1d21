"""One answer on the model: a thread drives the pipeline's (blocking) event stream, the event loop reads its events.

Stopping is cooperative: after `cancel()` (the client left) or the deadline, the model stops at its next token
(rag.server.stopping) and the thread closes the stream, which lets the model go to the next request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import AsyncIterator, Callable, Iterator

from rag.server.stopping import stop_when

_END = object()


class AnswerRun:
    """Runs `make_events()` in its own thread until it ends, `cancel()` is called or `deadline` passes."""

    def __init__(self, make_events: Callable[[], Iterator], deadline: float, on_end: Callable[[], None]):
        self._make_events, self.deadline, self._on_end = make_events, deadline, on_end
        self._cancelled = threading.Event()
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self.ended = threading.Event()  # set when the thread has closed the stream and released the model
        self.timed_out = False

    def start(self) -> AnswerRun:
        threading.Thread(target=self._drive, name="rag-answer", daemon=True).start()
        return self

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _post(self, item: tuple) -> None:
        try:
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)
        except RuntimeError:  # the server's loop has closed: nobody is listening any more
            self._cancelled.set()

    def _over(self) -> bool:
        return self._cancelled.is_set() or time.monotonic() > self.deadline

    def _drive(self) -> None:
        stop_when(self._over)  # the model checks this at every token (rag.server.stopping)
        try:
            events = self._make_events()
            try:
                for event in events:
                    if self._cancelled.is_set():
                        break
                    if time.monotonic() > self.deadline:
                        self.timed_out = True
                        break
                    self._post((event, None))
            finally:
                close = getattr(events, "close", None)
                if close:
                    close()  # GeneratorExit inside the pipeline: llama.cpp stops and releases the model
        except BaseException as exc:  # noqa: BLE001 - handed to the request that asked
            self._post((None, exc))
        finally:
            self.ended.set()
            self._on_end()
            self._post((_END, None))

    async def events(self) -> AsyncIterator:
        """The events as they come; TimeoutError when the deadline passes first. Leaving early cancels the run."""
        try:
            while True:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                event, error = await asyncio.wait_for(self._inbox.get(), remaining)
                if error is not None:
                    raise error
                if event is _END:
                    if self.timed_out:
                        raise TimeoutError  # the thread stopped the stream at the deadline
                    return
                yield event
        finally:
            self.cancel()
