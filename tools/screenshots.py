"""Retake the README's screenshots from the running app, in headless Chromium.

    HAPPYMAPS_DATA=../shared/datasets .venv/bin/python tools/screenshots.py   # writes docs/*.png

Only pictures that may be published: the Overview, HappyMaps, and Your photo on the public-domain
astronaut sample (never a CMU or Pointing'04 photo).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vislib import browser, settings  # noqa: E402

DOCS = settings.REPO_ROOT / "docs"
SHOTS = {  # file: (page path with query, text that shows when the page is complete, window height)
    "overview.png": ("?variant=exp0", "Architecture", 1100),
    "happymaps.png": ("HappyMaps?variant=exp0", "Regenerate", 1300),
    "photo.png": ("Your_photo?sample=Sample:%20astronaut", "Where does the network look?", 1500),
}


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with browser.serve() as (url, _):
        for name, (path, ready, height) in SHOTS.items():
            driver = browser.chromium(1400, height)
            try:
                page = browser.Page(driver, url)
                page.open(path, timeout=300)
                page.wait_text(ready, timeout=300)
                time.sleep(2)  # charts finish drawing
                if page.problems():
                    print(f"{name}: the page shows an error: {page.problems()[0][:200]}", file=sys.stderr)
                    return 1
                driver.save_screenshot(str(DOCS / name))
                print(f"wrote {DOCS / name}")
            finally:
                driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
