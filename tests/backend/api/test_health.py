"""/api/health and /api/ready."""





def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["model_loaded"] is True and body["model_version"]
