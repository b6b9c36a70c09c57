"""The page shell: configure a page and show its title at once, before the heavy imports.

Importing the library loads TensorFlow (several seconds on a fresh server); a page calls
`open_page` first, so a visitor sees the title while that happens.
"""

import streamlit as st


# The pages, in the order of the links to them (the sidebar's, and the phone's row under each title).
PAGES = (("app.py", "Overview", ":material/dashboard:"),
         ("pages/1_HappyMaps.py", "HappyMaps", ":material/grid_view:"),
         ("pages/2_Your_photo.py", "Your photo", ":material/face:"),
         ("pages/3_Why_it_fails.py", "Why it fails", ":material/troubleshoot:"),
         ("pages/4_Compare.py", "Compare", ":material/compare:"),
         ("pages/5_Watch_it_learn.py", "Watch it learn", ":material/movie:"))
# px: at most this wide, Streamlit's sidebar is a drawer over the page, so the links are also under the title
PHONE_WIDTH = 767


def page_links(where) -> None:
    """A link to every page, in `where` (the sidebar, or a container)."""
    for page, label, icon in PAGES:
        where.page_link(page, label=label, icon=icon)


def open_page(title: str, heading: str | None = None) -> None:
    from vislib.plots import app_icon  # drawn here: a Material icon would be fetched from Google's fonts

    st.set_page_config(page_title=f"HappyMaps · {title}", page_icon=app_icon(), layout="wide")
    st.title(heading or title)
    # On a phone the sidebar is a closed drawer behind an unlabelled icon, and a link in it leaves it
    # open over the new page; so the links are also here, in a row shown only on a narrow screen.
    page_links(st.container(horizontal=True, key="phone_links", gap="small"))
    st.html(f"<style>@media (min-width: {PHONE_WIDTH + 1}px) {{ .st-key-phone_links {{ display: none; }} }}</style>")
    shut_down_expired_sessions()
    keep_large_blocks_out_of_the_heap()


@st.cache_resource(show_spinner=False)
def shut_down_expired_sessions(every: float = 30.0) -> bool:
    """Make the server shut down the sessions of closed tabs once they can no longer reconnect.

    Streamlit (1.67) keeps a closed tab's session for `server.disconnectedSessionTTL` seconds so
    the tab can come back, then forgets it without shutting it down: the photos uploaded there
    and the pictures drawn there stay in the server's memory for good. Here the store of closed
    sessions shuts each one down as it expires, and is swept every `every` seconds (or half the
    reconnect time, if shorter), on the server's event loop. Once per server; False, changing
    nothing, where this Streamlit's internals differ or no server runs (AppTest)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.caching.ttl_cache import TTLCache

        runtime = Runtime.instance()
        manager, loop = runtime._session_mgr, runtime._get_async_objs().eventloop
        storage, lock = manager._session_storage, manager._storage_lock
        closed = storage._cache
    except (AttributeError, ImportError, RuntimeError):
        return False
    if not isinstance(closed, TTLCache):
        return False

    class ShutDownOnExpiry(type(closed)):
        def expire(self, at_time=None):
            removed = super().expire(at_time)
            for _, info in removed:
                info.session.shutdown()
            if removed:
                give_back_freed_memory()
                print(f"HappyMaps: shut down {len(removed)} session(s) closed more than {self.ttl:g} s ago", flush=True)
            return removed

    tidy = ShutDownOnExpiry(closed.maxsize, closed.ttl)
    interval = min(every, max(tidy.ttl / 2, 0.5))

    def swap():  # on the server's event loop, where Streamlit itself reads and writes the store
        with lock:
            for key in list(closed):
                try:
                    tidy[key] = closed[key]
                except KeyError:  # expired meanwhile: Streamlit has already forgotten it
                    pass
            storage._cache = tidy
        loop.call_later(interval, sweep)

    def sweep():
        with lock:
            tidy.expire()
        loop.call_later(interval, sweep)

    loop.call_soon_threadsafe(swap)
    return True


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


@st.cache_resource(show_spinner=False)
def keep_large_blocks_out_of_the_heap(threshold: int = 1 << 20) -> bool:
    """Give every allocation of `threshold` bytes or more its own mapping, returned to the system
    as soon as it is freed. glibc raises this threshold by itself (up to 32 MB) each time a large
    block is freed, after which an uploaded photo's decoded pixels are carved out of the heap and
    leave it in pieces that no later trim gives back (measured: a server kept +157 MB after two
    sessions of ten 3000x3000 uploads, +92 MB with this). Once per server; False, changing
    nothing, where there is no glibc."""
    try:
        libc = _glibc()
        # the trim threshold too: glibc raised it with the other, and it keeps freed heap from the system
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)) and libc.mallopt(M_TRIM_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False


def _glibc():
    """The C library; OSError or AttributeError (on use) where it is not glibc."""
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def give_back_freed_memory() -> None:
    """Free what a shut-down session left (cycles included) and ask glibc to return the freed pages
    to the system: without `malloc_trim` a closed session's large photos stay in the server's
    resident memory although nothing uses them. Nothing happens where there is no glibc."""
    import gc

    gc.collect()
    try:
        _glibc().malloc_trim(0)
    except (OSError, AttributeError):
        pass
