"""/api/model: what the model is, the limits the server enforces, and its report figures."""



from tests.backend.api_calls import assert_error, predict
from tests.imagegen import CLASSES


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


def test_model_info_tells_the_fine_tuning_from_the_training(client, app):
    """The shipped nets were fine-tuned with outlier exposure after their training: params' epochs
    and learning rate are that step's, and /api/model says so (the page shows it as such)."""
    card = app.extensions["classifier"].model.card
    body = client.get("/api/model").get_json()
    assert body["fine_tuning"] == {key: card["outlier_exposure"][key]
                                   for key in ("epochs", "learning_rate", "weight", "images")}
