"""Page speed and behaviour under load, measured in a real browser (headless Chromium).

    python -m vislib.bench pages                          # cold first title, warm switches
    python -m vislib.bench load --sessions 20 --seconds 120

Every figure is the time from a person's gesture (a click, a choice, an upload) until the page has
finished running, as the browser sees it.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from vislib import browser, settings, workers

PAGES = {"Overview": "", "HappyMaps": "HappyMaps", "Your photo": "Your_photo"}
VARIANTS = ("exp0 · Baseline", "ex1-1 · Half the conv filters")
SAMPLES = ("Sample: astronaut", "Sample: astronaut_closeup", "Sample: astronaut_wide")
UPLOAD = settings.SAMPLES_DIR / "astronaut.jpg"


def _median(values) -> float:
    return statistics.median(values) if values else float("nan")


def pages_benchmark(repeats: int = 3, log=print) -> dict:
    """Cold first title and complete page, then warm page, variant and sample changes, each timed
    by the browser's own clock from the click until the app has finished running."""
    out: dict = {}
    with browser.serve_process() as (url, _, process):
        driver = browser.chromium()
        try:
            page = browser.Page(driver, url)
            started = time.perf_counter()
            driver.get(url)
            page.wait_for("h1", 300)
            out["cold first title s"] = time.perf_counter() - started
            page.wait_idle(300)
            out["cold complete page s"] = time.perf_counter() - started
            _watch(driver)  # from here on pages change in place, under the watcher
            for name in ("HappyMaps", "Your photo", "Overview"):  # every page once: warm from here on
                _timed_click(page, lambda: _click_link(page, name))
            switches, variants, samples = [], [], []
            for _ in range(repeats):
                for name in ("HappyMaps", "Your photo", "Overview"):
                    switches.append(_timed_click(page, lambda: _click_link(page, name)))
            for _ in range(len(VARIANTS) + repeats * 2):  # each variant once, then timed
                other = next(v for v in VARIANTS if v != page.selected("Network variant"))
                took = _timed_click(page, _option(page, "Network variant", other))
                variants.append(took)
            variants = variants[len(VARIANTS):]
            _timed_click(page, lambda: _click_link(page, "Your photo"))
            page.click_tab("Pick a sample")
            for sample in SAMPLES:  # each sample once, then timed
                _timed_click(page, _option(page, "Sample", sample))
            for _, sample in zip(range(repeats * 2), itertools.cycle(SAMPLES)):  # never the one shown
                samples.append(_timed_click(page, _option(page, "Sample", sample)))
            out.update({"warm page switch s": _median(switches), "variant switch s": _median(variants),
                        "sample change s": _median(samples), "worst warm page switch s": max(switches),
                        "server MB": browser.rss_mb(process.pid)})
            problems = page.problems()
        finally:
            driver.quit()
    for key, value in out.items():
        log(f"{key}: {value:.2f}")
    log(f"errors: {len(problems)}")
    return {**out, "errors": len(problems)}


def _option(page: browser.Page, label: str, option: str):
    """Open a selectbox and find an option; returns the click that chooses it (the timed part)."""
    from selenium.webdriver.common.keys import Keys

    field = page.widget("stSelectbox", label).find_element("css selector", 'input[role="combobox"]')
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(option)
    deadline = time.time() + 10
    while time.time() < deadline:
        matches = [o for o in page.find('[role="option"]') if o.text.strip() == option]
        if matches:
            return matches[0].click
        time.sleep(0.05)
    raise LookupError(f"{label!r} offers no option {option!r}")


def _timed_click(page: browser.Page, click, timeout: float = 300) -> float:
    """Seconds, by the browser's clock, from a click until the rerun it caused has finished."""
    mark = _mark(page.driver)
    click()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        took = mark.done(_watch(page.driver))
        if took is not None:
            return took
        time.sleep(0.02)
    raise TimeoutError(f"the app was still running {timeout:.0f} s after the click")


# ---------------------------------------------------------------- load


# Injected into each tab: the browser's own clock notes when the app's script starts and stops
# running, so a gesture's time does not depend on when the benchmark next looks at that tab. Runs
# and ends are counted from the mutation records themselves (each record's old value), not from
# the attribute read when the observer is called: a busy browser can deliver "running" and
# "notRunning" in one batch, and reading only the last value then missed the run entirely (the
# three "no answer" page switches of the first 20-session run). If the app's root element is ever
# replaced, the watcher moves to the new one.
_WATCH = """
const app = document.querySelector('[data-testid="stApp"]');
const attr = 'data-test-script-state';
if (app && (!window.__hm || window.__hm.app !== app)) {
  const hm = window.__hm || {runs: 0, ends: 0, idleAt: -1, changes: 0, changedAt: -1};
  hm.app = app;
  hm.last = app.getAttribute(attr);
  window.__hm = hm;
  new MutationObserver(() => {  // the page's content: when it last changed
    if (window.__hm.app !== app) return;
    hm.changes += 1;
    hm.changedAt = performance.now();
  }).observe(app, {childList: true, subtree: true, characterData: true});
  new MutationObserver((records) => {
    if (window.__hm.app !== app) return;
    const t = performance.now();
    const values = records.slice(1).map(r => r.oldValue);
    values.push(app.getAttribute(attr));
    for (const v of values) {
      if (v === hm.last) continue;
      if (v === 'running') hm.runs += 1;
      else if (hm.last === 'running') { hm.ends += 1; hm.idleAt = t; }
      hm.last = v;
    }
  }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: [attr]});
}
const hm = window.__hm;
const h1 = document.querySelector('h1');
return [performance.now(), hm ? hm.runs : 0, hm ? hm.ends : 0, hm ? hm.idleAt : -1,
        app ? app.getAttribute(attr) : null, h1 ? h1.textContent : null, hm ? hm.changes : 0,
        hm ? hm.changedAt : -1];
"""


@dataclass
class _Mark:
    """A tab's clock, run counters and page-change count when a gesture was made."""

    at: float
    runs: int
    ends: int
    changes: int = 0

    def done(self, watched) -> float | None:
        """Seconds from the gesture until a run it caused ended, or None while there is none."""
        _, runs, ends, idle_at, state, *_ = watched
        if state == "notRunning" and runs > self.runs and ends > self.ends and idle_at >= self.at:
            return (idle_at - self.at) / 1000
        return None

    def arrived(self, watched, title: str) -> float | None:
        """For a page change whose run the browser never showed as running (a busy browser can
        apply "running" and "notRunning" in one render): the page titled `title` is drawn, the
        app is idle and nothing has changed for QUIET s. Seconds from the gesture until its last
        change (an upper bound of the end of the run), or None."""
        now, _, _, _, state, h1, changes, changed_at = watched
        if (state == "notRunning" and (h1 or "").strip().startswith(title) and changes > self.changes and changed_at >= self.at
                and now - changed_at >= QUIET * 1000):
            return (changed_at - self.at) / 1000
        return None


QUIET = 2.0  # seconds


def _mark(driver) -> _Mark:
    now, runs, ends, _, _, _, changes, _ = _watch(driver)
    return _Mark(now, runs, ends, changes)


@dataclass
class _Session:
    """One browser window looping through the benchmark's actions without ever blocking the others."""

    handle: str
    actions: itertools.cycle
    action: str = ""
    phase: str = "idle"  # "navigating" (to the action's page, not timed), "acting" (timed), "idle"
    started: _Mark = field(default_factory=lambda: _Mark(0.0, 0, 0))  # the window's clock at the gesture
    since: float = 0.0  # this process's clock at the same moment (a guard against stuck windows)
    target: str | None = None  # the page a page change goes to
    looked: float = float("-inf")  # this process's clock when the benchmark last looked at the window


@dataclass
class LoadResult:
    times: dict = field(default_factory=dict)  # action -> [seconds]
    errors: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    unseen: int = 0  # page changes timed by their last change: the browser never showed their run
    worker_memory: dict = field(default_factory=dict)  # the server's child processes

    def summary(self) -> list[str]:
        lines = [f"completed actions: {sum(len(v) for v in self.times.values())}", f"errors: {len(self.errors)}"]
        for action, values in sorted(self.times.items()):
            if not values:
                lines.append(f"{action}: 0 done")
                continue
            lines.append(f"{action}: {len(values)} done, median {_median(values):.2f} s, worst {max(values):.2f} s")
        lines += [f"  error: {e.splitlines()[0][:300] if e else '(empty)'}" for e in self.errors[:5]]
        if self.unseen:
            lines.append(f"page changes whose run the browser never showed running (timed to their last change): "
                         f"{self.unseen}")
        lines.append("server memory MB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.memory.items()))
        if self.worker_memory:
            lines.append("worker memory MB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.worker_memory.items()))
        return lines


ACTIONS = ("regenerate", "photo upload", "variant switch", "page switch")
PAGE_OF = {"regenerate": "HappyMaps", "photo upload": "Your photo"}
PATHS = {"HappyMaps": "HappyMaps", "Your photo": "Your_photo", "Overview": ""}
TITLES = {"HappyMaps": "HappyMaps", "Your photo": "Your photo", "Overview": "HappyMaps"}  # their h1
STUCK = 180  # seconds without an answer: counted as an error
# How often the benchmark looks at each window. Every look is a WebDriver round trip that wakes
# the window: looking at 20 idle tabs as fast as WebDriver allows (28 looks a second) kept
# Chromium at 1.55 of the 2 cores with nothing happening on the pages; 20 windows (101 looks a
# second) at 0.91. The times themselves are read from the browser's clock, so a slower look
# delays only the next gesture, as a person's glance at the finished page would.
LOOK_EVERY = 1.0  # seconds


def _watch(driver) -> tuple:
    """(the tab's clock, script runs started, runs ended, clock at the last end, state, the title's
    text or None, page changes, clock at the last page change)."""
    return tuple(driver.execute_script(_WATCH))


def _on_page(driver, name: str) -> bool:
    path = driver.current_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return path == PATHS[name] or (name == "Overview" and ":" in path)  # the Overview is the bare address


def _click_link(page: browser.Page, name: str) -> None:
    """Go to another page as a person does: the sidebar link (the app swaps pages in place)."""
    for link in page.find('[data-testid="stSidebar"] a'):
        if link.text.strip().splitlines()[-1:] == [name]:
            link.click()
            return
    raise LookupError(f"no sidebar link {name!r}")


def _step(page: browser.Page, session: _Session, result: "LoadResult") -> None:
    """Look at one window once and move it along: start its next action, or note one that ended."""
    driver = page.driver
    watched = _watch(driver)
    took = session.started.done(watched)
    if took is None and session.phase != "idle" and session.target and _on_page(driver, session.target):
        took = session.started.arrived(watched, TITLES[session.target])
        if took is not None and session.phase == "acting":
            result.unseen += 1
    if session.phase == "acting":
        if took is not None:
            result.times[session.action].append(took)
            result.errors.extend(page.problems())
            session.phase = "idle"
        elif time.perf_counter() - session.since > STUCK:
            _, runs, ends, _, state, title, *_ = watched
            result.errors.append(f"{session.action}: no answer after {STUCK} s (state {state}, runs "
                                 f"{session.started.runs}->{runs}, ends {session.started.ends}->{ends}, "
                                 f"title {title}, {driver.current_url})")
            session.phase = "idle"
        return
    if session.phase == "navigating":
        if took is not None or session.target is None:
            _act(page, session)  # else the page does not show its control yet: look again next time
        return
    session.action = next(session.actions)
    target = PAGE_OF.get(session.action)
    session.target = None
    if target and not _on_page(driver, target):
        session.started, session.phase, session.target = _mark(driver), "navigating", target
        _click_link(page, target)
        return
    if session.action == "variant switch":
        current = page.selected("Network variant")
        session.started, session.since, session.phase = _mark(driver), time.perf_counter(), "acting"
        _choose(page, "Network variant", next(v for v in VARIANTS if v != current))
    elif session.action == "page switch":
        session.target = "Overview" if not _on_page(driver, "Overview") else "Your photo"
        session.started, session.since, session.phase = _mark(driver), time.perf_counter(), "acting"
        _click_link(page, session.target)
    elif not _act(page, session):
        session.phase = "navigating"  # on its page, whose control is not drawn yet: look again next time


def _act(page: browser.Page, session: _Session) -> bool:
    """The timed gesture of an action whose page is open (a click or an upload); False when the
    page does not show its control yet."""
    mark = _mark(page.driver)
    if session.action == "regenerate":
        found = [b for b in page.find('[data-testid="stBaseButton-primary"]') if "Regenerate" in b.text]
    else:
        found = page.find('[data-testid="stFileUploader"] input[type="file"]')
    if not found:
        return False
    session.started, session.since, session.phase, session.target = mark, time.perf_counter(), "acting", None
    if session.action == "regenerate":
        found[0].click()
    else:
        found[0].send_keys(str(UPLOAD.resolve()))
    return True


def _choose(page: browser.Page, label: str, option: str) -> None:
    _option(page, label, option)()


def _children(pid: int) -> list[int]:
    """The processes a process started, and theirs (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _workers_mb(pid: int) -> float:
    """Resident memory of the server's child processes (its regeneration worker), in MB."""
    total = 0.0
    for child in _children(pid):
        try:
            total += browser.rss_mb(child)
        except OSError:
            pass  # it has just ended
    return total


def _nice_of(pid: int) -> str:
    try:
        return str(os.getpriority(os.PRIO_PROCESS, pid))
    except OSError:
        return "?"


def _renice_tree(pid: int, nice: int, spare: int) -> None:
    """Every thread of a process's descendants but `spare` and its own to `nice` (Chromium sets
    its own thread priorities, some at -8 when it may: the tree is set again every few seconds)."""
    spared = {spare, *_children(spare)}
    for child in set(_children(pid)) - spared:
        for task in Path(f"/proc/{child}/task").glob("*"):
            try:
                if os.getpriority(os.PRIO_PROCESS, int(task.name)) != nice:
                    os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
            except (OSError, ValueError):
                pass  # it has just ended


# The load benchmark's browsers share the server's cores here, at the priorities Chromium gives
# itself (some threads at -8 as root, above the server): the harder case. `--browser-nice 10`
# puts them below the server, as when the browsers are the clients' own machines.
BROWSER_NICE = 0


def load_benchmark(sessions: int = 20, seconds: float = 120, settle: float = 60, browser_nice: int = BROWSER_NICE,
                   log=print) -> LoadResult:
    """`sessions` windows of one Chromium loop through a HappyMaps regeneration, a photo upload, a
    variant switch and a page load, for `seconds`; then the windows close and the server's memory is
    read again after `settle` seconds. Each action's time is the browser's own, from the gesture
    until the app has stopped running. `browser_nice`: every thread of the Chromium it starts runs at
    that CPU priority, the server at its own (a real deployment has the browsers on other
    machines; here they share the server's cores); 0: as Chromium sets them."""
    result = LoadResult(times={a: [] for a in ACTIONS})
    with browser.serve_process() as (url, _, process):
        log(f"{sessions} sessions (windows of one headless Chromium, each looked at every {LOOK_EVERY:g} s) for "
            f"{seconds:.0f} s, on the server's {os.cpu_count()} cores; CPU priority (nice): server "
            f"{_nice_of(process.pid)}, Chromium "
            + (f"{browser_nice} (every thread, set again every 5 s), below the server, as when the browsers are "
               f"the clients' own" if browser_nice else "as it sets itself (some threads at -8 as root)")
            + f"; regenerations in the server's worker process (nice {workers.NICE})")
        driver = browser.chromium()
        reniced = 0.0

        def renice():
            nonlocal reniced
            if browser_nice and time.perf_counter() - reniced > 5:
                _renice_tree(os.getpid(), browser_nice, spare=process.pid)
                reniced = time.perf_counter()

        try:
            renice()
            page = browser.Page(driver, url)
            page.open("", 300)  # TensorFlow loaded, first page cached
            result.memory["before"] = browser.rss_mb(process.pid)
            result.worker_memory["before"] = _workers_mb(process.pid)
            windows = []
            for i in range(sessions):
                if i:
                    driver.switch_to.new_window("window")
                    driver.get(f"{url}/")
                    page.wait_for("h1", 300)
                    page.wait_idle(300)
                renice()
                _watch(driver)  # the clock's watcher, installed once: pages change in place from here on
                order = ACTIONS[i % len(ACTIONS):] + ACTIONS[: i % len(ACTIONS)]  # not all regenerate at once
                windows.append(_Session(driver.current_window_handle, itertools.cycle(order)))
            peak, worker_peak = result.memory["before"], result.worker_memory["before"]
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or any(t.phase == "acting" for t in windows):
                if time.perf_counter() > deadline + 300:
                    result.errors.append("actions still running 300 s after the end")
                    break
                for session in windows:
                    now = time.perf_counter()
                    if (now >= deadline and session.phase != "acting") or now - session.looked < LOOK_EVERY:
                        continue
                    session.looked = now
                    driver.switch_to.window(session.handle)
                    _step(page, session, result)
                    renice()
                still_looked_at = [t.looked for t in windows if time.perf_counter() < deadline or t.phase == "acting"]
                due = min(still_looked_at, default=0.0) + LOOK_EVERY - time.perf_counter()
                if due > 0:
                    time.sleep(min(due, 0.2))
                peak = max(peak, browser.rss_mb(process.pid))
                worker_peak = max(worker_peak, _workers_mb(process.pid))
            result.memory["peak"], result.worker_memory["peak"] = peak, worker_peak
        finally:
            driver.quit()
        time.sleep(settle)  # the sessions are gone; Streamlit drops their state
        result.memory[f"{settle:.0f} s after"] = browser.rss_mb(process.pid)
        result.worker_memory[f"{settle:.0f} s after"] = _workers_mb(process.pid)
    for line in result.summary():
        log(line)
    return result


# ---------------------------------------------------------------- large uploads


def _large_photos(folder: Path, count: int, size: int) -> list[Path]:
    """`count` different size x size JPEGs made from the shipped astronaut sample."""
    from PIL import Image, ImageEnhance

    base = Image.open(UPLOAD).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    paths = []
    for i in range(count):
        path = folder / f"large-{size}-{i}.jpg"
        ImageEnhance.Brightness(base).enhance(0.8 + 0.04 * i).save(path, quality=90)
        paths.append(path)
    return paths


def uploads_benchmark(count: int = 10, size: int = 3000, settle: float = 150, sessions: int = 2,
                      log=print) -> dict:
    """`sessions` browser sessions, one after another, each upload `count` different size x size
    photos one at a time on Your photo and close; the server's memory is read before, after each
    session's uploads, and `settle` seconds after the last session closed (Streamlit keeps a closed
    session's state for server.disconnectedSessionTTL, 120 s by default). Bounded: the second
    session adds (almost) nothing to what the first left."""
    import tempfile

    memory: dict = {}
    problems: list = []
    with tempfile.TemporaryDirectory() as folder, browser.serve_process() as (url, _, process):
        photos = _large_photos(Path(folder), count * sessions, size)
        log(f"{sessions} sessions one after another, each {count} uploads of {size}x{size} JPEGs "
            f"({photos[0].stat().st_size / 2**20:.1f} MB each, all different); {settle:.0f} s after the last closed")
        for number in range(1, sessions + 1):
            driver = browser.chromium()
            try:
                page = browser.Page(driver, url)
                page.open("Your_photo", 300)
                if number == 1:
                    page.upload(UPLOAD, timeout=300)  # every model and cache of the page warm: not counted
                    page.open("Your_photo", 300)
                    memory["before"] = browser.rss_mb(process.pid)
                for photo in photos[(number - 1) * count: number * count]:
                    page.upload(photo, timeout=300)
                problems += page.problems()
                memory[f"after session {number}'s uploads"] = browser.rss_mb(process.pid)
            finally:
                driver.quit()
        time.sleep(settle)
        memory[f"{settle:.0f} s after the last session closed"] = browser.rss_mb(process.pid)
    log("server memory MB: " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()))
    log(f"kept after the sessions: {memory[f'{settle:.0f} s after the last session closed'] - memory['before']:+.0f} MB")
    log(f"errors: {len(problems)}")
    return {**memory, "errors": len(problems)}
