"""Drive the served app in a real browser (headless Chromium through Selenium).

Used by the end-to-end tests and by `python -m vislib.bench pages`:

    with serve() as (url, log):
        page = Page(chromium(), url)
        page.open("Your_photo")
        page.select("Sample", "Sample: astronaut")
        assert not page.problems()

Selenium is a development dependency: it is imported only here, when a browser is wanted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from vislib import settings

ARTIFACTS = settings.REPO_ROOT / "artifacts"
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(port: int | None = None, log: Path | None = None, env: dict | None = None, timeout: float = 120):
    """`streamlit run app.py` on a free local port; yields (url, log path); stops it afterwards."""
    with serve_process(port, log, env, timeout) as (url, log, _):
        yield url, log


@contextlib.contextmanager
def serve_process(port: int | None = None, log: Path | None = None, env: dict | None = None,
                  timeout: float = 120):
    """As `serve`, and yields the server's process too: (url, log path, subprocess.Popen)."""
    port = port or free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = log or ARTIFACTS / f"streamlit-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=settings.REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log, timeout)
        yield url, log, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_healthy(url: str, process, log: Path, timeout: float) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if time.time() > deadline or process.poll() is not None:
            raise RuntimeError(f"streamlit did not start:\n{Path(log).read_text()}")
        time.sleep(0.2)


def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium driven by Selenium (Debian's chromium + chromedriver when present)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")  # else Selenium Manager fetches Chrome for Testing
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", f"--window-size={width},{height}",
                # a fake camera (a test pattern) that needs no permission click, for st.camera_input
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                # background tabs keep running: the load benchmark drives many tabs of one browser
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path) if driver_path else None, options=options)


def phone(width: int = 390, height: int = 844):
    """`chromium` as a phone: a narrow touch screen (CSS pixels), where a finger swipes."""
    driver = chromium(max(width, 500), height)  # Chromium's window has a minimum width; the emulation sets the rest
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    agent = driver.execute_script("return navigator.userAgent").replace("Headless", "")
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride",  # as a phone's browser says it is one
                           {"userAgent": agent.replace("(X11; Linux x86_64)", "(Linux; Android 14; Pixel 8)")
                            + " Mobile", "platform": "Android"})
    return driver


class Page:
    """One browser tab on the app, with the few gestures a person makes."""

    def __init__(self, driver, url: str):
        self.driver, self.url = driver, url

    # ---- reading

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def problems(self) -> list[str]:
        """Texts of exception boxes and error messages on the page."""
        return [e.text for e in self.find(PROBLEMS)]

    def text(self) -> str:
        return self.driver.find_element("tag name", "body").text

    def overflowing_images(self) -> list[str]:
        """Images wider than the page's main column (cut off at its edge), as 'width > column'."""
        return self.driver.execute_script("""
            const main = document.querySelector('[data-testid="stMainBlockContainer"]');
            const edge = main.getBoundingClientRect().right + 1;
            return Array.from(main.querySelectorAll('[data-testid="stImage"] img'))
                .filter(img => img.getBoundingClientRect().right > edge)
                .map(img => `${Math.round(img.getBoundingClientRect().width)} px ending at `
                            + `${Math.round(img.getBoundingClientRect().right)} > ${Math.round(edge)}`);""")

    def image_corners(self) -> list[tuple[int, int]]:
        """Where each image of the main column starts, (left, top) in CSS pixels from the page's corner."""
        return [tuple(corner) for corner in self.driver.execute_script("""
            return Array.from(document.querySelectorAll(
                '[data-testid="stMainBlockContainer"] [data-testid="stImage"] img'))
                .map(img => [Math.round(img.getBoundingClientRect().left + window.scrollX),
                             Math.round(img.getBoundingClientRect().top + window.scrollY)]);""")]

    def enlarged_images(self, timeout: float = 30) -> list[str]:
        """Images in the main column drawn wider than their own pixels (blurred), as 'drawn > own',
        once every image there has loaded (an image still loading has no size of its own yet)."""
        images = '[data-testid="stMainBlockContainer"] [data-testid="stImage"] img'
        deadline = time.time() + timeout
        while self.driver.execute_script(
                f"return Array.from(document.querySelectorAll('{images}')).some(i => !i.complete || !i.naturalWidth);"):
            if time.time() > deadline:
                raise TimeoutError(f"images still loading after {timeout:.0f} s")
            time.sleep(0.1)
        return self.driver.execute_script(f"""
            return Array.from(document.querySelectorAll('{images}'))
                .filter(img => img.getBoundingClientRect().width > img.naturalWidth + 1)
                .map(img => `${{Math.round(img.getBoundingClientRect().width)}} px > ${{img.naturalWidth}} px`);""")

    def scrolling_tables(self) -> list[str]:
        """Visible tables (st.dataframe) wider than their frame, which a client must scroll sideways to
        read, as 'columns: content > frame'."""
        return self.driver.execute_script("""
            return Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'))
                .map(frame => frame.querySelector('.dvn-scroller'))
                .filter(scroller => scroller && scroller.offsetParent && scroller.scrollWidth > scroller.clientWidth + 1)
                .map(scroller => `${Array.from(scroller.closest('[data-testid="stDataFrame"]')
                                      .querySelectorAll('[role="columnheader"]')).map(h => h.innerText).join(' | ')}`
                                 + `: ${scroller.scrollWidth} > ${scroller.clientWidth} px`);""")

    def cut_texts(self) -> list[str]:
        """Texts in the main column cut short with an ellipsis (a figure, a label, a button), as 'text: shown
        width < full width'."""
        return self.driver.execute_script("""
            const main = document.querySelector('[data-testid="stMainBlockContainer"]');
            return Array.from(main.querySelectorAll('*'))
                .filter(e => e.offsetParent && e.clientWidth > 0 && getComputedStyle(e).textOverflow === 'ellipsis'
                             && e.scrollWidth > e.clientWidth + 1)
                .map(e => `${e.innerText}: ${e.clientWidth} < ${e.scrollWidth} px`);""")

    def clipped_pickers(self) -> list[str]:
        """Selectboxes whose closed field shows only part of the chosen option, as 'label: option'."""
        return self.driver.execute_script("""
            return Array.from(document.querySelectorAll('[data-testid="stSelectbox"]'))
                .map(box => [box.querySelector('[data-testid="stWidgetLabel"]'),
                             box.querySelector('input[role="combobox"]')])
                .filter(([label, field]) => field && field.offsetParent && field.scrollWidth > field.clientWidth)
                .map(([label, field]) => `${label ? label.innerText : ''}: ${field.value}`);""")

    def title(self) -> str:
        found = self.find("h1")
        return found[0].text if found else ""

    # ---- waiting

    def wait_for(self, css: str, timeout: float = 120):
        deadline = time.time() + timeout
        while not self.find(css):
            if time.time() > deadline:
                raise TimeoutError(f"no element {css!r} after {timeout:.0f} s")
            time.sleep(0.05)
        return self.find(css)[0]

    def wait_text(self, text: str, timeout: float = 120) -> None:
        """Wait until `text` shows anywhere on the page, then until the script is idle."""
        deadline = time.time() + timeout
        while text not in self.text():
            if time.time() > deadline:
                raise TimeoutError(f"{text!r} did not appear in {timeout:.0f} s")
            time.sleep(0.1)
        self.wait_idle(timeout)

    def busy(self) -> bool:
        """Whether the app is running a script, as its root element says (data-test-script-state)."""
        app = self.find('[data-testid="stApp"]')
        return not app or app[0].get_attribute("data-test-script-state") in ("running", "initial", None) \
            or bool(self.find('[data-testid="stSkeleton"]'))

    def wait_idle(self, timeout: float = 180, quiet: float = 0.3) -> float:
        """Wait until the script has stopped running for `quiet` seconds; returns the seconds until
        it stopped (the quiet spell not counted)."""
        started = time.time()
        time.sleep(0.1)  # give a rerun the chance to start
        calm_since = None
        while True:
            now = time.time()
            if self.busy():
                calm_since = None
            elif calm_since is None:
                calm_since = now
            elif now - calm_since >= quiet:
                return calm_since - started
            if now - started > timeout:
                raise TimeoutError(f"the app was still running after {timeout:.0f} s")
            time.sleep(0.05)

    # ---- gestures

    def open(self, page: str = "", timeout: float = 180) -> None:
        """Open a page by its URL path ('' for the Overview) and wait until it has run."""
        self.driver.get(f"{self.url}/{page}")
        self.wait_for("h1", timeout)
        self.wait_idle(timeout)

    def widget(self, testid: str, label: str):
        for element in self.find(f'[data-testid="{testid}"]'):
            labels = element.find_elements("css selector", '[data-testid="stWidgetLabel"]')
            if labels and labels[0].text.strip() == label:
                return element
        raise LookupError(f"no {testid} labelled {label!r}")

    def select(self, label: str, option: str, timeout: float = 180) -> None:
        """Choose `option` in the selectbox labelled `label`, as a person types and clicks it."""
        from selenium.webdriver.common.keys import Keys

        field = self.widget("stSelectbox", label).find_element("css selector", 'input[role="combobox"]')
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        # key by key, as a person types: a whole text sent at once can leave Streamlit's filter on a
        # stale query that matches nothing (seen for "Legible, smoothed (jitter, blur)")
        for key in option:
            field.send_keys(key)
            time.sleep(0.02)
        deadline = time.time() + 10
        while True:
            matches = [o for o in self.find('[role="option"]') if o.text.strip() == option]
            if matches:
                matches[0].click()
                break
            if time.time() > deadline:
                offered = [o.text for o in self.find('[role="option"]')]
                field.send_keys(Keys.ESCAPE)
                raise LookupError(f"{label!r} offers no option {option!r}; it shows {offered[:8]}")
            time.sleep(0.05)
        self.wait_idle(timeout)

    def nudge_slider(self, label: str, steps: int, timeout: float = 180) -> None:
        """Move the slider labelled `label` by `steps` of its step, with the arrow keys."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        field = self.widget("stSlider", label).find_element("css selector", 'input[type="range"]')
        self.driver.execute_script("arguments[0].focus();", field)
        key = Keys.ARROW_RIGHT if steps > 0 else Keys.ARROW_LEFT
        ActionChains(self.driver).send_keys(*([key] * abs(steps))).perform()
        self.wait_idle(timeout)

    def slider_value(self, label: str) -> str:
        field = self.widget("stSlider", label).find_element("css selector", 'input[type="range"]')
        return field.get_attribute("value")

    def selected(self, label: str) -> str:
        """The option a selectbox shows as chosen."""
        field = self.widget("stSelectbox", label).find_element("css selector", 'input[role="combobox"]')
        return field.get_attribute("value")

    def click_button(self, text: str, timeout: float = 180) -> None:
        for button in self.find('[data-testid="stButton"] button, [data-testid="stBaseButton-primary"], '
                                '[data-testid="stBaseButton-secondary"]'):
            if button.text.strip().endswith(text):
                button.click()
                self.wait_idle(timeout)
                return
        raise LookupError(f"no button {text!r}")

    def click_tab(self, text: str) -> None:
        for tab in self.find('[role="tab"]'):
            if tab.text.strip() == text:
                tab.click()
                time.sleep(0.3)
                return
        raise LookupError(f"no tab {text!r}")

    def click_link(self, text: str, timeout: float = 180) -> None:
        for link in self.find('[data-testid="stSidebar"] a'):
            if link.text.strip().splitlines()[-1:] == [text]:  # the icon's name comes first
                link.click()
                time.sleep(0.2)
                self.wait_for("h1", timeout)
                self.wait_idle(timeout)
                return
        raise LookupError(f"no sidebar link {text!r}")

    def swipe_up(self, element, share: float = 0.5) -> int:
        """A finger swiping up across `element` (a touch screen: `phone`), as to read on; returns how many
        pixels the page scrolled."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        time.sleep(0.3)
        box = self.driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)
        x, start = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * (0.5 + share / 2)
        before = self._scrolled()
        touch = lambda kind, points: self.driver.execute_cdp_cmd(  # noqa: E731
            "Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        touch("touchStart", [{"x": x, "y": start}])
        for step in range(1, 9):
            touch("touchMove", [{"x": x, "y": start - box["height"] * share * step / 8}])
            time.sleep(0.03)
        touch("touchEnd", [])
        time.sleep(0.8)
        return self._scrolled() - before

    def _scrolled(self) -> int:
        """How far the page's scrolling box is scrolled (Streamlit scrolls its main area, not the window)."""
        return self.driver.execute_script(
            "let box = document.querySelector('[data-testid=\"stMain\"]');"
            "while (box && !(box.scrollHeight > box.clientHeight + 2 && getComputedStyle(box).overflowY !== 'visible'))"
            "  box = box.parentElement;"
            "return Math.round((box || document.scrollingElement).scrollTop);")

    def upload(self, *paths: Path, timeout: float = 180) -> None:
        """Send files to the page's (first) file uploader."""
        field = self.find('[data-testid="stFileUploader"] input[type="file"]')[0]
        field.send_keys("\n".join(str(Path(p).resolve()) for p in paths))
        self.wait_idle(timeout)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path
