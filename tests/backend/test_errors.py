"""HTTP errors that Flask and Werkzeug raise themselves get the API's JSON envelope."""



from tests.backend.api_calls import assert_error


def test_unknown_route_is_404_json(client):
    assert_error(client.get("/api/does-not-exist"), 404, "not_found")
    assert_error(client.get("/static/../backend/config.py"), 404)


def test_wrong_method_is_405_json(client):
    error = assert_error(client.get("/api/predict"), 405, "method_not_allowed")
    assert "POST" in error["details"]["allowed_methods"]
    assert_error(client.delete("/api/health"), 405)


def test_a_range_past_the_end_is_416_with_the_files_length(client):
    response = client.get("/static/styles.css", headers={"Range": "bytes=99999999-"})
    assert response.status_code == 416
    assert response.get_json()["error"]["code"] == "range_not_satisfiable"
    assert response.headers["Content-Range"].startswith("bytes */")
