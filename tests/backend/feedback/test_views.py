"""/api/feedback through the app, on SQLite and PostgreSQL: sent with consent and a class, kept
only then, bad pictures refused as /api/predict refuses them, withdrawn with the sender's token or
the operator's, exported with the operator's, counted in /metrics, gone with FEEDBACK=off."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from backend.feedback import database
from tests.backend.feedback.conftest import DATABASES, new_database
from tests.imagegen import encode, gradient

OPERATOR = "operator-token-for-the-tests"
JPEG = encode(gradient(64, 48), "JPEG")


@pytest.fixture(scope="module", params=DATABASES)
def app(request, model_path, tmp_path_factory):
    from backend import create_app

    url = new_database(request, request.param, tmp_path_factory.mktemp("feedback"))
    database.prepare(url)  # as the launchers do before the app starts
    return create_app({"TESTING": True, "MODEL_PATH": str(model_path), "RATE_LIMIT": "",
                       "UPLOAD_RATE_LIMIT": "", "IMAGE_RATE_LIMIT": "", "DATABASE_URL": url,
                       "FEEDBACK_TOKEN": OPERATOR})


def send(client, picture: bytes = JPEG, **fields):
    form = {"label": "dog", "predicted": "deer", "consent": "true", **fields}
    form = {name: value for name, value in form.items() if value is not None}
    return client.post("/api/feedback", data={**form, "image": (io.BytesIO(picture), "photo.jpg")},
                       content_type="multipart/form-data")


def export(client, token: str | None = OPERATOR):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/feedback/export", headers=headers)


def exported_ids(client) -> list[str]:
    archive = zipfile.ZipFile(io.BytesIO(export(client).data))
    return [row["id"] for row in csv.DictReader(io.StringIO(archive.read("feedback.csv").decode()))]


def withdraw(client, entry_id: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.delete(f"/api/feedback/{entry_id}", headers=headers)


def counted(client, label: str) -> float:
    match = re.search(rf'^feedback_total\{{label="{label}"\}} (\S+)$', client.get("/metrics").text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_correction_is_kept_with_its_picture_and_counted(app):
    client = app.test_client()
    before = counted(client, "dog")
    response = send(client, label="dog", predicted="deer")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "delete_token"} and re.fullmatch(r"[0-9a-f]{32}", body["id"])
    archive = zipfile.ZipFile(io.BytesIO(export(client).data))
    row = next(r for r in csv.DictReader(io.StringIO(archive.read("feedback.csv").decode()))
               if r["id"] == body["id"])
    model = client.get("/api/model").get_json()
    assert (row["label"], row["predicted"], row["model_version"]) == ("dog", "deer", model["version"])
    assert archive.read(f"dog/{body['id']}.jpg")[:2] == b"\xff\xd8"  # a JPEG (images.py: which)
    assert counted(client, "dog") == before + 1


@pytest.mark.parametrize("fields", [{"label": "none", "predicted": "cat"}, {"predicted": None},
                                    {"predicted": ""}])
def test_none_of_these_and_no_predicted_class_are_accepted(app, fields):
    assert send(app.test_client(), **fields).status_code == 201


@pytest.mark.parametrize(("fields", "code"), [
    ({"consent": None}, "consent_required"),
    ({"consent": "false"}, "consent_required"),
    ({"consent": "yes"}, "consent_required"),
    ({"label": "wolf"}, "invalid_label"),
    ({"label": None}, "invalid_label"),
    ({"label": "Dog"}, "invalid_label"),
    ({"predicted": "none"}, "invalid_label"),  # the model never answers "none"
])
def test_without_consent_or_a_class_nothing_is_kept(app, fields, code):
    client = app.test_client()
    before = exported_ids(client)
    response = send(client, **fields)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert exported_ids(client) == before


@pytest.mark.parametrize("picture", [b"", b"plain text, no picture", JPEG[: len(JPEG) // 2],
                                     b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                     encode(gradient(2100, 100), "PNG")])
def test_a_bad_picture_gets_the_answer_predict_gives(app, picture):
    client = app.test_client()
    before = exported_ids(client)
    predicted = client.post("/api/predict", data={"image": (io.BytesIO(picture), "x.jpg")},
                            content_type="multipart/form-data")
    response = send(client, picture)
    assert predicted.status_code >= 400
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        predicted.status_code, predicted.get_json()["error"]["code"])
    assert exported_ids(client) == before


def test_past_the_storage_cap_the_answer_is_507_and_nothing_is_kept(app, monkeypatch):
    client = app.test_client()
    before = exported_ids(client)
    monkeypatch.setattr(app.extensions["feedback"], "max_bytes", 0)
    response = send(client)
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "feedback_storage_full"
    assert exported_ids(client) == before


def test_the_sender_withdraws_an_entry_with_its_token_only(app):
    client = app.test_client()
    mine, other = send(client).get_json(), send(client).get_json()
    assert withdraw(client, mine["id"], None).status_code == 401
    assert withdraw(client, mine["id"], other["delete_token"]).status_code == 401  # not this entry's
    assert withdraw(client, mine["id"], mine["delete_token"]).status_code == 204
    assert mine["id"] not in exported_ids(client) and other["id"] in exported_ids(client)
    response = withdraw(client, mine["id"], mine["delete_token"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "feedback_not_found"


def test_the_operator_deletes_any_entry(app):
    client = app.test_client()
    entry = send(client).get_json()
    assert withdraw(client, entry["id"], OPERATOR).status_code == 204
    assert entry["id"] not in exported_ids(client)
    assert withdraw(client, entry["id"], OPERATOR).status_code == 404


@pytest.mark.parametrize("token", [None, "wrong", OPERATOR + "x", OPERATOR[:-1], "a=b"])
def test_the_export_needs_the_operator_s_token(app, token):
    response = export(app.test_client(), token)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_the_export_is_a_zip_for_the_operator(app):
    response = export(app.test_client())
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert zipfile.ZipFile(io.BytesIO(response.data)).testzip() is None


def test_without_an_operator_token_the_export_and_the_operator_s_delete_are_off(app, monkeypatch):
    client = app.test_client()
    entry = send(client).get_json()
    monkeypatch.setitem(app.config, "FEEDBACK_TOKEN", "")
    response = export(client, OPERATOR)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert export(client, "").status_code == 404
    assert withdraw(client, entry["id"], OPERATOR).status_code == 401
    assert withdraw(client, entry["id"], entry["delete_token"]).status_code == 204  # the sender's still works


def test_the_model_info_says_feedback_is_on(app):
    assert app.test_client().get("/api/model").get_json()["feedback"] is True


def test_feedback_off_removes_the_endpoints(model_path, tmp_path):
    from backend import create_app

    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "FEEDBACK": False,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/never.db", "FEEDBACK_TOKEN": OPERATOR})
    client = app.test_client()
    assert client.get("/api/model").get_json()["feedback"] is False
    assert send(client).status_code == 404
    assert export(client).status_code == 404
    assert withdraw(client, "0" * 32, OPERATOR).status_code == 404
    assert "/api/feedback" not in client.get("/api/openapi.json").get_json()["paths"]
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("url", ["postgresql://feedback:s3cret@/feedback?host=/nowhere",
                                 "sqlite:////proc/no/feedback.db"])
def test_a_database_that_cannot_be_used_stops_start_up_with_one_line(model_path, url):
    """backend/wsgi.py turns the RuntimeError into one log line and stops the server."""
    from backend import create_app

    with pytest.raises(RuntimeError, match="the feedback database") as raised:
        create_app({"TESTING": True, "MODEL_PATH": str(model_path), "DATABASE_URL": url})
    assert "s3cret" not in str(raised.value) and "\n" not in str(raised.value)


def test_an_app_on_a_database_never_prepared_says_what_creates_its_table(model_path, tmp_path):
    from backend import create_app

    with pytest.raises(RuntimeError, match="has no feedback table: the launchers") as raised:
        create_app({"TESTING": True, "MODEL_PATH": str(model_path),
                    "DATABASE_URL": f"sqlite:///{tmp_path}/feedback.db"})
    assert "\n" not in str(raised.value)


def test_feedback_is_rate_limited_with_the_uploads(model_path, tmp_path):
    """The same budget as /api/predict: feedback is no way around it, nor the other way round."""
    from backend import create_app

    url = f"sqlite:///{tmp_path}/feedback.db"
    database.prepare(url)
    app = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "RATE_LIMIT": "3 per minute",
                      "DATABASE_URL": url})
    client = app.test_client()
    predicted = client.post("/api/predict", data={"image": (io.BytesIO(JPEG), "x.jpg")},
                            content_type="multipart/form-data")
    assert [predicted.status_code, send(client).status_code, send(client).status_code] == [200, 201, 201]
    response = send(client)
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "too_many_requests"


def test_the_openapi_document_describes_the_feedback_endpoints(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert set(spec["paths"]["/api/feedback"]) == {"post"}
    assert set(spec["paths"]["/api/feedback/{entry_id}"]) == {"delete"}
    assert set(spec["paths"]["/api/feedback/export"]) == {"get"}
    upload = spec["components"]["schemas"]["FeedbackUpload"]
    assert set(upload["required"]) == {"image", "label", "consent"}
    assert spec["components"]["schemas"]["ModelInfo"]["properties"]["feedback"]["type"] == "boolean"
