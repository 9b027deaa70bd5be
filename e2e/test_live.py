"""Live webcam mode in Chromium (its fake camera), against the real server and its default limits."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from e2e.test_app import assert_chart

pytestmark = pytest.mark.e2e


def test_live_mode_updates_the_chart_in_place_and_stops_when_toggled_off(page):
    answers = []
    page.on("response", lambda r: r.url.endswith("/api/predict") and answers.append(r.status))
    page.click("[data-testid=camera-start]")
    page.wait_for_function("() => document.querySelector('[data-testid=camera-video]').videoWidth > 0")
    live = page.locator("[data-testid=camera-live]")
    live.click()
    expect(live).to_have_attribute("aria-pressed", "true")

    # several answers, each redrawing the chart where it was: no layout jumps
    positions = set()
    deadline = time.monotonic() + 20
    while len(answers) < 5 and time.monotonic() < deadline:
        page.wait_for_timeout(150)
        if answers:
            positions.add(round(page.locator("[data-testid=results]").bounding_box()["y"]))
    assert len(answers) >= 5 and set(answers) == {200}, answers
    assert len(positions) == 1, positions
    assert_chart(page)
    assert page.locator("[data-testid=history-item]").count() == 0  # frames are not kept

    live.click()
    expect(live).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(300)  # a frame already on its way may still be answered
    stopped_at = len(answers)
    page.wait_for_timeout(1500)
    assert len(answers) == stopped_at
    assert_chart(page)  # the last answer stays
    page.click("[data-testid=camera-stop]")


def test_live_mode_stops_when_the_page_is_hidden(page):
    answers = []
    page.on("response", lambda r: r.url.endswith("/api/predict") and answers.append(r.status))
    page.click("[data-testid=camera-start]")
    page.wait_for_function("() => document.querySelector('[data-testid=camera-video]').videoWidth > 0")
    page.click("[data-testid=camera-live]")
    page.wait_for_selector("[data-testid=results] [data-testid=bar]")
    # as when the user switches tabs: the page is told it is hidden
    page.evaluate("""() => {
      Object.defineProperty(document, 'hidden', {value: true, configurable: true});
      document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(300)
    stopped_at = len(answers)
    page.wait_for_timeout(1500)
    assert len(answers) == stopped_at
    assert page.locator("[data-testid=camera-live]").is_hidden()
    assert "hidden" in page.locator("[data-testid=status]").inner_text()
