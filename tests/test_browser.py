"""One real-browser test: `streamlit run` serves the app, headless Chromium renders it."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from vislib import settings

ARTIFACTS = settings.REPO_ROOT / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    log = ARTIFACTS / "streamlit.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
            cwd=settings.REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(0.5)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")  # else Selenium Manager fetches Chrome for Testing
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path) if driver_path else None, options=options)
    yield driver
    driver.quit()


def test_the_served_app_renders_in_a_real_browser_with_no_error_box(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = server
    browser.get(url)
    WebDriverWait(browser, 180).until(seen.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="stMetric"]')))
    WebDriverWait(browser, 180).until(seen.presence_of_element_located((By.CSS_SELECTOR, '.js-plotly-plot')))
    time.sleep(2)  # let the charts finish drawing before the screenshot
    assert "HappyMaps" in browser.find_element(By.TAG_NAME, "h1").text
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stAlertContentError"]')
    shot = ARTIFACTS / "overview.png"
    browser.save_screenshot(str(shot))
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape[1] >= 1000 and pixels.std() > 10, "the screenshot is blank"
    text = log.read_text()
    assert "Traceback" not in text
    assert "st.navigation" not in text and "pages/" not in text, "no multipage warning in the log"
