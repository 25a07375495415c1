"""Lazy listeners in this process, on threads: for `helpdesk serve`, Socket Mode and the tests (on Lambda, Bolt's
LambdaLazyListenerRunner re-invokes the function instead)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from slack_bolt.lazy_listener import ThreadLazyListenerRunner


class _TrackingExecutor(ThreadPoolExecutor):
    """A thread pool that remembers the futures still running, so they can be waited for."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-lazy")
        self.pending: set[Future] = set()
        self.lock = threading.Lock()
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self.lock:
            self.submitted += 1
            self.pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self.lock:
            self.pending.discard(future)


class ThreadedLazyRunner(ThreadLazyListenerRunner):
    """Bolt's thread runner on a pool that can wait for every lazy function it started (`drain`)."""

    def __init__(self, max_workers: int = 4, logger: logging.Logger | None = None) -> None:
        self._pool = _TrackingExecutor(max_workers)
        super().__init__(logger or logging.getLogger("helpdesk.slack.bolt"), self._pool)

    @property
    def started(self) -> int:
        return self._pool.submitted

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every lazy function started so far (and any they start) has finished; False on timeout."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._pool.lock:
                    pending = set(self._pool.pending)
                if not pending:
                    return True
                wait(pending, timeout=0.05)
            return False
        finally:
            timer.cancel()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.drain(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
