"""`python -m vislib.bench pages` and `load` run end to end in a real browser (tiny settings:
the figures go to BENCHMARKS.md, never into an assertion)."""

import os
import re
import subprocess
import sys

from vislib import bench, loadtest


def test_bench_pages_prints_every_figure_and_no_error(capsys):
    bench.main(["pages", "--repeats", "1"])
    out = capsys.readouterr().out
    for figure in ("cold first title s", "cold complete page s", "warm page switch s", "variant switch s",
                   "sample change s", "server MB"):
        assert re.search(rf"^{figure}: \d+\.\d\d$", out, re.M), (figure, out)
    assert out.strip().splitlines()[-1] == "errors: 0"


def test_bench_load_loops_sessions_through_every_action_and_reads_memory(capsys):
    bench.main(["load", "--sessions", "2", "--seconds", "45", "--settle", "1"])
    out = capsys.readouterr().out
    assert re.search(r"^completed actions: [1-9]\d*$", out, re.M), out
    assert re.search(r"^errors: 0$", out, re.M), out
    assert len(re.findall(r"^(regenerate|photo upload|variant switch|page switch): [1-9]\d* done, median", out,
                          re.M)) >= 3, out
    assert re.search(r"^server memory MB: before \d+, peak \d+, 1 s after \d+$", out, re.M), out
    # by default the browser keeps the priorities it gives itself, some above the server's
    assert re.search(r"server -?\d+, Chromium as it sets itself", out), out


def test_renice_tree_lowers_the_load_generator_and_spares_the_server():
    sleep = [sys.executable, "-c", "import time; time.sleep(30)"]
    browser, server = subprocess.Popen(sleep), subprocess.Popen(sleep)
    try:
        own = os.getpriority(os.PRIO_PROCESS, server.pid)
        loadtest._renice_tree(os.getpid(), own + 5, spare=server.pid)
        assert os.getpriority(os.PRIO_PROCESS, browser.pid) == own + 5
        assert os.getpriority(os.PRIO_PROCESS, server.pid) == own
    finally:
        browser.kill(), server.kill()
        browser.wait(), server.wait()
