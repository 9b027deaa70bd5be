"""Security headers, CORS, HSTS behind a trusted proxy, and no uploads from other websites' pages."""

import io

import pytest

from tests.backend.api_calls import PNG, predict


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
    # A page of that origin may withdraw the feedback it sent (DELETE with the delete token).
    preflight = client.options("/api/feedback/" + "0" * 32, headers={
        "Origin": "https://friend.example", "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "Authorization"})
    assert "DELETE" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_strict_transport_security_over_https_only(client):
    assert client.get("/api/health", base_url="https://localhost").headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/api/health").headers


def test_strict_transport_security_behind_a_trusted_proxy_that_says_https(model_path):
    """Render's proxy ends TLS and says so in X-Forwarded-Proto; without a trusted proxy a client
    cannot claim it."""
    from backend import create_app

    https = {"X-Forwarded-Proto": "https"}
    proxied = create_app({"TESTING": True, "MODEL_PATH": str(model_path), "TRUSTED_PROXY_HOPS": 1})
    assert proxied.test_client().get("/api/health", headers=https).headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    direct = create_app({"TESTING": True, "MODEL_PATH": str(model_path)})
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


def test_debug_is_off(app):
    assert not app.debug
