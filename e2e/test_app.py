"""The page in Chromium, against the real server and the shipped model."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from e2e.conftest import CHROMIUM, ROOT_FLAGS

pytestmark = pytest.mark.e2e
CLASSES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}


def picture(seed=0, size=(96, 64)) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    array = np.stack([x * 255 // size[0], y * 255 // size[1], rng.integers(60, 200, size[::-1])], -1)
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def file_payload(name="photo.png", data=None, mime="image/png"):
    return {"name": name, "mimeType": mime, "buffer": data if data is not None else picture()}


def bars(page):
    page.wait_for_selector("[data-testid=results] [data-testid=bar]")
    return page.locator("[data-testid=results] [data-testid=bar]")


def assert_chart(page, k=5):
    locator = bars(page)
    assert locator.count() == k
    labels = [locator.nth(i).get_attribute("data-label") for i in range(k)]
    probabilities = [float(locator.nth(i).get_attribute("data-probability")) for i in range(k)]
    assert set(labels) <= CLASSES and len(set(labels)) == k
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)
    # the percentage is there as text, not only as a bar length
    assert "%" in locator.nth(0).inner_text()
    return labels, probabilities


DROP_SCRIPT = """([selector, files, eventName]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = selector ? document.querySelector(selector) : document;
  if (eventName === 'drop') {
    for (const type of ['dragenter', 'dragover']) {
      target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
    }
    target.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: transfer}));
  } else {
    target.dispatchEvent(new ClipboardEvent('paste', {bubbles: true, cancelable: true,
                                                       clipboardData: transfer}));
  }
}"""


def encoded(*files):
    return [{"name": name, "type": mime, "data": base64.b64encode(data).decode()}
            for name, data, mime in files]


def test_file_picker_shows_top_5_bars(page):
    page.set_input_files("[data-testid=file-input]", file_payload())
    assert_chart(page, 5)
    assert page.locator("[data-testid=preview]").is_visible()
    assert page.locator("[data-testid=error]").is_hidden()


def test_drag_and_drop(page):
    page.evaluate(DROP_SCRIPT, ["[data-testid=dropzone]", encoded(("dropped.png", picture(1), "image/png")),
                                "drop"])
    assert_chart(page)


def test_paste_from_clipboard(page):
    page.evaluate(DROP_SCRIPT, [None, encoded(("pasted.png", picture(2), "image/png")), "paste"])
    assert_chart(page)


def test_several_files_make_a_batch(page):
    page.set_input_files("[data-testid=file-input]",
                         [file_payload(f"p{i}.png", picture(i)) for i in range(3)])
    page.wait_for_selector("[data-testid=batch-item] >> nth=2")
    assert page.locator("[data-testid=batch-item]").count() == 3
    assert_chart(page)


def test_a_batch_over_the_byte_limit_is_sent_in_several_requests(page, tmp_path):
    # Eight photos of ~8.9 MB: each under the 10 MB a file, 71 MB together, over the 64 MB a
    # request the server publishes (and refuses beyond, with a plain-text 413).
    noise = np.random.default_rng(0).integers(0, 256, (1720, 1720, 3), dtype=np.uint8)
    paths = []
    for i in range(8):
        path = tmp_path / f"big{i}.png"
        Image.fromarray(noise).save(path, "PNG", compress_level=0)
        paths.append(str(path))
    sizes = [Path(path).stat().st_size for path in paths]
    assert max(sizes) < 10 * 2**20 < 64 * 2**20 < sum(sizes)
    statuses = []
    page.on("response", lambda response: response.url.endswith("/api/predict/batch")
            and statuses.append(response.status))
    page.set_input_files("[data-testid=file-input]", paths)  # paths: buffers over 50 MB are refused
    page.wait_for_selector("#batch-summary:has-text('8 of 8 images classified')", timeout=60_000)
    assert len(statuses) >= 2 and set(statuses) == {200}, statuses
    names = page.locator("[data-testid=batch-item] .item-name").all_inner_texts()
    assert names == [f"big{i}.png" for i in range(8)]
    assert page.locator("[data-testid=batch-item].is-error").count() == 0
    assert page.locator("[data-testid=error]").is_hidden()
    assert_chart(page)


def test_k_selector_changes_the_number_of_bars(page):
    page.set_input_files("[data-testid=file-input]", file_payload())
    assert_chart(page, 5)
    for k in ("3", "10", "1"):
        page.select_option("[data-testid=top-k]", k)
        page.wait_for_function(
            f"() => document.querySelectorAll('[data-testid=results] [data-testid=bar]').length == {k}")
        assert_chart(page, int(k))
    total = sum(float(b.get_attribute("data-probability"))
                for b in (page.select_option("[data-testid=top-k]", "10") and bars(page).all()))
    assert total == pytest.approx(1, abs=0.01)


def test_non_image_shows_an_error(page, console):
    console.expect(415, "/api/predict")  # the server refuses it; the page explains
    page.set_input_files("[data-testid=file-input]",
                         {"name": "notes.png", "mimeType": "image/png", "buffer": b"just some text"})
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible")
    assert "image" in error.inner_text().lower()


def test_oversized_file_shows_an_error(page):
    big = b"\xff\xd8\xff" + bytes(11 * 1024 * 1024)
    page.set_input_files("[data-testid=file-input]", {"name": "huge.jpg", "mimeType": "image/jpeg",
                                                       "buffer": big})
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible")
    assert "MB" in error.inner_text()


def test_webcam_snap_classifies_the_frame(page):
    page.click("[data-testid=camera-start]")
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=camera-video]');"
                           " return v && v.readyState >= 2 && v.videoWidth > 0; }")
    page.click("[data-testid=camera-snap]")
    assert_chart(page)
    page.click("[data-testid=camera-stop]")
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=camera-video]');"
                           " return !v || !v.srcObject ||"
                           " v.srcObject.getTracks().every(t => t.readyState === 'ended'); }")


def test_camera_permission_denied_shows_a_message(playwright_instance, server_url):
    # No fake-UI flag: headless Chromium answers the permission prompt with a denial.
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM,
                                                  args=[*ROOT_FLAGS, "--use-fake-device-for-media-stream"])
    try:
        context = browser.new_context(base_url=server_url)
        page = context.new_page()
        page.goto("/")
        page.click("[data-testid=camera-start]")
        error = page.locator("[data-testid=error]")
        error.wait_for(state="visible")
        assert "permission" in error.inner_text().lower() or "denied" in error.inner_text().lower()
    finally:
        browser.close()


def test_keyboard_only_flow(page):
    # Intercept file choosers from the start: expect_file_chooser alone turns interception on as
    # it begins, and an Enter that lands first opens a native dialog headless Chromium never reports.
    page.on("filechooser", lambda _: None)
    page.keyboard.press("Tab")
    for _ in range(30):  # tab until the drop zone (or its choose-file button) has focus
        focused = page.evaluate("document.activeElement && document.activeElement.dataset.testid || "
                                "document.activeElement.id || document.activeElement.tagName")
        if focused in ("dropzone", "choose-file") or "choose" in str(focused):
            break
        page.keyboard.press("Tab")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(file_payload())
    assert_chart(page)
    page.focus("[data-testid=top-k]")
    page.keyboard.press("ArrowDown")  # k 5 -> 6 on a focused <select>
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=results] [data-testid=bar]').length == 6")


def test_phone_width_has_no_sideways_scroll(phone):
    phone.set_input_files("[data-testid=file-input]", file_payload())
    assert_chart(phone)
    assert no_sideways_scroll(phone)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)") <= 375


def test_about_the_model(page):
    from playwright.sync_api import expect

    info = page.locator("[data-testid=model-info]")
    # The panel exists before /api/model has answered (slow on a busy machine): wait for its text.
    expect(info).to_contain_text("truck", timeout=20000)
    text = info.inner_text()
    assert "airplane" in text and "%" in text
    expect(page.get_by_test_id("model-architecture")).to_contain_text("CNN")


def test_every_url_the_model_lists_is_served(server_url):
    """The About panel's figures: every report URL /api/model lists answers (relative MODEL_PATH,
    as make run and render.yaml set it)."""
    import requests

    reports = requests.get(server_url + "/api/model", timeout=10).json()["reports"]
    assert reports and all(reports.values()), reports
    for url in reports.values():
        response = requests.get(server_url + url, timeout=10)
        assert response.status_code == 200 and response.content.startswith(b"\x89PNG"), url


def test_what_the_model_saw_and_why(page):
    """After the answer: the 32x32 input enlarged, the occlusion overlay with a text alternative,
    and a keyboard-operable switch for the overlay."""
    page.set_input_files("[data-testid=file-input]", file_payload())
    assert_chart(page, 5)
    seen = page.locator("[data-testid=seen]")
    seen.wait_for(state="visible", timeout=20000)
    size = page.eval_on_selector("[data-testid=seen-image]", "img => [img.naturalWidth, img.naturalHeight]")
    assert size == [32, 32]
    legend = page.locator("[data-testid=seen-legend]").inner_text()
    assert "mattered" in legend or "No single part" in legend
    painted = page.eval_on_selector("[data-testid=seen-overlay]", """canvas => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return [canvas.width, canvas.height, data.some((value, i) => i % 4 === 3 && value > 0)];
    }""")
    assert painted[:2] == [32, 32] and painted[2]
    overlay = page.locator("[data-testid=seen-overlay]")
    assert overlay.is_visible()
    page.focus("[data-testid=seen-why]")
    page.keyboard.press("Space")
    assert not overlay.is_visible()


def test_an_example_is_classified_with_one_keypress(page):
    examples = page.locator("[data-testid=example]")
    examples.first.wait_for()
    assert examples.count() == 10
    names = [examples.nth(i).inner_text().strip() for i in range(10)]
    assert set(names) == CLASSES
    cat = examples.nth(names.index("cat"))
    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as answer:
        cat.focus()
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    assert_chart(page)
    assert page.locator("#preview-caption").inner_text() == "example-cat.jpg"
