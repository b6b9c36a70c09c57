"""vislib.workqueue: a bounded line, first come first served, that says where each job stands."""

import threading
import time

import pytest

from vislib.workqueue import WorkQueue


def start(queue, log, name, release, places=None):
    def job():
        with queue.turn(on_wait=lambda ahead: places.append((name, ahead)) if places is not None else None,
                        poll=0.01):
            log.append(("start", name))
            release[name].wait(5)
            log.append(("end", name))

    thread = threading.Thread(target=job)
    thread.start()
    return thread


def wait_until(condition, seconds=5):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out waiting for the queue"
        time.sleep(0.005)


def test_one_worker_runs_jobs_one_at_a_time_in_arrival_order_and_each_knows_its_place():
    queue, log, places = WorkQueue(1), [], []
    release = {n: threading.Event() for n in "abc"}
    threads = [start(queue, log, "a", release, places)]
    wait_until(lambda: queue.running() == 1)
    threads.append(start(queue, log, "b", release, places))
    wait_until(lambda: queue.waiting() == 1)
    threads.append(start(queue, log, "c", release, places))
    wait_until(lambda: queue.waiting() == 2)
    wait_until(lambda: ("c", 1) in places and ("b", 0) in places)
    assert log == [("start", "a")]
    for name in "abc":
        release[name].set()
        wait_until(lambda: ("end", name) in log)
    for t in threads:
        t.join(5)
    assert log == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"), ("start", "c"), ("end", "c")]
    assert queue.running() == 0 and queue.waiting() == 0


def test_two_workers_run_two_jobs_at_once():
    queue, log = WorkQueue(2), []
    release = {n: threading.Event() for n in "abc"}
    threads = [start(queue, log, n, release) for n in "abc"]
    wait_until(lambda: queue.running() == 2 and queue.waiting() == 1)
    for e in release.values():
        e.set()
    for t in threads:
        t.join(5)
    assert sum(1 for kind, _ in log if kind == "end") == 3


def test_a_waiting_job_that_is_stopped_gives_up_its_place():
    queue = WorkQueue(1)
    release = {"a": threading.Event()}
    first = start(queue, [], "a", release)
    wait_until(lambda: queue.running() == 1)

    def stop(ahead):
        raise KeyboardInterrupt  # what a Streamlit rerun does to a waiting script

    with pytest.raises(KeyboardInterrupt):
        with queue.turn(on_wait=stop, poll=0.01):
            pass
    assert queue.waiting() == 0
    release["a"].set()
    first.join(5)
    with queue.turn():  # the line is free again
        assert queue.running() == 1


def test_a_failing_job_frees_its_worker():
    queue = WorkQueue(1)
    with pytest.raises(ValueError):
        with queue.turn():
            raise ValueError("bad slider value")
    assert queue.running() == 0


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        WorkQueue(0)
