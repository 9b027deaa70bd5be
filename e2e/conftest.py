"""End-to-end fixtures: the real server (gunicorn, shipped model) on a free port, and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "e2e" / "screenshots"
ROOT_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
              "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
           "ACCESS_LOG": "0", "MODEL_PATH": os.environ.get("TEST_MODEL_PATH",
                                                           str(ROOT / "models" / "cifar10_cnn.pkl"))}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "backend/gunicorn.conf.py"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                process.kill()
                pytest.fail(f"server did not start:\n{output[-3000:]}")
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


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


class ConsoleLog:
    """Console errors and uncaught page errors seen during a test."""

    def __init__(self):
        self.errors: list[str] = []

    def attach(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def unexpected(self) -> list[str]:
        # A 4xx answer the test provoked on purpose is logged by Chromium as a failed resource.
        return [e for e in self.errors if not e.startswith("Failed to load resource: the server "
                                                           "responded with a status of 4")]


@pytest.fixture()
def console():
    return ConsoleLog()


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
