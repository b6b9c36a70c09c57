"""vislib.workers: regenerations in a separate, low-priority process that is restarted when it dies."""

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from vislib import happymaps, workers

TINY = happymaps.Settings(steps=8)


@pytest.fixture(scope="module")
def pool():
    pool = workers.Pool(1)
    yield pool
    pool.close()


def niceness_of_every_thread(pid: int) -> set[int]:
    """The nice value of each thread of a process (Linux: field 19 of /proc/PID/task/TID/stat)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        values.add(int(stat.read_text().rsplit(")", 1)[1].split()[16]))
    return values


def test_a_job_gives_the_same_maps_as_the_engine_in_this_process(pool):
    theirs = pool.regenerate("exp0", "conv2d_1", [0, 3], TINY)
    ours = happymaps.engine_for("exp0").layer("conv2d_1", [0, 3], TINY)
    assert theirs.units == [0, 3] and theirs.completed and theirs.steps_done == 8
    np.testing.assert_allclose(theirs.images, ours.images, atol=1e-5)
    np.testing.assert_allclose(theirs.values, ours.values, rtol=1e-4, atol=1e-5)
    assert pool.pids() and pool.pids()[0] != os.getpid()


def test_the_randomised_network_is_computed_there_too(pool):
    theirs = pool.regenerate("exp0", "dense_3", [0, 1], TINY, randomized=True)
    ours = happymaps.engine_for("exp0").randomized().layer("dense_3", [0, 1], TINY)
    np.testing.assert_allclose(theirs.images, ours.images, atol=1e-5)


def test_progress_comes_back_and_false_stops_the_job_early(pool):
    seen = []
    # a snapshot goes out every 16 steps once the last is drawn, and none when the result already waits
    # behind it: which ones come depends on timing, but the first does (112 steps are left to compute)
    result = pool.regenerate("exp0", "dense_1", [0], happymaps.Settings(steps=128),
                             on_progress=lambda p: seen.append((p.step, p.steps, p.images.shape)), every=16)
    assert result.completed and seen and seen == sorted(seen), seen
    assert {step for step, _, _ in seen} <= set(range(16, 128, 16))
    assert {(n, shape) for _, n, shape in seen} == {(128, (1, 60, 64))}
    stopped = pool.regenerate("exp0", "dense_1", [0], happymaps.Settings(steps=128), on_progress=lambda p: False)
    assert not stopped.completed and stopped.steps_done < 128  # it stops at its next look, 16 steps on


def test_snapshots_that_came_while_the_last_one_was_drawn_are_skipped(pool):
    # drawing a snapshot (1 s here) is slower than computing the next 16 steps: only the newest is drawn
    seen = []

    def slow_draw(progress):
        seen.append(progress.step)
        time.sleep(1.0)

    result = pool.regenerate("exp0", "dense_3", [0, 1], happymaps.Settings(steps=128), on_progress=slow_draw, every=16)
    assert result.completed and result.steps_done == 128
    assert 1 <= len(seen) < 7 and seen == sorted(seen)  # of 7 chances (steps 16 to 112), as many as were drawn in time


def test_the_worker_runs_at_the_lowest_priority_with_all_its_threads(pool):
    pool.regenerate("exp0", "conv2d_1", [0], TINY)  # TensorFlow's threads exist by now
    pid = pool.pids()[0]
    assert os.getpriority(os.PRIO_PROCESS, pid) == 19
    assert niceness_of_every_thread(pid) == {19}
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) < 19  # this process keeps its own


def test_an_error_in_the_job_comes_back_as_an_exception_with_its_message(pool):
    with pytest.raises(workers.JobError, match=r"units must be a non-empty list of indices in \[0, 16\)"):
        pool.regenerate("exp0", "conv2d_1", [99], TINY)
    with pytest.raises(workers.JobError, match="The regeneration failed: .*no-such-layer"):
        pool.regenerate("exp0", "no-such-layer", [0], TINY)
    assert isinstance(workers.JobError("x"), ValueError)  # the page shows a ValueError's message in words
    assert pool.regenerate("exp0", "conv2d_1", [0], TINY).completed  # the worker goes on


def test_a_killed_worker_is_restarted_for_the_next_job():
    pool = workers.Pool(1)
    try:
        pool.regenerate("exp0", "conv2d_1", [0], TINY)
        first = pool.pids()[0]
        os.kill(first, signal.SIGKILL)
        result = pool.regenerate("exp0", "conv2d_1", [0], TINY)
        assert result.completed and pool.pids()[0] != first and pool.workers[0].restarts == 1
    finally:
        pool.close()


def test_a_worker_killed_during_a_job_says_so_in_words_and_the_next_job_runs():
    pool = workers.Pool(1)
    try:
        pool.start()

        def kill(progress):
            os.kill(pool.pids()[0], signal.SIGKILL)
            pool.workers[0]._process.wait()  # dead before the page has drawn: the answer to it finds no one

        with pytest.raises(workers.WorkerDied, match="stopped by signal 9.*Press Regenerate to try again"):
            pool.regenerate("exp0", "conv2d_1", [0], happymaps.Settings(steps=48), on_progress=kill)
        assert pool.regenerate("exp0", "conv2d_1", [0], TINY).completed
    finally:
        pool.close()


def test_a_caller_that_leaves_mid_job_does_not_disturb_the_next_job(pool):
    class Gone(Exception):
        pass

    def leave(progress):
        raise Gone

    with pytest.raises(Gone):
        pool.regenerate("exp0", "conv2d_1", [0, 1], happymaps.Settings(steps=128), on_progress=leave)
    result = pool.regenerate("exp0", "conv2d_1", [2], TINY)
    assert result.units == [2] and result.completed and result.steps_done == 8
