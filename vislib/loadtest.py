"""Page speed and behaviour under load, measured in a real browser (headless Chromium).

    python -m vislib.bench pages                          # cold first title, warm switches
    python -m vislib.bench load --sessions 20 --seconds 120

Every figure is the time from a person's gesture (a click, a choice, an upload) until the page has
finished running, as the browser sees it.
"""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass, field

from vislib import browser, settings

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
    started = _watch(page.driver)[0]
    click()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        _, busy_at, idle_at, state, _ = _watch(page.driver)
        if state == "notRunning" and idle_at > busy_at > started:
            return (idle_at - started) / 1000
        time.sleep(0.02)
    raise TimeoutError(f"the app was still running {timeout:.0f} s after the click")


# ---------------------------------------------------------------- load


# Injected into each tab: the browser's own clock notes when the app's script starts and stops
# running, so a gesture's time does not depend on when the benchmark next looks at that tab.
_WATCH = """
const app = document.querySelector('[data-testid="stApp"]');
if (app && !window.__hm) {
  window.__hm = {busyAt: -1, idleAt: -1};
  new MutationObserver(() => {
    const t = performance.now();
    if (app.getAttribute('data-test-script-state') === 'running') window.__hm.busyAt = t;
    else window.__hm.idleAt = t;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}
return [performance.now(), window.__hm ? window.__hm.busyAt : -1, window.__hm ? window.__hm.idleAt : -1,
        app ? app.getAttribute('data-test-script-state') : null, !!document.querySelector('h1')];
"""


@dataclass
class _Session:
    """One browser tab looping through the benchmark's actions without ever blocking the others."""

    handle: str
    actions: itertools.cycle
    action: str = ""
    phase: str = "idle"  # "navigating" (to the action's page, not timed), "acting" (timed), "idle"
    started: float = 0.0  # the tab's performance.now() when the gesture (or the navigation) was made
    since: float = 0.0  # this process's clock at the same moment (a guard against stuck tabs)


@dataclass
class LoadResult:
    times: dict = field(default_factory=dict)  # action -> [seconds]
    errors: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"completed actions: {sum(len(v) for v in self.times.values())}", f"errors: {len(self.errors)}"]
        for action, values in sorted(self.times.items()):
            if not values:
                lines.append(f"{action}: 0 done")
                continue
            lines.append(f"{action}: {len(values)} done, median {_median(values):.2f} s, worst {max(values):.2f} s")
        lines += [f"  error: {e.splitlines()[0][:200] if e else '(empty)'}" for e in self.errors[:5]]
        lines.append("server memory MB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.memory.items()))
        return lines


ACTIONS = ("regenerate", "photo upload", "variant switch", "page switch")
PAGE_OF = {"regenerate": "HappyMaps", "photo upload": "Your photo"}
PATHS = {"HappyMaps": "HappyMaps", "Your photo": "Your_photo", "Overview": ""}
STUCK = 180  # seconds without an answer: counted as an error


def _watch(driver) -> tuple[float, float, float, str | None, bool]:
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
    """Look at one tab once and move it along: start its next action, or note one that ended."""
    driver = page.driver
    now, busy_at, idle_at, state, _ = _watch(driver)
    done = state == "notRunning" and idle_at > busy_at > session.started
    if session.phase == "acting":
        if done:
            result.times[session.action].append((idle_at - session.started) / 1000)
            result.errors.extend(page.problems())
            session.phase = "idle"
        elif time.perf_counter() - session.since > STUCK:
            result.errors.append(f"{session.action}: no answer after {STUCK} s")
            session.phase = "idle"
        return
    if session.phase == "navigating":
        if done and _act(page, session):  # else the page is still drawing: look again next time
            return
        return
    session.action = next(session.actions)
    target = PAGE_OF.get(session.action)
    if target and not _on_page(driver, target):
        session.started, session.phase = now, "navigating"
        _click_link(page, target)
        return
    if session.action == "variant switch":
        current = page.selected("Network variant")
        session.started, session.since, session.phase = now, time.perf_counter(), "acting"
        _choose(page, "Network variant", next(v for v in VARIANTS if v != current))
    elif session.action == "page switch":
        session.started, session.since, session.phase = now, time.perf_counter(), "acting"
        _click_link(page, "Overview" if not _on_page(driver, "Overview") else "Your photo")
    elif not _act(page, session):
        session.phase = "navigating"


def _act(page: browser.Page, session: _Session) -> bool:
    """The timed gesture of an action whose page is open (a click or an upload); False when the
    page does not show its control yet."""
    now = _watch(page.driver)[0]
    if session.action == "regenerate":
        found = [b for b in page.find('[data-testid="stBaseButton-primary"]') if "Regenerate" in b.text]
    else:
        found = page.find('[data-testid="stFileUploader"] input[type="file"]')
    if not found:
        return False
    session.started, session.since, session.phase = now, time.perf_counter(), "acting"
    if session.action == "regenerate":
        found[0].click()
    else:
        found[0].send_keys(str(UPLOAD.resolve()))
    return True


def _choose(page: browser.Page, label: str, option: str) -> None:
    _option(page, label, option)()


def load_benchmark(sessions: int = 20, seconds: float = 120, settle: float = 60, log=print) -> LoadResult:
    """`sessions` tabs of one Chromium loop through a HappyMaps regeneration, a photo upload, a
    variant switch and a page load, for `seconds`; then the tabs close and the server's memory is
    read again after `settle` seconds. Each action's time is the browser's own, from the gesture
    until the app has stopped running."""
    result = LoadResult(times={a: [] for a in ACTIONS})
    with browser.serve_process() as (url, _, process):
        driver = browser.chromium()
        try:
            page = browser.Page(driver, url)
            page.open("", 300)  # TensorFlow loaded, first page cached
            result.memory["before"] = browser.rss_mb(process.pid)
            tabs = []
            for i in range(sessions):
                if i:
                    driver.switch_to.new_window("tab")
                    driver.get(f"{url}/")
                    page.wait_for("h1", 300)
                    page.wait_idle(300)
                _watch(driver)  # the clock's watcher, installed once: pages change in place from here on
                order = ACTIONS[i % len(ACTIONS):] + ACTIONS[: i % len(ACTIONS)]  # not all regenerate at once
                tabs.append(_Session(driver.current_window_handle, itertools.cycle(order)))
            peak = result.memory["before"]
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or any(t.phase == "acting" for t in tabs):
                if time.perf_counter() > deadline + 300:
                    result.errors.append("actions still running 300 s after the end")
                    break
                for session in tabs:
                    if time.perf_counter() >= deadline and session.phase != "acting":
                        continue
                    driver.switch_to.window(session.handle)
                    _step(page, session, result)
                peak = max(peak, browser.rss_mb(process.pid))
            result.memory["peak"] = peak
        finally:
            driver.quit()
        time.sleep(settle)  # the sessions are gone; Streamlit drops their state
        result.memory[f"{settle:.0f} s after"] = browser.rss_mb(process.pid)
    for line in result.summary():
        log(line)
    return result
