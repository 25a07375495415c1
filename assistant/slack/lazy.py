"""Lazy listeners in this process, on threads: for `helpdesk serve`, Socket Mode and the tests (on Lambda, Bolt's
LambdaLazyListenerRunner re-invokes the function instead)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.request import BoltRequest


class ThreadedLazyRunner(LazyListenerRunner):
    """Runs each lazy function on a worker thread and can wait for all of them (`drain`)."""

    def __init__(self, max_workers: int = 4, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("helpdesk.slack.bolt")
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="slack-lazy")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.started = 0

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        future = self._executor.submit(build_runnable_function(func=function, logger=self.logger, request=request))
        with self._lock:
            self.started += 1
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every lazy function started so far (and any they start) has finished; False on timeout."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._lock:
                    pending = set(self._pending)
                if not pending:
                    return True
                wait(pending, timeout=0.05)
            return False
        finally:
            timer.cancel()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.drain(timeout)
        self._executor.shutdown(wait=False, cancel_futures=True)
