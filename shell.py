"""The page shell: configure a page and show its title at once, before the heavy imports.

Importing the library loads TensorFlow (several seconds on a fresh server); a page calls
`open_page` first, so a visitor sees the title while that happens.
"""

import streamlit as st


def open_page(title: str, heading: str | None = None) -> None:
    st.set_page_config(page_title=f"HappyMaps · {title}", page_icon=":material/psychology:", layout="wide")
    st.title(heading or title)
