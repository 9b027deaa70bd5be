"""The crop square and "why this answer" in Chromium, against the real server: what the page
sends after the square is moved (by mouse, keyboard and touch) is read back from the request."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from e2e.test_app import assert_chart, file_payload, no_sideways_scroll

pytestmark = pytest.mark.e2e

QUADRANTS = {
    "top left": (220, 30, 30),
    "top right": (30, 200, 30),
    "bottom left": (30, 60, 220),
    "bottom right": (240, 220, 20),
}
SIDE = 200


def quadrant_picture(side=SIDE) -> bytes:
    """A square picture whose four quadrants are four clearly different colours."""
    array = np.zeros((side, side, 3), np.uint8)
    half = side // 2
    array[:half, :half] = QUADRANTS["top left"]
    array[:half, half:] = QUADRANTS["top right"]
    array[half:, :half] = QUADRANTS["bottom left"]
    array[half:, half:] = QUADRANTS["bottom right"]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


# Chromium does not hand Playwright the body of a multipart request made of Blobs, so the page's
# fetch is watched from inside: each request still goes to the real server as it is, and the
# `image` field it carried is kept (name and bytes) for the test to read. A function: Playwright
# calls the value of the expression it evaluates when that is a function, and a script ending in
# `window.fetch = ...` would have it fetch "null" once (a 404).
RECORD_UPLOADS = """() => {
  window.__uploads = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = async (url, init = {}) => {
    if (init.body instanceof FormData && String(url).endsWith('/api/predict')) {
      const image = init.body.get('image');
      const bytes = new Uint8Array(await image.arrayBuffer());
      window.__uploads.push({name: image.name, bytes: Array.from(bytes)});
    }
    return realFetch(url, init);
  };
}"""


def answered(response) -> bool:
    """The answer to a classification request (the chart is redrawn from it)."""
    return response.request.method == "POST" and response.url.endswith("/api/predict")


def sent_picture(page) -> tuple[str, np.ndarray]:
    """The file name and pixels of the last picture the page sent to /api/predict."""
    upload = page.evaluate("window.__uploads.at(-1)")
    picture = Image.open(io.BytesIO(bytes(upload["bytes"]))).convert("RGB")
    return upload["name"], np.asarray(picture)


def colours_in(pixels: np.ndarray) -> dict[str, float]:
    """Which share of the pixels has each quadrant's colour."""
    flat = pixels.reshape(-1, 3).astype(int)
    return {name: float((np.abs(flat - colour).sum(axis=1) < 40).mean())
            for name, colour in QUADRANTS.items()}


def upload_quadrants(page):
    page.evaluate(RECORD_UPLOADS)
    page.set_input_files("[data-testid=file-input]",
                         file_payload("quadrants.png", quadrant_picture()))
    assert_chart(page)
    crop = page.locator("[data-testid=crop]")
    crop.wait_for(state="visible")
    return crop


def drag(page, start, delta, steps=8):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + delta[0], start[1] + delta[1], steps=steps)
    page.mouse.up()


def centre(box):
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_moving_the_crop_with_the_mouse_changes_what_the_server_receives(page):
    crop = upload_quadrants(page)
    box = crop.bounding_box()
    preview = page.locator("[data-testid=preview]").bounding_box()
    # a square picture: the starting square is all of it
    assert abs(box["width"] - preview["width"]) < 3
    assert page.locator("[data-testid=crop-reset]").is_hidden()

    # the corner handle halves the square: its top-left corner stays, so it covers the top left
    handle = page.locator("[data-testid=crop-handle]").bounding_box()
    with page.expect_response(answered):
        drag(page, centre(handle), (-box["width"] / 2, -box["height"] / 2))
    name, pixels = sent_picture(page)
    assert name == "quadrants-crop.png"
    assert abs(pixels.shape[0] - SIDE / 2) <= 4 and pixels.shape[0] == pixels.shape[1]
    assert colours_in(pixels)["top left"] > 0.95
    assert_chart(page)

    # dragging the square to the right: the top right quadrant
    box = crop.bounding_box()
    with page.expect_response(answered):
        drag(page, centre(box), (box["width"], 0))
    assert colours_in(sent_picture(page)[1])["top right"] > 0.95
    assert_chart(page)
    assert "from the left" in page.locator("[data-testid=crop-position]").inner_text()

    # Reset: the original file again, all four colours
    with page.expect_response(answered):
        page.click("[data-testid=crop-reset]")
    name, pixels = sent_picture(page)
    assert name == "quadrants.png" and pixels.shape[:2] == (SIDE, SIDE)
    assert all(share > 0.2 for share in colours_in(pixels).values())
    assert_chart(page)
    assert page.locator("[data-testid=crop-reset]").is_hidden()
    # each crop is its own history entry
    assert page.locator("[data-testid=history-item]").count() == 4


def test_the_crop_moves_with_the_keyboard(page):
    crop = upload_quadrants(page)
    crop.focus()
    with page.expect_response(answered, timeout=15000):
        for _ in range(13):  # - shrinks it by 4 % of the short side about its centre
            page.keyboard.press("Minus")
        for _ in range(3):  # Shift+arrows move it by 10 %, stopping at the edges
            page.keyboard.press("Shift+ArrowRight")
            page.keyboard.press("Shift+ArrowDown")
        # the keys rest for a moment, then the square is classified
    pixels = sent_picture(page)[1]
    assert pixels.shape[0] < SIDE * 0.55
    assert colours_in(pixels)["bottom right"] > 0.95
    assert_chart(page)


def test_the_crop_works_by_touch_on_a_phone(phone):
    page = phone
    crop = upload_quadrants(page)
    handle = page.locator("[data-testid=crop-handle]")
    handle.scroll_into_view_if_needed()
    x, y = centre(handle.bounding_box())
    side = crop.bounding_box()["width"]
    touch = page.context.new_cdp_session(page)
    with page.expect_response(answered):
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for step in range(1, 9):
            point = {"x": x - side * step / 16, "y": y - side * step / 16}
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    pixels = sent_picture(page)[1]
    assert colours_in(pixels)["top left"] > 0.95
    assert_chart(page)
    assert no_sideways_scroll(page)


def overlay_painted(page, selector):
    return page.eval_on_selector(selector, """canvas => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return data.some((value, i) => i % 4 === 3 && value > 0);
    }""")


def test_why_is_shown_on_the_preview_and_for_a_class_picked_in_the_chart(page):
    upload_quadrants(page)
    overlay = page.locator("[data-testid=preview-overlay]")
    overlay.wait_for(state="visible", timeout=20000)
    assert overlay_painted(page, "[data-testid=preview-overlay]")
    # the overlay covers the crop square
    crop_box, overlay_box = page.locator("[data-testid=crop]").bounding_box(), overlay.bounding_box()
    assert abs(crop_box["width"] - overlay_box["width"]) < 6

    # pick the second class by keyboard: its map is asked for and marked as shown
    second = page.locator("[data-testid=results] [data-pick]").nth(1)
    label = second.get_attribute("data-pick")
    with page.expect_request(lambda r: r.url.endswith("/api/explain")):
        second.focus()
        page.keyboard.press("Enter")
    page.wait_for_function("label => document.querySelector('[data-testid=seen-legend]')"
                           ".textContent.includes(label)", arg=label)
    picked = page.locator(f"[data-testid=results] [data-pick='{label}']")
    assert picked.get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.activeElement.dataset.pick") == label
    assert overlay.is_visible() and overlay_painted(page, "[data-testid=preview-overlay]")

    # "Show why" hides both overlays
    page.focus("[data-testid=seen-why]")
    page.keyboard.press("Space")
    assert overlay.is_hidden()
