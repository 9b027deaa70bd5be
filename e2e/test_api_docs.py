"""/api/docs in Chromium: reached from the app's footer, Swagger UI sends a picture to /api/predict,
as a multipart form and as the request body, and shows the answers, under the site's
Content-Security-Policy (the ``page`` fixture fails the test on any console error, a CSP violation
included, and saves a screenshot)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from bench.fixtures import encode
from ml.training.data import CIFAR10_CLASSES
from tests.imagegen import gradient

pytestmark = pytest.mark.e2e
PHOTO = {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": encode(gradient(64, 48), "JPEG")}


def execute(page, operation, sent: str) -> dict:
    """Click Execute; the answer as Swagger UI shows it, once its curl line shows ``sent``."""
    with page.expect_response(lambda response: "/api/predict" in response.url) as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.status == 200
    expect(operation.locator(".curl-command")).to_contain_text(sent)
    response = operation.locator(".live-responses-table tbody .response")
    expect(response.locator(".response-col_status")).to_have_text("200")
    body = json.loads(response.locator(".response-col_description .microlight").first.inner_text())
    assert {p["label"] for p in body["predictions"]} <= set(CIFAR10_CLASSES)
    return body


def test_try_predict_from_the_api_docs(page, server_url):
    page.get_by_role("link", name="API docs").click()
    page.wait_for_url(f"{server_url}/api/docs")
    # The code samples call the page's own address.
    samples = page.locator(".samples pre").all_text_contents()  # closed <details> included
    assert samples and all(f"{server_url}/api/predict" in sample for sample in samples), samples

    operation = page.locator("#operations-default-post_api_predict")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()

    # The multipart form, top_k as one of its fields.
    operation.locator("[data-property-name=top_k] input[type=text]").fill("3")
    operation.locator(".opblock-section-request-body input[type=file]").set_input_files(PHOTO)
    body = execute(page, operation, "-F 'image=@photo.jpg;type=image/jpeg'")
    assert len(body["predictions"]) == body["top_k"] == 3

    # The picture as the request body, top_k in the query.
    operation.locator(".opblock-section-request-body select").select_option("image/*")
    operation.locator("tr[data-param-name=top_k][data-param-in=query] input").fill("2")
    operation.locator(".opblock-section-request-body input[type=file]").set_input_files(PHOTO)
    body = execute(page, operation, "--data-binary '@photo.jpg'")
    assert len(body["predictions"]) == body["top_k"] == 2
