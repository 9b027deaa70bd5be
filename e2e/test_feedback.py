""""Wrong answer?" in Chromium against the real server, which keeps feedback in an SQLite file of
the test's own and has an operator token: the consent box starts unticked, a correction sent with
it is in the operator's export as the page sent it (the upload, the crop, live mode's last frame),
Undo takes it out again, it works by keyboard alone on a 375 px screen, the browser remembers what
it sent (ids and withdraw tokens, no picture) so that the footer withdraws it after a reload, and
FEEDBACK=off hides it."""

from __future__ import annotations

import csv
import io
import json
import os
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from e2e.test_app import CLASSES, assert_chart, file_payload, no_sideways_scroll, picture
from e2e.test_crop_and_why import SIDE, colours_in, quadrant_picture
from ml import SHIPPED_MODEL
from tests.server import running_server

pytestmark = pytest.mark.e2e
TOKEN = "e2e-operator-token"
MODEL = os.environ.get("TEST_MODEL_PATH", SHIPPED_MODEL)

# The pictures the page sends, kept in the page (as in test_crop_and_why.py: Chromium does not hand
# Playwright a multipart body made of Blobs): each /api/predict and /api/feedback request's `image`
# (name and bytes) and its other fields, while the request still goes to the server as it is; and
# the picture behind each object URL, so that the preview's bytes can be read (the page's CSP lets
# no fetch read a blob: URL).
RECORD_PICTURES = """() => {
  window.__sent = {predict: [], feedback: []};
  window.__pictures = new Map();
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob) => {
    const url = createObjectURL(blob);
    window.__pictures.set(url, blob);
    return url;
  };
  const realFetch = window.fetch.bind(window);
  window.fetch = async (url, init = {}) => {
    const endpoint = String(url).match(/\\/api\\/(predict|feedback)$/)?.[1];
    if (endpoint && init.body instanceof FormData) {
      const image = init.body.get('image');
      const fields = Object.fromEntries([...init.body].filter(([, value]) => typeof value === 'string'));
      const bytes = Array.from(new Uint8Array(await image.arrayBuffer()));
      window.__sent[endpoint].push({name: image.name, bytes, fields});
    }
    return realFetch(url, init);
  };
}"""


@pytest.fixture(scope="module")
def feedback_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("feedback") / "feedback.db"
    with running_server(MODEL, FEEDBACK_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{database}") as (_, url):
        yield url


@contextmanager
def opened(browser, url, console, **options):
    """The page of the server at ``url``, with the console check of conftest.py's ``page``."""
    context = browser.new_context(base_url=url, **options)
    context.grant_permissions(["camera"], origin=url)
    page = context.new_page()
    console.attach(page)
    page.goto("/")
    page.wait_for_selector("[data-testid=dropzone]")
    page.evaluate(RECORD_PICTURES)
    try:
        yield page
    finally:
        context.close()
    assert console.unexpected() == [], console.unexpected()


@pytest.fixture()
def desk(browser, feedback_server, console):
    with opened(browser, feedback_server, console, viewport={"width": 1280, "height": 900}) as page:
        yield page


def exported(url) -> tuple[zipfile.ZipFile, dict[str, dict]]:
    """The operator's export: the archive, and feedback.csv's rows by id."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    request = urllib.request.Request(url + "/api/feedback/export", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/zip")
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    with archive.open("feedback.csv") as table:
        rows = list(csv.DictReader(io.TextIOWrapper(table, encoding="utf-8")))
    return archive, {row["id"]: row for row in rows}


def another_class(predicted: str) -> str:
    return "horse" if predicted == "dog" else "dog"


def sent(page, endpoint: str) -> list[dict]:
    return page.evaluate(f"window.__sent.{endpoint}")


def posted_feedback(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/api/feedback")


def choice(page, label: str):
    return page.locator(f"[data-testid=feedback-choice][data-label='{label}']")


def send_correction(page, label: str) -> dict:
    """Open "Wrong answer?", pick ``label``, tick the box, send: the server's 201 answer."""
    page.get_by_test_id("feedback-open").click()
    choice(page, label).click()
    page.get_by_test_id("feedback-consent").check()
    with page.expect_response(posted_feedback) as info:
        page.get_by_test_id("feedback-send").click()
    assert info.value.status == 201
    return info.value.json()


def active(page, attribute: str) -> str | None:
    return page.evaluate(f"document.activeElement?.getAttribute({json.dumps(attribute)})")


SENT_KEY = "cifar10.sentFeedback"


def remembered(page) -> list[dict] | None:
    """What the page keeps in this browser's localStorage of the corrections it sent."""
    return page.evaluate(f"JSON.parse(localStorage.getItem({json.dumps(SENT_KEY)}))")


def test_a_correction_needs_consent_lands_in_the_export_and_undo_takes_it_out(desk, feedback_server):
    page = desk
    page.set_input_files("[data-testid=file-input]", file_payload())
    labels, _ = assert_chart(page)
    predicted, label = labels[0], another_class(labels[0])
    expect(page.get_by_test_id("privacy-feedback")).to_contain_text("512 px")

    opener = page.get_by_test_id("feedback-open")
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.click()
    choices = page.get_by_test_id("feedback-choice")
    assert [choices.nth(i).get_attribute("data-label") for i in range(choices.count())] == [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", "none"]
    assert active(page, "data-label") == "airplane"  # focus moved into the choices
    consent, send = page.get_by_test_id("feedback-consent"), page.get_by_test_id("feedback-send")
    expect(consent).not_to_be_checked()
    expect(send).to_be_disabled()

    choice(page, label).click()
    expect(choice(page, label)).to_have_attribute("aria-pressed", "true")
    expect(consent).not_to_be_checked()
    expect(send).to_be_disabled()  # a class alone sends nothing
    expect(page.get_by_test_id("feedback-missing")).to_contain_text("Tick the box")
    assert sent(page, "feedback") == []

    consent.check()
    expect(send).to_be_enabled()
    with page.expect_response(posted_feedback) as info:
        send.click()
    assert info.value.status == 201
    answer = info.value.json()
    expect(page.get_by_test_id("feedback-message")).to_have_text(f"Thank you: sent as “{label}”.")
    expect(page.get_by_test_id("feedback-undo")).to_be_focused()
    (request,) = sent(page, "feedback")
    assert request["fields"] == {"label": label, "predicted": predicted, "consent": "true"}
    assert request["bytes"] == sent(page, "predict")[-1]["bytes"]  # the picture as classified

    archive, rows = exported(feedback_server)
    row = rows[answer["id"]]
    assert (row["label"], row["predicted"]) == (label, predicted)
    assert row["model_version"]
    assert datetime.fromisoformat(row["created_at"]).utcoffset() == timedelta(0)  # UTC, said so
    kept = Image.open(archive.open(f"{label}/{answer['id']}.jpg"))
    assert kept.format == "JPEG" and max(kept.size) <= 512

    with page.expect_response(lambda r: r.request.method == "DELETE") as info:
        page.get_by_test_id("feedback-undo").click()
    assert info.value.status == 204
    expect(page.get_by_test_id("feedback-message")).to_contain_text("deleted")
    expect(opener).to_be_focused()
    assert answer["id"] not in exported(feedback_server)[1]
    assert remembered(page) is None  # Undo forgets it in the browser too


def test_it_works_by_keyboard_alone_on_a_phone(browser, feedback_server, console):
    with opened(browser, feedback_server, console, viewport={"width": 375, "height": 740},
                is_mobile=True, has_touch=True) as page:
        page.set_input_files("[data-testid=file-input]", file_payload("phone.png", picture(seed=3)))
        assert_chart(page)
        page.get_by_test_id("feedback-open").focus()
        page.keyboard.press("Enter")
        assert active(page, "data-label") == "airplane"
        page.keyboard.press("Tab")
        assert active(page, "data-label") == "automobile"
        page.keyboard.press("Space")
        expect(choice(page, "automobile")).to_have_attribute("aria-pressed", "true")
        for _ in range(len(CLASSES)):  # on through the other choices to the box
            if active(page, "id") == "feedback-consent":
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Space")
        expect(page.get_by_test_id("feedback-consent")).to_be_checked()
        page.keyboard.press("Tab")
        assert active(page, "id") == "feedback-send"
        with page.expect_response(posted_feedback) as info:
            page.keyboard.press("Enter")
        assert info.value.status == 201
        expect(page.get_by_test_id("feedback-message")).to_have_text("Thank you: sent as “automobile”.")
        assert no_sideways_scroll(page)
        # Escape closes an opened form without sending, and gives the focus back
        page.keyboard.press("Enter")  # Undo, which has the focus
        expect(page.get_by_test_id("feedback-open")).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("feedback-form")).to_be_hidden()
        expect(page.get_by_test_id("feedback-open")).to_be_focused()
        assert len(sent(page, "feedback")) == 1


def test_a_crop_is_corrected_as_the_part_the_page_cut_out(desk, feedback_server):
    page = desk
    page.set_input_files("[data-testid=file-input]", file_payload("quadrants.png", quadrant_picture()))
    assert_chart(page)
    crop = page.get_by_test_id("crop")
    with page.expect_response(lambda r: r.url.endswith("/api/predict"), timeout=15000):
        crop.focus()
        for _ in range(13):  # as in test_crop_and_why.py: a small square in the bottom right
            page.keyboard.press("Minus")
        for _ in range(3):
            page.keyboard.press("Shift+ArrowRight")
            page.keyboard.press("Shift+ArrowDown")
    assert_chart(page)
    answer = send_correction(page, "none")
    feedback = sent(page, "feedback")[-1]
    assert feedback["name"] == "quadrants-crop.png"
    assert feedback["bytes"] == sent(page, "predict")[-1]["bytes"]
    pixels = Image.open(io.BytesIO(bytes(feedback["bytes"]))).convert("RGB")
    assert pixels.width < SIDE * 0.55 and colours_in(np.asarray(pixels))["bottom right"] > 0.95
    archive, rows = exported(feedback_server)
    assert rows[answer["id"]]["label"] == "none"
    assert f"none/{answer['id']}.jpg" in archive.namelist()


def test_live_mode_hides_it_and_once_stopped_the_frame_on_screen_is_sent(desk):
    page = desk
    page.click("[data-testid=camera-start]")
    page.wait_for_function("() => document.querySelector('[data-testid=camera-video]').videoWidth > 0")
    live = page.get_by_test_id("camera-live")
    live.click()
    page.wait_for_selector("[data-testid=results] [data-testid=bar]")
    page.wait_for_timeout(600)  # a few frames
    expect(page.get_by_test_id("feedback")).to_be_hidden()
    live.click()
    expect(live).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(500)  # a frame already on its way is dropped, not shown
    labels, _ = assert_chart(page)
    send_correction(page, another_class(labels[0]))
    feedback = sent(page, "feedback")[-1]
    assert feedback["name"].startswith("live-")
    on_screen = page.evaluate("""async () => {
      const picture = window.__pictures.get(document.querySelector('[data-testid=preview]').src);
      return Array.from(new Uint8Array(await picture.arrayBuffer()));
    }""")
    assert feedback["bytes"] == on_screen
    assert feedback["fields"]["predicted"] == labels[0]
    page.click("[data-testid=camera-stop]")


def reload(page) -> None:
    """The page again, once /api/model has answered (the footer's sentence then shows)."""
    page.reload()
    page.wait_for_selector("[data-testid=dropzone]")
    expect(page.get_by_test_id("privacy-feedback")).to_be_visible()


def deleted(response) -> bool:
    return response.request.method == "DELETE"


def delete_elsewhere(url: str, entry: dict) -> int:
    """A DELETE with the sender's token, not from the page: 204, or 404 once the entry is gone."""
    request = urllib.request.Request(f"{url}/api/feedback/{entry['id']}", method="DELETE",
                                     headers={"Authorization": f"Bearer {entry['delete_token']}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        assert json.load(error)["error"]["code"] == "feedback_not_found"
        return error.code


def test_nothing_sent_shows_no_line_and_junk_in_the_storage_is_ignored(desk):
    page = desk
    expect(page.get_by_test_id("privacy-feedback")).to_be_visible()  # /api/model has answered
    expect(page.get_by_test_id("sent-feedback")).to_be_hidden()
    assert remembered(page) is None
    page.evaluate(f"localStorage.setItem({json.dumps(SENT_KEY)}, '{{not json')")
    reload(page)
    expect(page.get_by_test_id("sent-feedback")).to_be_hidden()
    page.set_input_files("[data-testid=file-input]", file_payload())
    labels, _ = assert_chart(page)
    send_correction(page, another_class(labels[0]))  # and the page still works, remembering anew
    expect(page.get_by_test_id("sent-feedback-summary")).to_have_text("You sent 1 picture from this browser.")
    assert len(remembered(page)) == 1


def test_a_sent_picture_is_withdrawn_after_a_reload(desk, feedback_server):
    page = desk
    page.set_input_files("[data-testid=file-input]", file_payload())
    labels, _ = assert_chart(page)
    label = another_class(labels[0])
    answer = send_correction(page, label)
    (kept,) = remembered(page)
    assert kept.keys() == {"id", "deleteToken", "label", "sentAt"}  # no picture, no thumbnail
    assert (kept["id"], kept["deleteToken"], kept["label"]) == (answer["id"], answer["delete_token"], label)
    assert datetime.fromisoformat(kept["sentAt"].replace("Z", "+00:00")).utcoffset() == timedelta(0)

    reload(page)
    line = page.get_by_test_id("sent-feedback")
    expect(page.get_by_test_id("sent-feedback-summary")).to_have_text("You sent 1 picture from this browser.")
    withdraw_all = page.get_by_test_id("sent-feedback-all")
    expect(withdraw_all).to_have_text("Withdraw it")
    expect(page.get_by_test_id("sent-feedback-item")).to_have_count(1)
    expect(page.get_by_test_id("sent-feedback-item")).to_contain_text(label)
    assert answer["id"] in exported(feedback_server)[1]

    with page.expect_response(deleted) as info:
        withdraw_all.click()
    assert info.value.status == 204
    status = page.get_by_test_id("sent-feedback-status")
    expect(status).to_have_text("Withdrawn: the server has deleted 1 picture.")
    expect(status).to_be_focused()  # the line it was in is gone
    expect(line).to_be_hidden()
    assert remembered(page) is None
    assert answer["id"] not in exported(feedback_server)[1]
    assert delete_elsewhere(feedback_server, answer) == 404
    reload(page)
    expect(line).to_be_hidden()


def test_the_list_withdraws_one_at_a_time_by_keyboard_on_a_phone(browser, feedback_server, console):
    with opened(browser, feedback_server, console, viewport={"width": 375, "height": 740},
                is_mobile=True, has_touch=True) as page:
        answers = []
        for seed, label in ((5, "ship"), (6, "none")):
            page.set_input_files("[data-testid=file-input]", file_payload(f"p{seed}.png", picture(seed=seed)))
            expect(page.get_by_test_id("feedback-open")).to_be_visible()  # the new answer, not yet corrected
            assert_chart(page)
            answers.append(send_correction(page, label))
        reload(page)
        summary = page.get_by_test_id("sent-feedback-summary")
        expect(summary).to_have_text("You sent 2 pictures from this browser.")
        expect(page.get_by_test_id("sent-feedback-all")).to_have_text("Withdraw them all")
        assert no_sideways_scroll(page)

        page.locator(".sent-feedback-details summary").focus()
        page.keyboard.press("Enter")  # the list opens
        items = page.get_by_test_id("sent-feedback-item")
        expect(items.nth(0)).to_contain_text("ship")
        expect(items.nth(1)).to_contain_text("none of these")
        assert no_sideways_scroll(page)
        page.keyboard.press("Tab")
        expect(page.get_by_test_id("sent-feedback-withdraw").nth(0)).to_be_focused()
        with page.expect_response(deleted) as info:
            page.keyboard.press("Enter")
        assert info.value.status == 204
        status = page.get_by_test_id("sent-feedback-status")
        expect(status).to_have_text("Withdrawn: the server has deleted the picture sent as “ship”.")
        expect(summary).to_have_text("You sent 1 picture from this browser.")
        expect(page.get_by_test_id("sent-feedback-withdraw")).to_be_focused()  # the next one
        assert [entry["id"] for entry in remembered(page)] == [answers[1]["id"]]

        # Deleted meanwhile from elsewhere: withdrawing it finds nothing, and the page forgets it.
        assert delete_elsewhere(feedback_server, answers[1]) == 204
        console.expect(404, f"/api/feedback/{answers[1]['id']}")
        with page.expect_response(deleted) as info:
            page.keyboard.press("Enter")
        assert info.value.status == 404
        expect(page.get_by_test_id("error")).to_contain_text("nothing left to withdraw")
        expect(page.get_by_test_id("sent-feedback")).to_be_hidden()
        assert remembered(page) is None
        assert not set(exported(feedback_server)[1]) & {answer["id"] for answer in answers}


def test_feedback_off_hides_the_button_and_the_footer_sentence(browser, console, tmp_path):
    with running_server(MODEL, FEEDBACK="off", DATABASE_URL=f"sqlite:///{tmp_path / 'off.db'}") as (_, url):
        with urllib.request.urlopen(url + "/api/model", timeout=30) as response:
            assert json.load(response)["feedback"] is False
        with opened(browser, url, console, viewport={"width": 1280, "height": 900}) as page:
            page.set_input_files("[data-testid=file-input]", file_payload())
            assert_chart(page)  # after /api/model's answer: a picture waits for the limits
            expect(page.get_by_test_id("feedback")).to_be_hidden()
            expect(page.get_by_test_id("feedback-open")).not_to_be_visible()
            expect(page.get_by_test_id("privacy-feedback")).to_be_hidden()
            # what this browser sent before is not offered: the server keeps nothing to withdraw
            page.evaluate(f"""localStorage.setItem({json.dumps(SENT_KEY)},
                JSON.stringify([{{id: '{"a" * 32}', deleteToken: 't', label: 'dog', sentAt: ''}}]))""")
            page.reload()
            page.wait_for_selector("[data-testid=dropzone]")
            expect(page.get_by_test_id("model-info")).to_contain_text("truck", timeout=20000)
            expect(page.get_by_test_id("sent-feedback")).to_be_hidden()
