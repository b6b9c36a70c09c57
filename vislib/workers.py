"""HappyMaps regenerations in a separate process at the lowest CPU priority.

An optimisation keeps both cores busy for seconds to minutes. Run inside the web server, it takes
the cores from every light action (a page, a variant, a photo) of every other session. Here it
runs in a worker process of its own, started on first use, niced to 19 (with its TensorFlow
threads): the server keeps the cores whenever it needs them, the worker gets all that is left.

    pool = Pool(1)
    result = pool.regenerate("exp0", "conv2d_1", [0, 1], settings, on_progress=show)

The worker holds its own models and engines and sends back plain arrays (happymaps.Result,
happymaps.Progress). `workqueue.REGENERATIONS` still decides whose turn it is; a pool has as
many workers as that line lets run at once. A job that fails in the worker raises `JobError`
with a message for a person; a worker that dies (killed, out of memory) raises `WorkerDied` for
the job it was running and is started again for the next one.

Run as a program (`python -m vislib.workers FD NICE THREADS`), this module is the worker.
"""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Callable, Sequence

NICE = int(os.environ.get("HAPPYMAPS_WORKER_NICE", "19") or 19)
CANCEL_EVERY = 16  # the worker looks for a cancellation this often (steps)
DRAIN_SECONDS = 120  # an abandoned job that does not stop within this long: its worker is replaced


class JobError(ValueError):
    """A job failed in the worker; the message says why, for a person (no traceback)."""


class WorkerDied(JobError):
    """The worker process ended while it ran a job; the next job starts a new one."""


class Worker:
    """One worker process, started on first use and again whenever it has died."""

    def __init__(self, nice: int = NICE, threads: int = 0):
        self.nice, self.threads = nice, threads
        self.restarts = 0  # how many times a dead worker was replaced
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._abandoned: int | None = None  # a job whose caller left: its end is read before the next

    # ---- the process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def busy(self) -> bool:
        return self._lock.locked()

    def start(self) -> None:
        """Start the process now if it is not running (it loads TensorFlow in the background);
        never waits for a job that is running."""
        if not self._lock.acquire(blocking=False):
            return  # busy: it is running
        try:
            self._ensure()
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ensure(self) -> None:
        if self.alive():
            return
        if self._process is not None:  # it died: replace it
            self._stop()
            self.restarts += 1
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "vislib.workers", str(theirs.fileno()), str(self.nice), str(self.threads)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, close_fds=True, env=_environment())
        finally:
            theirs.close()  # only the worker holds its end: its death reads as the end of the stream
        self._conn = Connection(ours.detach())
        self._abandoned = None

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        self._abandoned = None

    def _died(self) -> WorkerDied:
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(timeout=5)  # the end of its stream comes a moment before its end
            except subprocess.TimeoutExpired:
                pass
        how = (f"was stopped by signal {-code}" if code is not None and code < 0 else
               f"ended with exit code {code}" if code is not None else "stopped answering")
        self._stop()
        self.restarts += 1
        return WorkerDied(f"The process that computes HappyMaps {how} before it finished (for instance out of "
                          f"memory); it is started again for the next regeneration. Press Regenerate to try again.")

    def _receive(self, timeout: float | None = None):
        """The worker's next message; WorkerDied if it ends first. None after `timeout` seconds."""
        waited = 0.0
        try:
            while not self._conn.poll(0.25):
                if self._process.poll() is not None:
                    raise self._died()
                waited += 0.25
                if timeout is not None and waited >= timeout:
                    return None
            return self._conn.recv()
        except (EOFError, OSError):
            raise self._died() from None

    def _drain(self) -> None:
        """Read to the end of a job whose caller left mid-way (the worker was told to stop it)."""
        while self._abandoned is not None:
            message = self._receive(timeout=DRAIN_SECONDS)
            if message is None:  # it does not stop: replace it
                self._stop()
                self.restarts += 1
                self._ensure()
                return
            if message[0] in ("done", "error") and message[1] == self._abandoned:
                self._abandoned = None

    # ---- jobs

    def _send(self, job: dict, progress: bool, every: int) -> int:
        """Hand a job to the worker and wait until it has taken it. A worker that turns out to
        have died before it took the job (it was killed while idle) is replaced and asked once
        more; one that dies after is the job's failure (which may have killed it)."""
        for attempt in (1, 2):
            number = next(self._ids)
            try:
                self._conn.send(("job", number, job, progress, int(every)))
                while True:
                    message = self._receive()
                    if message[0] == "started" and message[1] == number:
                        return number
            except (WorkerDied, OSError) as error:
                if self.alive():
                    self._stop()
                if attempt == 2:
                    raise error if isinstance(error, WorkerDied) else self._died() from None
                self._ensure()
        raise AssertionError("unreachable")

    def call(self, job: dict, on_progress: Callable | None = None, every: int = 16):
        """Run one job in the worker and return its result. `on_progress(happymaps.Progress)` is
        called with a snapshot every `every` steps, or less often: the worker sends the next one only
        once the last is drawn, so a slow drawing skips snapshots instead of holding up the job (on a
        GPU the steps are far faster than a drawing). If it returns False the job stops early (as in
        the engine); if it raises, the worker is told to stop and the exception goes on."""
        from vislib import happymaps

        with self._lock:
            self._ensure()
            try:
                self._drain()
            except WorkerDied:
                self._ensure()
            number = self._send(job, on_progress is not None, every)
            finished = False
            try:
                while True:
                    message = self._receive()
                    kind, about = message[0], message[1]
                    if about != number or kind == "started":
                        continue
                    if kind == "progress":
                        # the result already waiting behind it: a picture that would be replaced at once
                        stale = self._conn.poll()
                        stop = not stale and on_progress(happymaps.Progress(*message[2:])) is False
                        try:
                            self._conn.send(("cancel" if stop else "drawn", number))
                        except OSError:  # it died while the page drew: said in words, as any death
                            raise self._died() from None
                    elif kind == "done":
                        finished = True
                        return message[2]
                    else:
                        finished = True
                        raise JobError(message[2])
            finally:
                if not finished and self.alive() and self._conn is not None:
                    try:
                        self._conn.send(("cancel", number))
                        self._abandoned = number
                    except OSError:
                        self._stop()


def _environment() -> dict:
    """The server's environment, with this vislib importable whatever the working folder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


class Pool:
    """`size` workers; a job takes any idle one (`workqueue` keeps the number of jobs at `size`)."""

    def __init__(self, size: int = 1, nice: int = NICE, threads: int = 0):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.workers = [Worker(nice, threads) for _ in range(size)]
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start every worker that is not running (returns at once; they load in the background)."""
        for worker in self.workers:
            worker.start()

    def _pick(self) -> Worker:
        with self._lock:
            return next((w for w in self.workers if not w.busy()), self.workers[0])

    def regenerate(self, variant: str, layer: str, units: Sequence[int], settings, randomized: bool = False,
                   on_progress: Callable | None = None, every: int = 16):
        """`happymaps.engine_for(variant).layer(layer, units, settings)` (on the randomised copy of
        the network when `randomized`), computed in a worker: a happymaps.Result."""
        job = {"variant": variant, "layer": layer, "units": [int(u) for u in units], "settings": settings,
               "randomized": bool(randomized)}
        return self._pick().call(job, on_progress, every)

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.alive()]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def _size() -> int:
    from vislib import workqueue

    return workqueue.REGENERATIONS.workers


class _LazyPool:
    """The server's pool, made on first use (importing this module starts nothing)."""

    _pool: Pool | None = None
    _lock = threading.Lock()

    def __getattr__(self, name):
        with self._lock:
            if _LazyPool._pool is None:
                _LazyPool._pool = Pool(_size())
                atexit.register(_LazyPool._pool.close)
        return getattr(_LazyPool._pool, name)


REGENERATORS = _LazyPool()


# ---------------------------------------------------------------- the worker's side


def _serve(conn: Connection) -> None:
    from vislib import happymaps

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server has gone
        if message[0] != "job":
            continue  # a late cancellation or acknowledgement of a job already finished
        _, number, job, wants_progress, every = message
        conn.send(("started", number))

        drawing = [False]  # a snapshot is out and not yet drawn: one at a time, so a send never waits

        def progress(snapshot, number=number, wants=wants_progress, every=every):
            while conn.poll():
                late = conn.recv()
                if late[0] == "cancel" and late[1] == number:
                    return False
                if late[0] == "drawn" and late[1] == number:
                    drawing[0] = False
            if wants and snapshot.step % every == 0 and not drawing[0]:
                conn.send(("progress", number, snapshot.step, snapshot.steps, snapshot.images, snapshot.values))
                drawing[0] = True
            return None

        try:
            engine = happymaps.engine_for(job["variant"])
            if job["randomized"]:
                engine = engine.randomized()
            result = engine.layer(job["layer"], job["units"], job["settings"], on_progress=progress,
                                  every=min(CANCEL_EVERY, every) if wants_progress else CANCEL_EVERY)
            conn.send(("done", number, result))
        except Exception as error:  # noqa: BLE001 - every failure goes back as words
            words = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
            conn.send(("error", number, f"The regeneration failed: {words}"))


def main(argv: list[str]) -> int:
    fd, nice, threads = int(argv[0]), int(argv[1]), int(argv[2])
    if nice:
        os.nice(nice)  # before any thread exists: TensorFlow's threads inherit it
    if threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    conn = Connection(fd)
    from vislib import happymaps  # noqa: F401 - TensorFlow loads now, not at the first job

    _serve(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
