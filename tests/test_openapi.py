import re

from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_lists_every_route(client, app):
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    documented = set(spec["paths"])
    routes = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api")
              and rule.endpoint not in ("docs.docs",)}
    assert routes <= documented, routes - documented
    post = spec["paths"]["/api/predict"]["post"]
    assert set(post["responses"]) >= {"200", "400", "413", "415", "422", "429", "503"}
    assert "ErrorSchema" not in spec["components"]["schemas"] and "Error" in spec["components"]["schemas"]


def test_every_error_code_is_documented_and_has_a_message_in_the_page(client):
    """The codes come from the OpenAPI document (backend/errors.py's table); the page must have a
    sentence for each, so the two cannot drift apart."""
    from backend.errors import ERRORS
    from tests.conftest import ROOT

    spec = client.get("/api/openapi.json").get_json()
    codes = set(spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"])
    assert codes == set(ERRORS)
    page = (ROOT / "frontend" / "js" / "format.js").read_text()
    table = page[page.index("const ERROR_MESSAGES"):page.index("});", page.index("const ERROR_MESSAGES"))]
    page_codes = set(re.findall(r"^\s+(\w+):", table, flags=re.MULTILINE))
    assert codes <= page_codes, sorted(codes - page_codes)
