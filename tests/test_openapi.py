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
