"""Opening the app under Streamlit's AppTest, shared by the page tests."""

from streamlit.testing.v1 import AppTest

from vislib import settings

APP = str(settings.REPO_ROOT / "app.py")
TIMEOUT = 300


def open_page(page: str | None = None) -> AppTest:
    """A fresh session on the Overview, then on `page` (e.g. "pages/4_Compare.py") if given."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    return at.switch_page(page).run() if page else at
