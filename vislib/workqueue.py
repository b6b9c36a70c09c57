"""A bounded line for heavy work (HappyMaps regenerations), shared by every session of a server.

At most `workers` jobs run at once, first come first served; the others wait and can say where
they stand, so light actions (a page, a variant, a photo) never queue behind twenty optimisations:

    with REGENERATIONS.turn(on_wait=lambda ahead: status.info(f"next but {ahead}")):
        engine.layer(...)
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Callable


class WorkQueue:
    def __init__(self, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._changed = threading.Condition()
        self._line: list[object] = []
        self._running = 0

    def waiting(self) -> int:
        with self._changed:
            return len(self._line)

    def running(self) -> int:
        with self._changed:
            return self._running

    @contextmanager
    def turn(self, on_wait: Callable[[int], None] | None = None, poll: float = 0.5):
        """Wait for a free worker, then run the body. While waiting, `on_wait(ahead)` is called
        with the number of jobs in line before this one (0: next), outside the lock; if it
        raises (a Streamlit rerun stops the script), the place in line is given up."""
        ticket = object()
        with self._changed:
            self._line.append(ticket)
        try:
            while True:
                with self._changed:
                    if self._running < self.workers and self._line[0] is ticket:
                        self._line.pop(0)
                        self._running += 1
                        break
                    ahead = self._line.index(ticket)
                if on_wait is not None:
                    on_wait(ahead)
                with self._changed:
                    self._changed.wait(timeout=poll)
        except BaseException:
            with self._changed:
                if ticket in self._line:
                    self._line.remove(ticket)
                self._changed.notify_all()
            raise
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


# One line per server process. One worker: two cores run one optimisation at full speed; a
# second at once would only halve both. HAPPYMAPS_WORKERS overrides it on bigger machines.
REGENERATIONS = WorkQueue(max(1, int(os.environ.get("HAPPYMAPS_WORKERS", "1") or 1)))
