import re

import pytest
from openapi_spec_validator import validate

from backend.security import CONTENT_SECURITY_POLICY


def test_openapi_document_is_valid_and_lists_every_route(client, app):
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    documented = set(spec["paths"])
    routes = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api")
              and rule.endpoint not in ("docs.docs", "docs.swagger_ui")}
    assert routes <= documented, routes - documented
    post = spec["paths"]["/api/predict"]["post"]
    assert set(post["responses"]) >= {"200", "400", "413", "415", "422", "429", "503"}
    assert "ErrorSchema" not in spec["components"]["schemas"] and "Error" in spec["components"]["schemas"]


def test_every_error_code_is_documented(client):
    """The codes come from the OpenAPI document (backend/errors.py's table); the page's words for
    them are checked against the same table by tests/test_frontend_errors.py."""
    from backend.errors import ERRORS

    spec = client.get("/api/openapi.json").get_json()
    codes = set(spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"])
    assert codes == set(ERRORS)


def test_each_error_answer_is_named_after_a_code_of_its_status(client):
    """The shared error responses (e.g. "413: PayloadTooLarge") are the codes of backend/errors.py,
    listed under the status the server answers them with."""
    from backend.errors import ERRORS

    spec = client.get("/api/openapi.json").get_json()
    codes = {name: re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower() for name in spec["components"]["responses"]}
    assert set(codes.values()) <= set(ERRORS), codes
    used = 0
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    name = response["$ref"].rsplit("/", 1)[1]
                    assert int(status) == ERRORS[codes[name]][0], (status, name)
                    used += 1
    assert used >= 10


def test_docs_page_loads_swagger_ui_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert scripts == ["/api/docs/assets/swagger-ui-bundle.js", "/static/js/api-docs.js"]
    assert styles == ["/api/docs/assets/swagger-ui.css", "/static/api-docs.css"]
    assert 'data-url="/api/openapi.json"' in html
    for urls, mimetype in ((scripts, "text/javascript"), (styles, "text/css")):
        for url in urls:
            response = client.get(url)
            assert (response.status_code, response.mimetype) == (200, mimetype), url
            assert len(response.data) > 100, url


@pytest.mark.parametrize("name", ["index.css", "oauth2-redirect.html", "LICENSE", "..%2Fflask_swagger_ui.py"])
def test_only_what_the_docs_page_loads_is_served_from_swagger_ui(client, name):
    response = client.get(f"/api/docs/assets/{name}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_docs_page_keeps_the_strict_content_security_policy(client):
    """Swagger UI runs under the app's own policy (the page's script is a file; Chromium reports no
    violation, e2e/test_api_docs.py): no page of the site loosens it."""
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    for path in ("/", "/api/docs", "/api/docs/assets/swagger-ui-bundle.js", "/static/js/api-docs.js"):
        assert client.get(path).headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path


def test_code_samples_cover_both_uploads_in_each_language_on_the_page_origin(client):
    html = client.get("/api/docs").get_data(as_text=True)
    samples = [re.sub(r"<[^>]+>", "", sample)
               for sample in re.findall(r"<pre><code>(.*?)</code></pre>", html, re.S)]
    expected = [  # in page order: per language, the multipart form, then the raw bytes
        "curl -F image=@photo.jpg -F top_k=3 /api/predict",
        "curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' '/api/predict?top_k=3'",
        'requests.post("/api/predict", files={"image": photo}, data={"top_k": 3})',
        'requests.post("/api/predict", params={"top_k": 3}, data=photo,',
        'form.append("image", photo, "photo.jpg");',
        'fetch("/api/predict?top_k=3", {\n  method: "POST", headers: { "Content-Type": photo.type },',
    ]
    assert len(samples) == len(expected)
    for sample, part in zip(samples, expected):
        assert part in sample, (part, sample)
    # No address is written in: api-docs.js puts the page's origin before each /api/predict.
    assert html.count("<span data-origin></span>/api/predict") == len(expected)
    assert "127.0.0.1" not in html and "localhost" not in html
