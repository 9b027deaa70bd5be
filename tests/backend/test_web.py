"""The page at / and its files under /static/: only what it loads."""


import pytest

from tests.backend.api_calls import assert_error


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
