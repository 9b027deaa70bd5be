"""End-to-end fixtures: the real server (gunicorn, shipped model) on a free port, and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ml import SHIPPED_MODEL
from tests.server import running_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "e2e" / "screenshots"
ROOT_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
              "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def server_url():
    # As `make run` and render.yaml start it, with the committed example pictures, and MODEL_PATH
    # relative to the repository root (tests/server.py starts the server there).
    model = os.environ.get("TEST_MODEL_PATH", SHIPPED_MODEL)
    with running_server(model) as (_, url):
        yield url


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=ROOT_FLAGS + FAKE_CAMERA)
    yield browser
    browser.close()


# Chromium's console line for an error answer; the resource's URL is the message's location.
FAILED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


class ConsoleLog:
    """Console errors, uncaught page errors and HTTP answers >= 400 the page receives during a
    test. Nothing is filtered: a test that provokes an error answer on purpose declares it with
    ``expect``, and an error it declares must then happen."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []  # (text, url of the script or resource)
        self.responses: list[tuple[int, str]] = []  # (status, url) of each answer >= 400
        self.expected: list[tuple[int, str]] = []  # (status, path)

    def attach(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(
            (msg.text, msg.location.get("url", ""))))
        page.on("pageerror", lambda error: self.errors.append((f"uncaught: {error}", "")))
        page.on("response", lambda response: response.status >= 400 and self.responses.append(
            (response.status, response.url)))

    def expect(self, status: int, path: str) -> None:
        """The page will receive ``status`` from ``path`` (which Chromium logs as a failed resource)."""
        self.expected.append((status, path))

    def declared(self, status: int, url: str) -> bool:
        return (status, urlsplit(url).path) in self.expected

    def unexpected(self) -> list[str]:
        problems = [f"HTTP {status} {url}" for status, url in self.responses
                    if not self.declared(status, url)]
        for text, url in self.errors:
            failed = FAILED_RESOURCE.match(text)
            if not (failed and self.declared(int(failed[1]), url)):
                problems.append(f"{text} ({url})" if url else text)
        received = {(status, urlsplit(url).path) for status, url in self.responses}
        problems += [f"expected HTTP {status} from {path}, never received"
                     for status, path in self.expected if (status, path) not in received]
        return problems


@pytest.fixture()
def console():
    return ConsoleLog()


@pytest.fixture()
def phone(browser, server_url, console):
    """The page on a 375 px touch screen, with the same console check as ``page``."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=server_url,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    console.attach(page)
    page.goto("/")
    page.wait_for_selector("[data-testid=dropzone]")
    yield page
    context.close()
    assert console.unexpected() == [], console.unexpected()


@pytest.fixture()
def page(browser, server_url, console, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server_url)
    context.grant_permissions(["camera", "clipboard-read"], origin=server_url)
    page = context.new_page()
    console.attach(page)
    page.goto("/")
    page.wait_for_selector("[data-testid=dropzone]")
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert console.unexpected() == [], console.unexpected()
