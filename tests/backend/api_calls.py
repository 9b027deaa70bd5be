"""The API calls the backend tests make, and the JSON error envelope they expect."""

import io

from bench.fixtures import encode
from tests.imagegen import gradient

PNG = encode(gradient(32, 32), "PNG")
JPEG = encode(gradient(64, 48), "JPEG")


def upload(data: bytes, name="picture.png", field="image"):
    return {field: (io.BytesIO(data), name)}


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
