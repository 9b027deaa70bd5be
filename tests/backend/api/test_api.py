"""Every line of the API contract and every error class, through Flask's test client."""

import io

import numpy as np
import pytest

from tests.imagegen import CLASSES, all_modes, encode, gradient, png_bomb, with_exif_orientation


def upload(data: bytes, name="picture.png", field="image"):
    return {field: (io.BytesIO(data), name)}


PNG = encode(gradient(32, 32), "PNG")


def predict(client, data=PNG, name="picture.png", **form):
    return client.post("/api/predict", data={**upload(data, name), **form},
                       content_type="multipart/form-data")


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"} and error["message"]
    if code:
        assert error["code"] == code
    return error


# ---------------------------------------------------------------- happy paths

def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["model_loaded"] is True and body["model_version"]


def test_model_info(client):
    body = client.get("/api/model").get_json()
    assert body["classes"] == list(CLASSES)
    assert body["input_size"] == [32, 32, 3]
    assert len(body["sha256"]) == 64 and body["version"]
    assert 0.5 <= body["accuracy"] <= 1
    assert isinstance(body["params"], dict)
    assert "CNN" in body["architecture"]  # the model card's one-line description
    assert set(body["reports"]) == {"confusion_matrix", "grid_search", "reliability"}
    for url in body["reports"].values():  # the shipped model has every figure
        image = client.get(url)
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")


def test_predict_default_top_5_sorted(client):
    response = predict(client)
    assert response.status_code == 200
    body = response.get_json()
    assert body["top_k"] == 5 and len(body["predictions"]) == 5
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(p["label"] in CLASSES for p in body["predictions"])
    assert body["model_version"] and body["elapsed_ms"] >= 0


@pytest.mark.parametrize("k", [1, 3, 10])
def test_predict_top_k(client, k):
    body = predict(client, top_k=str(k)).get_json()
    assert body["top_k"] == k and len(body["predictions"]) == k
    if k == 10:
        assert {p["label"] for p in body["predictions"]} == set(CLASSES)
        assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_accepted_format(client, fmt):
    response = predict(client, encode(gradient(50, 40), fmt), name="no-extension")
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("mode", sorted(all_modes()))
def test_every_colour_mode(client, mode):
    image = all_modes()[mode]
    fmt = {"CMYK": "JPEG", "I;16": "TIFF", "I": "TIFF", "F": "TIFF", "YCbCr": "JPEG"}.get(mode, "PNG")
    response = predict(client, encode(image, fmt))
    assert response.status_code == 200, response.get_json()


def test_file_name_and_declared_type_are_ignored(client):
    response = client.post("/api/predict", data={"image": (io.BytesIO(PNG), "photo.gif", "text/plain")},
                           content_type="multipart/form-data")
    assert response.status_code == 200


def test_exif_rotated_jpeg_is_classified_like_the_upright_one(client):
    upright = gradient(120, 80, seed=3)
    plain = predict(client, encode(upright, "JPEG", quality=95), top_k="10").get_json()
    rotated = predict(client, with_exif_orientation(upright, 6), top_k="10").get_json()
    as_dict = lambda body: {p["label"]: p["probability"] for p in body["predictions"]}  # noqa: E731
    a, b = as_dict(plain), as_dict(rotated)
    assert max(abs(a[c] - b[c]) for c in CLASSES) < 0.1
    assert plain["predictions"][0]["label"] == rotated["predictions"][0]["label"]


def test_large_photo(client):
    photo = gradient(4000, 3000)
    response = predict(client, encode(photo, "JPEG", quality=85), name="big.jpg")
    assert response.status_code == 200


def test_batch_in_upload_order_with_per_file_errors(client):
    files = [
        (io.BytesIO(PNG), "a.png"),
        (io.BytesIO(b"not an image at all"), "b.txt"),
        (io.BytesIO(encode(gradient(), "JPEG")), "c.jpg"),
        (io.BytesIO(PNG[:50]), "d.png"),
        (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "e.svg"),
    ]
    response = client.post("/api/predict/batch", data={"images": files, "top_k": "2"},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["filename"] for r in results] == ["a.png", "b.txt", "c.jpg", "d.png", "e.svg"]
    assert len(results[0]["predictions"]) == 2 and len(results[2]["predictions"]) == 2
    assert results[1]["error"]["code"] == "unsupported_media_type"
    assert results[3]["error"]["code"] == "invalid_image"
    assert results[4]["error"]["code"] == "unsupported_media_type"
    assert "predictions" not in results[1]


def test_batch_matches_single_predictions(client):
    images = [encode(gradient(40 + i, 30 + i, seed=i), "PNG") for i in range(3)]
    batch = client.post("/api/predict/batch",
                        data={"images": [(io.BytesIO(d), f"{i}.png") for i, d in enumerate(images)],
                              "top_k": "10"}, content_type="multipart/form-data").get_json()
    for data, result in zip(images, batch["results"]):
        single = predict(client, data, top_k="10").get_json()["predictions"]
        assert [p["label"] for p in single] == [p["label"] for p in result["predictions"]]
        np.testing.assert_allclose([p["probability"] for p in single],
                                   [p["probability"] for p in result["predictions"]], atol=1e-5)


# ---------------------------------------------------------------- errors

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


def test_empty_file_is_400(client):
    assert_error(predict(client, b""), 400, "empty_file")


def test_two_files_in_single_endpoint_is_400(client):
    data = {"image": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]}
    assert_error(client.post("/api/predict", data=data, content_type="multipart/form-data"), 400)


def test_too_many_batch_files_is_400(client):
    files = [(io.BytesIO(PNG), f"{i}.png") for i in range(65)]
    error = assert_error(client.post("/api/predict/batch", data={"images": files},
                                     content_type="multipart/form-data"), 400, "too_many_files")
    assert error["details"]["max_files"] == 64


def test_unknown_route_is_404_json(client):
    assert_error(client.get("/api/does-not-exist"), 404, "not_found")
    assert_error(client.get("/static/../backend/config.py"), 404)


def test_wrong_method_is_405_json(client):
    error = assert_error(client.get("/api/predict"), 405, "method_not_allowed")
    assert "POST" in error["details"]["allowed_methods"]
    assert_error(client.delete("/api/health"), 405)


def test_oversized_upload_is_413(client):
    big = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 + 10)
    assert_error(predict(client, big, name="huge.jpg"), 413, "payload_too_large")


def test_upload_limit_is_configurable(model_path):
    from backend import create_app

    small = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "MAX_UPLOAD_BYTES": 1000})
    response = small.test_client().post("/api/predict", data=upload(encode(gradient(200, 200), "PNG")),
                                        content_type="multipart/form-data")
    assert_error(response, 413)


def test_oversized_file_in_batch_fails_alone(model_path):
    from backend import create_app

    small = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "MAX_UPLOAD_BYTES": 2000})
    big = encode(gradient(300, 300), "BMP")
    response = small.test_client().post(
        "/api/predict/batch", data={"images": [(io.BytesIO(PNG), "ok.png"), (io.BytesIO(big), "big.bmp")]},
        content_type="multipart/form-data")
    results = response.get_json()["results"]
    assert "predictions" in results[0] and results[1]["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("data", [b"hello", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
                                  b"%PDF-1.4", b"PK\x03\x04zip"])
def test_not_an_image_is_415(client, data):
    assert_error(predict(client, data, name="x.png"), 415, "unsupported_media_type")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_image_is_422(client, fmt):
    data = encode(gradient(300, 200), fmt)
    assert_error(predict(client, data[: len(data) // 2]), 422, "invalid_image")


def test_pixel_bomb_is_422(client):
    error = assert_error(predict(client, png_bomb(30000, 30000)), 422, "image_too_large")
    assert error["details"]["max_pixels"] > 0


def test_a_file_of_too_many_entries_is_422_at_the_configured_limit(monkeypatch, model_path):
    from backend import create_app
    from bench import attacks

    monkeypatch.setenv("MAX_FILE_ENTRIES", "1000")
    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "RATE_LIMIT": ""})
    error = assert_error(predict(app.test_client(), attacks.png_empty_chunks(2000)), 422, "invalid_image")
    assert error["details"] == {"format": "PNG", "max_file_entries": 1000}
    assert predict(app.test_client(), attacks.png_empty_chunks(500)).status_code == 200


# ---------------------------------------------------------------- web & headers

def test_security_headers_everywhere(client):
    for response in (client.get("/api/health"), client.get("/api/nope"), predict(client, b"x")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_cors_is_same_origin_by_default(client):
    response = client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allowlist(model_path):
    from backend import create_app

    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path),
                      "CORS_ORIGINS": ["https://friend.example"]})
    client = app.test_client()
    ok = client.get("/api/health", headers={"Origin": "https://friend.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://friend.example"
    other = client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_range_past_the_end_is_416_with_the_files_length(client):
    response = client.get("/static/styles.css", headers={"Range": "bytes=99999999-"})
    assert response.status_code == 416
    assert response.get_json()["error"]["code"] == "range_not_satisfiable"
    assert response.headers["Content-Range"].startswith("bytes */")


def test_strict_transport_security_over_https_only(client):
    assert client.get("/api/health", base_url="https://localhost").headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/api/health").headers


def test_strict_transport_security_behind_a_trusted_proxy_that_says_https(model_path):
    """Render's proxy ends TLS and says so in X-Forwarded-Proto; without a trusted proxy a client
    cannot claim it."""
    from backend import create_app

    https = {"X-Forwarded-Proto": "https"}
    proxied = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "TRUSTED_PROXY_HOPS": 1,
                          "WARM_UP": "sync"})
    assert proxied.test_client().get("/api/health", headers=https).headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    direct = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "WARM_UP": "sync"})
    assert "Strict-Transport-Security" not in direct.test_client().get("/api/health", headers=https).headers


@pytest.mark.parametrize("headers, status", [
    ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
    ({"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"}, 403),
    ({"Origin": "https://evil.example"}, 403),  # a browser without Sec-Fetch-Site
    ({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, 200),  # the page
    ({"Origin": "http://localhost"}, 200),
    ({}, 200),  # curl, scripts
])
def test_posts_from_other_websites_are_refused(client, headers, status):
    response = client.post("/api/predict", data={"image": (io.BytesIO(PNG), "x.png")},
                           content_type="multipart/form-data", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"]["code"] == "cross_site_request"


def test_an_allowed_origin_may_post(model_path):
    from backend import create_app

    client = create_app({"TESTING": True, "MODEL_PATH": str(model_path),
                         "CORS_ORIGINS": ["https://friend.example"]}).test_client()
    response = client.post("/api/predict", data={"image": (io.BytesIO(PNG), "x.png")},
                           content_type="multipart/form-data",
                           headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://friend.example"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api//model", "/static//styles.css", "//api/model"])
def test_double_slashes_are_not_redirected(client, path):
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 404 and "Location" not in response.headers
    assert response.get_json()["error"]["code"] == "not_found"


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and b"<script" in page.data and b'type="module"' in page.data
    assert client.get("/static/js/main.js").status_code == 200
    assert client.get("/static/styles.css").status_code == 200
    assert client.get("/static/api-docs.css").status_code == 200


@pytest.mark.parametrize("path", ["README.md", "tests/controller.test.js", "js/../README.md", "index.html"])
def test_only_what_the_page_loads_is_served_as_static(client, path):
    assert_error(client.get(f"/static/{path}"), 404)


def test_debug_is_off(app):
    assert not app.debug


def test_model_info_serves_the_not_sure_threshold_and_calibration(client):
    body = client.get("/api/model").get_json()
    assert 0 < body["not_sure_threshold"] < 1
    assert body["calibration"]["temperature"] > 0 and 0 <= body["calibration"]["ece"] < 1
    assert client.get(body["reports"]["reliability"]).data.startswith(b"\x89PNG")


def test_reports_are_found_with_a_relative_model_path(monkeypatch, model_path):
    """As make run and render.yaml set it: MODEL_PATH relative to the working directory."""
    from backend import create_app

    monkeypatch.chdir(model_path.parent.parent)
    relative = model_path.relative_to(model_path.parent.parent)
    app = create_app({"TESTING": True, "MODEL_PATH": str(relative), "RATE_LIMIT": ""})
    reports = app.test_client().get("/api/model").get_json()["reports"]
    assert all(reports.values()), reports
    for url in reports.values():
        assert app.test_client().get(url).status_code == 200


def test_model_info_publishes_the_limits_the_server_enforces(client, app):
    limits = client.get("/api/model").get_json()["limits"]
    config = app.config
    assert limits["top_k"] == {"min": 1, "max": len(CLASSES), "default": config["DEFAULT_TOP_K"]}
    assert limits["max_upload_bytes"] == config["MAX_UPLOAD_BYTES"]
    assert limits["max_batch_files"] == config["MAX_BATCH_FILES"]
    assert limits["max_batch_bytes"] == config["MAX_BATCH_BYTES"]
    assert limits["max_image_pixels"] == config["MAX_IMAGE_PIXELS"]
    assert limits["max_decode_bytes"] == config["MAX_DECODE_BYTES"]
    body = client.get("/api/model").get_json()  # the first API version's fields stay
    assert (body["max_upload_bytes"], body["max_batch"], body["default_top_k"]) == (
        limits["max_upload_bytes"], limits["max_batch_files"], limits["top_k"]["default"])
    # top_k is checked against the same published range
    assert predict(client, top_k=str(limits["top_k"]["max"])).status_code == 200
    error = assert_error(predict(client, top_k=str(limits["top_k"]["max"] + 1)), 400, "invalid_top_k")
    assert str(limits["top_k"]["max"]) in error["message"]


def test_a_batch_stops_decoding_past_its_allowance(model_path):
    """A file that would take the batch's decoding past MAX_BATCH_DECODE_BYTES is answered
    batch_decode_budget, to send again; a cheaper one after it still fits."""
    from backend import create_app

    client = create_app({"TESTING": True, "MODEL_PATH": str(model_path),
                         "MAX_BATCH_DECODE_BYTES": 2_500_000}).test_client()
    big, small = encode(gradient(512, 512), "PNG"), PNG  # 1 MB and 4 KB to decode
    files = [(io.BytesIO(data), f"{i}.png") for i, data in enumerate([big, big, big, small])]
    response = client.post("/api/predict/batch", content_type="multipart/form-data",
                           data={"images": files})
    results = response.get_json()["results"]
    assert [result.get("error", {}).get("code") for result in results] == [
        None, None, "batch_decode_budget", None]
    assert results[2]["error"]["details"] == {"max_batch_decode_bytes": 2_500_000}


def test_a_form_past_the_parsers_limits_says_which_limits_there_are(client):
    """A picture sent as a plain field (curl -F 'image=<file'), not a file part, is held to the
    limit of a text field."""
    response = client.post("/api/predict", content_type="multipart/form-data",
                           data={"image": "x" * 600_000})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "file part" in error["message"]
    assert error["details"]["max_form_field_bytes"] == 500_000


# ---------------------------------------------------------------- the picture as the request body

JPEG = encode(gradient(64, 48), "JPEG")


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


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b"", "image/jpeg", 400, "empty_file"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "unsupported_media_type"),
    (b"GIF89a" + b"\0" * 20, "image/gif", 422, "invalid_image"),
    (JPEG, "text/plain", 400, "missing_file"),
])
def test_a_bad_body_gets_the_same_errors_as_a_bad_upload(client, data, content_type, status, code):
    assert_error(client.post("/api/predict", data=data, content_type=content_type), status, code)


def test_a_body_over_the_upload_limit_is_413(client, app):
    limit = app.config["MAX_UPLOAD_BYTES"]
    error = assert_error(client.post("/api/predict", data=JPEG + b"\0" * limit, content_type="image/jpeg"),
                         413, "payload_too_large")
    assert error["details"]["max_bytes"] == limit


# ---------------------------------------------------------------- "Not sure"

def test_every_prediction_says_whether_the_model_is_sure(client):
    threshold = client.get("/api/model").get_json()["not_sure_threshold"]
    from PIL import Image

    noise = encode(Image.fromarray(np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)),
                   "PNG")
    answers = [predict(client, data).get_json() for data in (PNG, JPEG, noise)]
    answers.append(client.post("/api/predict", data=noise, content_type="image/png").get_json())
    batch = client.post("/api/predict/batch", content_type="multipart/form-data",
                        data={"images": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(noise), "b.png")]})
    answers += batch.get_json()["results"]
    for answer in answers:
        assert answer["not_sure"] is (answer["predictions"][0]["probability"] < threshold)
    assert {answer["not_sure"] for answer in answers} == {True, False}  # both are met


def test_a_long_thin_picture_has_its_own_code(client):
    error = assert_error(predict(client, encode(gradient(2000, 10), "PNG")), 422, "image_aspect_ratio")
    assert error["details"] == {"width": 2000, "height": 10, "max_aspect_ratio": 20.0}


# ---------------------------------------------------------------- iPhone photos (HEIC)

def test_a_heic_photo_is_classified_like_its_jpeg(client):

    picture = gradient(96, 64)
    heic, jpeg = io.BytesIO(), io.BytesIO()
    picture.save(heic, "HEIF", quality=95)
    picture.save(jpeg, "JPEG", quality=95)
    answers = [predict(client, data.getvalue(), name).get_json() for data, name in
               ((heic, "IMG_0001.HEIC"), (jpeg, "IMG_0001.jpg"))]
    assert [p["label"] for p in answers[0]["predictions"][:2]] == \
           [p["label"] for p in answers[1]["predictions"][:2]]


def test_model_info_tells_the_fine_tuning_from_the_training(client, app):
    """The shipped nets were fine-tuned with outlier exposure after their training: params' epochs
    and learning rate are that step's, and /api/model says so (the page shows it as such)."""
    card = app.extensions["classifier"].model.card
    body = client.get("/api/model").get_json()
    assert body["fine_tuning"] == {key: card["outlier_exposure"][key]
                                   for key in ("epochs", "learning_rate", "weight", "images")}
