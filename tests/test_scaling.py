"""Many servers behind one proxy (compose.yaml; README, "Serving many people"), tested without Docker.

nginx from Debian's packages (.ci/system-deps installs it) runs the proxy config compose uses,
rendered from the same template (deploy/nginx.conf.template), in front of two local Streamlit
servers. Headless Chromium uses the app through it: the page loads and follows a variant switch
(its websocket works through the proxy), uploads up to the uploader's limit reach the session, and
every request of one browser reaches one server (sticky sessions), while new browsers spread over
both. The image's install (requirements.txt only) is checked here too: the app runs without the
development packages.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from vislib import browser, imaging, settings

ROOT = settings.REPO_ROOT
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
ROUTE_COOKIE = "happymaps_route"
SWITCHED = "ex1-1: Half the conv filters"  # the Overview's header once ex1-1 is chosen


# ---- the config: one template, filled as the nginx image's entrypoint fills it

def placeholders(template: str) -> set[str]:
    return set(re.findall(r"\$\{(HAPPYMAPS_[A-Z_]+)\}", template))


def render(template: str, values: dict[str, str]) -> str:
    """envsubst restricted to `values`' names ($NAME and ${NAME}), as the nginx image runs it."""
    for name, value in values.items():
        template = re.sub(r"\$(\{%s\}|%s(?![A-Za-z0-9_]))" % (name, name), lambda _: value, template)
    return template


def nginx_conf(tmp: Path, site: Path) -> str:
    """The nginx image's own nginx.conf, reduced: an `http` block that includes the rendered site,
    with every path in `tmp` and an access log that names each request's route and server."""
    temp_paths = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in
                           ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (("user root;\n" if os.geteuid() == 0 else "")  # root's workers write to root's tmp
            + f"worker_processes 1;\nerror_log {tmp / 'error.log'} notice;\n"
            + "events { worker_connections 512; }\n"
            + "http {\n"
            + "    log_format routes '$happymaps_route|$upstream_addr|$status|$request';\n"
            + f"    access_log {tmp / 'access.log'} routes;\n"
            + temp_paths + "\n"
            + f"    include {site};\n"
            + "}\n")


@dataclass
class Entry:
    route: str
    upstream: str
    status: int
    request: str


@dataclass
class Proxy:
    url: str
    port: int
    access_log: Path
    error_log: Path

    def entries(self) -> list[Entry]:
        if not self.access_log.exists():
            return []
        found = []
        for line in self.access_log.read_text().splitlines():
            route, upstream, status, request = line.split("|", 3)
            found.append(Entry(route, upstream, int(status), request))
        return found

    def wait_for_entry(self, wanted, timeout: float = 60) -> Entry:
        """nginx logs a request when it ends (a websocket when it closes)."""
        deadline = time.time() + timeout
        while True:
            matches = [e for e in self.entries() if wanted(e)]
            if matches:
                return matches[0]
            if time.time() > deadline:
                raise TimeoutError(f"no such request in nginx's log after {timeout:.0f} s:\n"
                                   + self.access_log.read_text()[-3000:])
            time.sleep(0.2)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    assert found, "nginx is missing: .ci/system-deps installs it (Debian: apt-get install nginx)"
    return found


def request(proxy: Proxy, method: str, path: str, cookie: str | None = None, body: bytes | None = None,
            headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
    sent = dict(headers or {})
    if cookie:
        sent["Cookie"] = f"{ROUTE_COOKIE}={cookie}"
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def route_set(response: http.client.HTTPResponse) -> str | None:
    """The route cookie's value, when the proxy sets one."""
    for header in response.headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{ROUTE_COOKIE}=([^;]+)", header)
        if match:
            return match.group(1)
    return None


# ---- the servers and the proxy

@pytest.fixture(scope="module")
def upstreams():
    """Two Streamlit servers of the app, each on its own free local port."""
    with contextlib.ExitStack() as stack:
        served = [stack.enter_context(browser.serve(timeout=300)) for _ in range(2)]
        yield [url.removeprefix("http://") for url, _ in served]
        for _, log in served:
            text = log.read_text()
            assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def proxy(upstreams, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    port = browser.free_port()
    site = tmp / "happymaps.conf"
    site.write_text(render(TEMPLATE.read_text(), {
        "HAPPYMAPS_LISTEN": f"127.0.0.1:{port}",
        "HAPPYMAPS_UPSTREAMS": " ".join(f"server {address};" for address in upstreams),
    }))
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(tmp, site))
    nginx = nginx_binary()
    check = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log"),
                            "-g", f"pid {tmp / 'nginx.pid'};"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log"),
                                "-g", f"daemon off; pid {tmp / 'nginx.pid'};"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    running = Proxy(f"http://127.0.0.1:{port}", port, tmp / "access.log", tmp / "error.log")
    try:
        browser.wait_healthy(running.url, process, running.error_log, timeout=60)
        yield running
    finally:
        process.terminate()  # nginx's fast shutdown: open websockets are closed
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


# ---- the tests

def test_compose_and_this_test_fill_the_same_template():
    template = TEMPLATE.read_text()
    compose = (ROOT / "compose.yaml").read_text()
    assert placeholders(template) == {"HAPPYMAPS_LISTEN", "HAPPYMAPS_UPSTREAMS"}  # what the fixture fills
    assert "./deploy/nginx.conf.template:/etc/nginx/templates/" in compose
    for name in placeholders(template):
        assert re.search(rf"^\s+{name}:", compose, re.MULTILINE), f"compose.yaml does not set {name}"
    assert re.search(r"^\s+replicas:", compose, re.MULTILINE)


def test_the_image_gets_what_the_app_reads_and_only_the_runtime_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    copied = {part.rstrip("/") for line in dockerfile.splitlines() if line.startswith("COPY ")
              for part in line.split()[1:-1]}
    for needed in ("app.py", "ui.py", "pages", "vislib", "models", "sample_images", ".streamlit",
                   "requirements.txt"):
        assert needed in copied and needed not in ignored, needed
        assert (ROOT / needed).exists()
    assert "requirements-dev.txt" not in dockerfile
    assert "/_stcore/health" in dockerfile  # the HEALTHCHECK compose waits for


# what requirements-dev.txt adds to requirements.txt (the image's install), by import name
DEV_ONLY = {"tf-keras-vis": "tf_keras_vis", "scikit-image": "skimage", "jax": "jax", "torch": "torch",
            "pytest": "pytest", "hypothesis": "hypothesis", "selenium": "selenium"}

BLOCKED_RUN = """
import importlib, pkgutil, sys
blocked = set(sys.argv[1].split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in requirements.txt)", name=name)

sys.meta_path.insert(0, Blocker())
try:
    import selenium
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the blocker does not work")
import ast, pathlib
import ui, vislib, vislib.attribution
for module in pkgutil.walk_packages(vislib.__path__, "vislib."):
    importlib.import_module(module.name)
for page in ["app.py", "ui.py", *sorted(str(p) for p in pathlib.Path("pages").glob("*.py"))]:
    for node in ast.walk(ast.parse(pathlib.Path(page).read_text())):  # what the pages import, anywhere
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            importlib.import_module(node.module)
from streamlit.testing.v1 import AppTest
app = AppTest.from_file("app.py", default_timeout=300).run()
assert not app.exception, [e.value for e in app.exception]
assert app.title[0].value == "HappyMaps"
print("ran without", sorted(blocked))
"""


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=~!; ]", line, maxsplit=1)[0].lower())
    return names


def test_the_app_and_the_library_need_only_the_runtime_requirements():
    """The image (and `make run`) installs requirements.txt only: every vislib module and all that
    the pages import import, and the Overview runs, with the development packages unimportable."""
    runtime, dev = requirement_names(ROOT / "requirements.txt"), requirement_names(ROOT / "requirements-dev.txt")
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert dev == set(DEV_ONLY) and not runtime & dev, (runtime, dev)
    done = subprocess.run([sys.executable, "-c", BLOCKED_RUN, ",".join(DEV_ONLY.values())], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "ran without" in done.stdout


def test_a_browser_uses_the_app_through_the_proxy_websocket_included_on_one_server(proxy, upstreams):
    driver = browser.chromium()
    try:
        page = browser.Page(driver, proxy.url)
        page.open()
        page.wait_for('[data-testid="stMetric"]')
        assert "HappyMaps" in page.title()
        assert not page.problems(), page.problems()
        assert SWITCHED not in page.text()
        page.select("Network variant", "ex1-1 · Half the conv filters")
        page.wait_text(SWITCHED)  # the rerun ran on the server and came back over the websocket
        assert not page.problems(), page.problems()
        assert page.selected("Network variant") == "ex1-1 · Half the conv filters"
        cookie = driver.get_cookie(ROUTE_COOKIE)
        assert cookie and cookie["value"], driver.get_cookies()
        route = cookie["value"]
    finally:
        driver.quit()  # closes the websocket: nginx logs it
    stream = proxy.wait_for_entry(lambda e: e.route == route and "/_stcore/stream" in e.request)
    assert stream.status == 101, stream  # the websocket upgrade went through
    mine = [e for e in proxy.entries() if e.route == route]
    # the first request (no cookie yet, hashed on the id the cookie then carries) and all later ones
    assert mine[0].request.startswith("GET / "), mine[0]
    assert len(mine) >= 5, mine
    assert {e.upstream for e in mine} == {stream.upstream}, mine
    assert stream.upstream in upstreams


def test_new_browsers_spread_over_both_servers_and_each_stays_on_its_own(proxy, upstreams):
    routes = []
    for _ in range(40):
        first = request(proxy, "GET", "/")
        assert first.status == 200
        route = route_set(first)
        assert route, first.headers
        routes.append(route)
        for path in ("/_stcore/health", "/_stcore/host-config", "/"):
            again = request(proxy, "GET", path, cookie=route)
            assert again.status == 200, (path, again.status)
            assert route_set(again) is None, "a browser that has its route is not given another"
    served_by = {}
    for route in routes:
        entries = [e for e in proxy.entries() if e.route == route]
        assert len(entries) == 4, entries
        servers = {e.upstream for e in entries}
        assert len(servers) == 1, (route, entries)  # sticky
        served_by[route] = servers.pop()
    # 40 random routes, hashed over two servers: both serve some (all on one: about 1e-9 even at a 60/40 split)
    assert set(served_by.values()) == set(upstreams), served_by


def test_uploads_up_to_the_uploaders_limit_reach_the_session_through_the_proxy(proxy, tmp_path):
    """An upload goes to the server that holds the session (elsewhere Streamlit answers "Invalid
    session_id"), and nginx takes a file at the uploader's 50 MB limit (its default is 1 MB)."""
    good = tmp_path / "portrait.png"
    Image.open(settings.SAMPLES_DIR / "astronaut.jpg").save(good)
    big = tmp_path / "big.png"  # not a picture: the app itself must say so, so it must arrive
    # as big as the uploader takes: it counts 50 MB as 50 * 10**6 bytes (on Windows as 50 * 2**20,
    # imaging.MAX_BYTES, which nginx's limit covers too, envelope included)
    big.write_bytes(b"\0" * (50 * 10**6 - 4096))
    driver = browser.chromium()
    try:
        page = browser.Page(driver, proxy.url)
        page.open("Your_photo")
        page.upload(good, big)
        page.wait_text("Decision")  # the portrait reached the session and was answered
        errors = page.problems()
        assert len(errors) == 1 and "big.png" in errors[0], errors  # so did the 50 MB file
        route = driver.get_cookie(ROUTE_COOKIE)["value"]
    finally:
        driver.quit()
    uploads = [e for e in proxy.entries() if "/_stcore/upload_file/" in e.request and e.route == route]
    assert len(uploads) >= 2 and all(200 <= e.status < 300 for e in uploads), uploads
    assert len({e.upstream for e in proxy.entries() if e.route == route}) == 1


def test_the_proxy_refuses_a_body_over_the_uploaders_limit_itself(proxy):
    route = route_set(request(proxy, "GET", "/"))
    # 2 MB over: nginx answers 413 from the announced length, before any byte of the body is sent
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
    connection.putrequest("PUT", "/_stcore/upload_file/no-session/too-big")
    connection.putheader("Content-Length", str(imaging.MAX_BYTES + 2 * 2**20))
    connection.putheader("Cookie", f"{ROUTE_COOKIE}={route}")
    connection.endheaders()
    too_big = connection.getresponse()
    connection.close()
    assert too_big.status == 413
    refused = proxy.wait_for_entry(lambda e: "/too-big " in e.request, timeout=30)
    assert refused.upstream == "-", refused  # no server saw it
