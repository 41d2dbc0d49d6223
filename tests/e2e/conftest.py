"""Real-browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium; never
``playwright install``) against a real Daphne and a real matcher on the test database.

Every page gets a watcher that fails the test on a JavaScript error (an uncaught exception or a
console error). Network failures the test causes on purpose (a server restart, a refused order)
are allowed only while the test says it expects them."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, database_url

# On a loaded CI box (two test workers on two cores) a page can take longer than Playwright's
# default 5 s to render or to reconnect (its sockets back off up to 10 s after a server restart):
# assertions wait as long as actions do (``set_default_timeout`` below).
expect.set_options(timeout=20_000)

CHROMIUM = os.environ.get("EXCHANGE_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
NETWORK = re.compile(r"^(Failed to load resource|WebSocket connection to)")



@pytest.fixture(autouse=True, scope="module")
def _sync_db_calls_beside_playwright():
    """Playwright's sync API keeps an event loop in this thread, which makes Django refuse the
    tests' own (plain, synchronous) database calls; allow them for these modules only."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def browser(_sync_db_calls_beside_playwright):
    # Module scope: Playwright's event loop must be gone before the next suite's tests run.
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()
    # Playwright leaves its (stopped) event loop as this thread's current loop: the next suites'
    # asyncio code must start from a clean slate.
    import asyncio

    asyncio.set_event_loop(None)


class ErrorWatch:
    """Console errors and uncaught exceptions of every page of a test."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected_network: set[str] = set()  # substrings of network errors the test expects now

    def attach(self, page, name: str) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: uncaught {exc}"))
        page.on("console", lambda msg: self._console(name, msg))

    def _console(self, name: str, msg) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if NETWORK.match(text) and any(s in text for s in self.expected_network):
            return
        self.errors.append(f"{name}: console.error {text}")

    def check(self) -> None:
        assert not self.errors, "JavaScript errors:\n" + "\n".join(self.errors)


@pytest.fixture
def errors():
    watch = ErrorWatch()
    yield watch
    watch.check()


@pytest.fixture
def browser_user(settings, make_user):
    """A trader whose password the web server can check (it does not know the tests' fast hasher)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    return make_user


@pytest.fixture
def open_page(browser, errors):
    contexts = []

    def open_(base_url: str, *, username: str | None = None, path: str = "/", viewport=(1440, 900), setup=None):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        errors.attach(page, username or "anonymous")
        if username:
            page.goto(base_url + "/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
        if setup:
            setup(page)
        page.goto(base_url + path)
        return page

    yield open_
    for context in contexts:
        context.close()


def restart_web(server, redis_url: str) -> None:
    """Stop the Daphne of ``start_web`` and start a new one on the same port (clients reconnect)."""
    server.stop()
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
           "DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
           "EXCHANGE_RATE_LIMIT_IP_PER_MIN": "1000000", "EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN": "1000000",
           "EXCHANGE_RATE_LIMIT_ORDERS": "1000000"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server.log = open(server.log.name, "ab")  # noqa: SIM115 - closed by server.stop()
    daphne = Path(sys.executable).parent / "daphne"
    server.process = subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(server.port), "exchange.asgi:application"],
                                      cwd=ROOT, env=env, stdout=server.log, stderr=subprocess.STDOUT)
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("daphne did not restart")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def axe_check(page) -> list[dict]:
    """axe-core (vendored; loaded from our own origin, as the CSP wants) on the page: the
    serious and critical violations of WCAG 2 A/AA rules."""
    page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]
