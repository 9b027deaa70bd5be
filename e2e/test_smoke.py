"""Smoke test: the product as it is run. `make run` serves the app (however it starts it), and the
page in Chromium loads, classifies a photo, shows the About panel's figures and classifies every
example, without a single HTTP error answer or console error: conftest's ``page`` fixture fails
the test on any (its ConsoleLog filters nothing). The rest of e2e/ starts the server its own way
(tests/server.py), which is how the examples and figures answering 404 under `make run` went unseen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import psutil
import pytest
from playwright.sync_api import expect

from bench.fixtures import encode, free_port
from e2e.conftest import ROOT
from e2e.test_app import assert_chart, file_payload
from tests.imagegen import gradient

pytestmark = pytest.mark.e2e
READY_SECONDS = 60  # dependencies already installed; the model warms up in the background
STOP_SECONDS = 30  # gunicorn's graceful_timeout is 20 s


def group(pgid: int) -> list[psutil.Process]:
    """The processes of a process group still alive (a zombie has exited, only not been reaped)."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process)
        except OSError:  # exited meanwhile
            pass
    return members


def stop(make: subprocess.Popen) -> None:
    """SIGTERM to make's whole process group (make, whatever its recipe runs, gunicorn and its
    workers), as a service manager stops it; SIGKILL to whatever outlives STOP_SECONDS, and then
    the test fails: a server that ignores SIGTERM, or a process that escaped the group, is a bug."""
    os.killpg(make.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while (survivors := group(make.pid)) and time.monotonic() < deadline:
        make.poll()  # reaps make once it has exited
        time.sleep(0.2)
    if survivors:
        os.killpg(make.pid, signal.SIGKILL)
    make.wait()
    assert not survivors, [" ".join(p.cmdline()) for p in survivors]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """`make run` on a free port. Overrides conftest's server_url in this module, so the ``page``
    fixture (and its error check) is conftest's own, against the server as a user starts it."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("make-run") / "server.log"
    with log_path.open("wb") as log:  # a file: a pipe nobody reads fills up and blocks the server
        make = subprocess.Popen(["make", "-C", str(ROOT), "run"], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
                                start_new_session=True)  # its own process group, stopped as one
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not ready(url):
            if make.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`make run` {'exited' if make.poll() is not None else 'is not ready'}:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        stop(make)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/ready", timeout=2) as response:
            return response.status == 200
    except OSError:  # refused while gunicorn binds, 503 while the model warms up
        return False


def loaded_sizes(page, images) -> dict[str, int]:
    """src -> naturalWidth of each <img>, once each has finished loading (0: it failed)."""
    for image in images.all():
        # The figures load lazily, once in view. A script's scroll: Playwright's own waits for the
        # image to be visible, and a figure that fails to load hides its image.
        image.evaluate("img => img.scrollIntoView()")
        page.wait_for_function("img => img.currentSrc && img.complete", arg=image.element_handle())
    return dict(images.evaluate_all("images => images.map(img => [img.src, img.naturalWidth])"))


def test_the_page_loads_with_its_example_thumbnails(page):
    expect(page).to_have_title("CIFAR-10 Image Classifier")
    expect(page.get_by_test_id("model-info")).to_contain_text("truck")  # /api/model answered
    thumbnails = page.locator("[data-testid=example] img")
    expect(thumbnails).to_have_count(len(page.request.get("/api/examples").json()["examples"]))
    sizes = loaded_sizes(page, thumbnails)
    assert all(sizes.values()), sizes


def test_a_photo_is_classified(page):
    photo = encode(gradient(160, 120, seed=3), "JPEG", quality=85)
    page.set_input_files("[data-testid=file-input]", file_payload("photo.jpg", photo, "image/jpeg"))
    assert_chart(page)
    # then "what the model saw" (POST /api/explain), whose answer must be no error either
    expect(page.get_by_test_id("seen")).to_be_visible(timeout=20_000)


def test_the_about_panels_figures_load(page):
    reports = page.request.get("/api/model").json()["reports"]
    assert reports, "the shipped model lists no report figures"
    # A figure is shown once /api/model has listed it; one that fails to load is hidden again.
    figures = page.locator("[data-testid=model-info] figure.report:not([hidden]) img")
    expect(figures).to_have_count(len(reports))
    sizes = loaded_sizes(page, figures)
    assert all(sizes.values()), sizes


def test_every_example_draws_a_chart(page):
    examples = page.request.get("/api/examples").json()["examples"]
    assert len(examples) == 10
    buttons = page.get_by_test_id("example")
    expect(buttons).to_have_count(len(examples))
    for i, example in enumerate(examples):
        with page.expect_response(lambda r: r.url.endswith("/api/predict")) as answer:
            buttons.nth(i).click()
        assert answer.value.status == 200, example["label"]
        top = max(answer.value.json()["predictions"], key=lambda p: p["probability"])["label"]
        # The chart redrawn for this example: its name under the preview, its answer on top.
        expect(page.locator("#preview-caption")).to_have_text(f"example-{example['label']}.jpg")
        expect(page.locator("[data-testid=results] [data-testid=bar]").first).to_have_attribute(
            "data-label", top)
        assert_chart(page)
    expect(page.get_by_test_id("seen")).to_be_visible(timeout=20_000)
    # The page fixture saves e2e/screenshots/test_every_example_draws_a_chart.png now.
