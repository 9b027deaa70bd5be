"""POST /api/explain: the occlusion map of an upload, and the picture the model saw."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from bench.fixtures import encode
from tests.imagegen import gradient


def explain(client, data, **form):
    return client.post("/api/explain", data={"image": (io.BytesIO(data), "x.jpg"), **form},
                       content_type="multipart/form-data")


def test_explain_returns_a_map_of_the_input_and_what_the_model_saw(client, app):
    from ml.images import decode_image

    photo = encode(gradient(200, 150), "JPEG")
    body = explain(client, photo).get_json()
    heatmap = np.array(body["heatmap"])
    assert heatmap.shape == (32, 32) and np.isfinite(heatmap).all() and np.abs(heatmap).max() <= 1
    assert body["label"] in app.extensions["classifier"].model.classes and 0 < body["probability"] <= 1
    assert body["positions"] == 49 and body["patch"] == 8 and body["model_version"]
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["input_png"].split(",", 1)[1]))))
    model = app.extensions["classifier"].model
    np.testing.assert_array_equal(seen, model.network_input(decode_image(photo)))
    # The top class of the map is the top class of a prediction of the same file.
    predicted = client.post("/api/predict", data={"image": (io.BytesIO(photo), "x.jpg")},
                            content_type="multipart/form-data").get_json()["predictions"][0]
    assert body["label"] == predicted["label"]
    assert body["probability"] == pytest.approx(predicted["probability"], abs=1e-6)


def test_explain_any_class_and_refuse_unknown_ones(client):
    photo = encode(gradient(64, 64), "PNG")
    assert explain(client, photo, label="ship").get_json()["label"] == "ship"
    response = explain(client, photo, label="unicorn")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("data, status", [(b"not an image", 415), (b"\x89PNG\r\n\x1a\nbroken", 422),
                                          (b"", 400)])
def test_explain_bad_input_gets_the_usual_json_errors(client, data, status):
    response = explain(client, data)
    assert response.status_code == status and "error" in response.get_json()
