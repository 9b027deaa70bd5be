"""The upload endpoints' requests (backend/api/forms.py): the form's files, top_k, the picture as
the request body, and their limits."""

import io

import pytest

from bench.fixtures import encode
from tests.backend.api_calls import JPEG, PNG, assert_error, predict, upload
from tests.imagegen import gradient


def test_missing_file_is_400(client):
    assert_error(client.post("/api/predict", data={}, content_type="multipart/form-data"), 400,
                 "missing_file")
    assert_error(client.post("/api/predict"), 400, "missing_file")
    assert_error(client.post("/api/predict", data=upload(PNG, field="picture"),
                             content_type="multipart/form-data"), 400, "missing_file")
    assert_error(client.post("/api/predict/batch", data={}, content_type="multipart/form-data"), 400,
                 "missing_file")


@pytest.mark.parametrize("bad", ["0", "11", "-1", "abc", "2.5", "", " ", "1e3", "five"])
def test_invalid_top_k_is_400_with_field_details(client, bad):
    error = assert_error(predict(client, top_k=bad), 400, "invalid_top_k")
    assert "top_k" in error["details"]


def test_repeated_top_k_is_400(client):
    response = client.post("/api/predict", data={**upload(PNG), "top_k": ["3", "4"]},
                           content_type="multipart/form-data")
    assert_error(response, 400, "invalid_top_k")


def test_two_files_in_single_endpoint_is_400(client):
    data = {"image": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]}
    assert_error(client.post("/api/predict", data=data, content_type="multipart/form-data"), 400)


def test_too_many_batch_files_is_400(client):
    files = [(io.BytesIO(PNG), f"{i}.png") for i in range(65)]
    error = assert_error(client.post("/api/predict/batch", data={"images": files},
                                     content_type="multipart/form-data"), 400, "too_many_files")
    assert error["details"]["max_files"] == 64


def test_oversized_upload_is_413(client):
    big = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 + 10)
    assert_error(predict(client, big, name="huge.jpg"), 413, "payload_too_large")


def test_upload_limit_is_configurable(model_path):
    from backend import create_app

    small = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "MAX_UPLOAD_BYTES": 1000})
    response = small.test_client().post("/api/predict", data=upload(encode(gradient(200, 200), "PNG")),
                                        content_type="multipart/form-data")
    assert_error(response, 413)


def test_a_form_past_the_parsers_limits_says_which_limits_there_are(client):
    """A picture sent as a plain field (curl -F 'image=<file'), not a file part, is held to the
    limit of a text field."""
    response = client.post("/api/predict", content_type="multipart/form-data",
                           data={"image": "x" * 600_000})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "file part" in error["message"]
    assert error["details"]["max_form_field_bytes"] == 500_000


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/octet-stream"])
def test_the_picture_may_be_the_request_body(client, content_type):
    """As `curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg'`: the format comes from the
    bytes (a JPEG declared as PNG is read as the JPEG it is)."""
    response = client.post("/api/predict?top_k=3", data=JPEG, content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["top_k"] == 3 and len(body["predictions"]) == 3
    multipart = predict(client, JPEG, "photo.jpg", top_k="3").get_json()
    assert body["predictions"] == multipart["predictions"] and body["not_sure"] == multipart["not_sure"]


def test_top_k_may_be_a_query_parameter_for_every_prediction(client):
    assert len(client.post("/api/predict?top_k=2", data=upload(PNG),
                           content_type="multipart/form-data").get_json()["predictions"]) == 2
    batch = client.post("/api/predict/batch?top_k=1", content_type="multipart/form-data",
                        data={"images": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]})
    assert [len(item["predictions"]) for item in batch.get_json()["results"]] == [1, 1]
    both = client.post("/api/predict?top_k=2", data={**upload(PNG), "top_k": "2"},
                       content_type="multipart/form-data")
    assert_error(both, 400, "invalid_top_k")
    assert_error(client.post("/api/predict?top_k=11", data=JPEG, content_type="image/jpeg"), 400,
                 "invalid_top_k")


def test_a_body_over_the_upload_limit_is_413(client, app):
    limit = app.config["MAX_UPLOAD_BYTES"]
    error = assert_error(client.post("/api/predict", data=JPEG + b"\0" * limit, content_type="image/jpeg"),
                         413, "payload_too_large")
    assert error["details"]["max_bytes"] == limit
