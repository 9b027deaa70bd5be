"""/api/predict and /api/predict/batch: answers, formats and colour modes, batches, and the JSON
error of every picture that cannot be used."""

import io

import numpy as np
import pytest

from bench.attacks import png_bomb
from bench.fixtures import encode
from tests.backend.api_calls import JPEG, PNG, assert_error, predict
from tests.imagegen import CLASSES, all_modes, gradient, with_exif_orientation


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


def test_empty_file_is_400(client):
    assert_error(predict(client, b""), 400, "empty_file")


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


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b"", "image/jpeg", 400, "empty_file"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "unsupported_media_type"),
    (b"GIF89a" + b"\0" * 20, "image/gif", 422, "invalid_image"),
    (JPEG, "text/plain", 400, "missing_file"),
])
def test_a_bad_body_gets_the_same_errors_as_a_bad_upload(client, data, content_type, status, code):
    assert_error(client.post("/api/predict", data=data, content_type=content_type), status, code)


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


def test_a_heic_photo_is_classified_like_its_jpeg(client):

    picture = gradient(96, 64)
    heic, jpeg = io.BytesIO(), io.BytesIO()
    picture.save(heic, "HEIF", quality=95)
    picture.save(jpeg, "JPEG", quality=95)
    answers = [predict(client, data.getvalue(), name).get_json() for data, name in
               ((heic, "IMG_0001.HEIC"), (jpeg, "IMG_0001.jpg"))]
    assert [p["label"] for p in answers[0]["predictions"][:2]] == \
           [p["label"] for p in answers[1]["predictions"][:2]]
