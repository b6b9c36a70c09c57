"""Page speed and behaviour under load, measured in a real browser (headless Chromium).

    python -m vislib.bench pages                          # cold first title, warm switches
    python -m vislib.bench load --sessions 20 --seconds 120

Every figure is the time from a person's gesture (a click, a choice, an upload) until the page has
finished running, as the browser sees it.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vislib import browser, settings

PAGES = {"Overview": "", "HappyMaps": "HappyMaps", "Your photo": "Your_photo"}
VARIANTS = ("exp0 · Baseline", "ex1-1 · Half the conv filters")
SAMPLES = ("Sample: astronaut", "Sample: astronaut_closeup", "Sample: astronaut_wide")
UPLOAD = settings.SAMPLES_DIR / "astronaut.jpg"


def _median(values) -> float:
    return statistics.median(values) if values else float("nan")


def pages_benchmark(repeats: int = 3, log=print) -> dict:
    """Cold first title and complete page, then warm page, variant and sample changes."""
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
            for name in ("HappyMaps", "Your photo", "Overview"):  # every page once: warm from here on
                page.click_link(name)
            switches, variants, samples = [], [], []
            for _ in range(repeats):
                for name in ("HappyMaps", "Your photo", "Overview"):
                    switches.append(_timed(lambda: page.click_link(name)))
            for variant in VARIANTS:  # each variant once, then timed
                page.select("Network variant", variant)
            for _, variant in zip(range(repeats * 2), itertools.cycle(VARIANTS[::-1])):
                variants.append(_timed(lambda: page.select("Network variant", variant)))
            page.click_link("Your photo")
            page.click_tab("Pick a sample")
            for sample in SAMPLES:
                page.select("Sample", sample)
            for _, sample in zip(range(repeats * 2), itertools.cycle(SAMPLES[::-1])):
                samples.append(_timed(lambda: page.select("Sample", sample)))
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


def _timed(gesture) -> float:
    started = time.perf_counter()
    gesture()
    return time.perf_counter() - started


# ---------------------------------------------------------------- load


@dataclass
class _Session:
    """One browser tab looping through the benchmark's actions, one gesture at a time."""

    handle: str
    actions: itertools.cycle
    action: str = ""
    started: float = 0.0
    seen_busy: bool = False


@dataclass
class LoadResult:
    times: dict = field(default_factory=dict)  # action -> [seconds]
    errors: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"completed actions: {sum(len(v) for v in self.times.values())}", f"errors: {len(self.errors)}"]
        for action, values in sorted(self.times.items()):
            lines.append(f"{action}: {len(values)} done, median {_median(values):.2f} s, worst {max(values):.2f} s")
        lines.append("server memory MB: " + ", ".join(f"{k} {v:.0f}" for k, v in self.memory.items()))
        return lines


ACTIONS = ("regenerate", "photo upload", "variant switch", "page switch")


def _begin(page: browser.Page, session: _Session, variant_flip: itertools.cycle) -> None:
    """Start the session's next gesture without waiting for the app."""
    session.action = next(session.actions)
    session.seen_busy = False
    if session.action == "regenerate":
        _navigate(page, "HappyMaps")
        button = [b for b in page.find('[data-testid="stBaseButton-primary"]') if "Regenerate" in b.text]
        session.started = time.perf_counter()
        button[0].click()
    elif session.action == "photo upload":
        _navigate(page, "Your_photo")
        field = page.find('[data-testid="stFileUploader"] input[type="file"]')[0]
        session.started = time.perf_counter()
        field.send_keys(str(UPLOAD.resolve()))
    elif session.action == "variant switch":
        session.started = time.perf_counter()
        _choose(page, "Network variant", next(variant_flip))
    else:
        session.started = time.perf_counter()
        page.driver.get(f"{page.url}/")


def _navigate(page: browser.Page, path: str) -> None:
    """Make sure the tab shows a page (not timed: the gesture that follows is)."""
    if not page.driver.current_url.rstrip("/").endswith(path):
        page.driver.get(f"{page.url}/{path}")
        page.wait_for("h1", 300)
        page.wait_idle(600)


def _choose(page: browser.Page, label: str, option: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field = page.widget("stSelectbox", label).find_element("css selector", 'input[role="combobox"]')
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(option)
    deadline = time.time() + 10
    while time.time() < deadline:
        matches = [o for o in page.find('[role="option"]') if o.text.strip() == option]
        if matches:
            matches[0].click()
            return
        time.sleep(0.05)
    raise LookupError(f"{label!r} offers no option {option!r}")


def load_benchmark(sessions: int = 20, seconds: float = 120, settle: float = 60, log=print) -> LoadResult:
    """`sessions` tabs of one Chromium loop through a HappyMaps regeneration, a photo upload, a
    variant switch and a page load, for `seconds`; then the tabs close and the server's memory is
    read again after `settle` seconds."""
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
                order = ACTIONS[i % len(ACTIONS):] + ACTIONS[: i % len(ACTIONS)]  # not all regenerate at once
                tabs.append(_Session(driver.current_window_handle, itertools.cycle(order)))
                driver.get(f"{url}/")
                page.wait_for("h1", 300)
            flip = itertools.cycle(VARIANTS)
            peak = result.memory["before"]
            deadline = time.perf_counter() + seconds
            for session in tabs:
                driver.switch_to.window(session.handle)
                _begin(page, session, flip)
            while time.perf_counter() < deadline:
                for session in tabs:
                    driver.switch_to.window(session.handle)
                    busy = page.busy()
                    session.seen_busy |= busy
                    done = not busy and (session.seen_busy or time.perf_counter() - session.started > 2)
                    if not done:
                        continue
                    result.times[session.action].append(time.perf_counter() - session.started)
                    result.errors.extend(page.problems())
                    if time.perf_counter() < deadline:
                        _begin(page, session, flip)
                peak = max(peak, browser.rss_mb(process.pid))
            result.memory["peak"] = peak
        finally:
            driver.quit()
        time.sleep(settle)  # the sessions are gone; Streamlit drops their state
        result.memory[f"{settle:.0f} s after"] = browser.rss_mb(process.pid)
    for line in result.summary():
        log(line)
    return result
