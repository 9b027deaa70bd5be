"""Deployment and packaging files say what they must."""

import tomllib
from hashlib import sha256

import yaml

from tests.conftest import ROOT


def test_render_blueprint():
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    service = blueprint["services"][0]
    assert service["type"] == "web" and service["runtime"] == "python" and service["plan"] == "free"
    assert "tensorflow" not in service["buildCommand"] and "[train" not in service["buildCommand"]
    assert "pip install" in service["buildCommand"]
    assert service["startCommand"] == "python -m backend.serve"  # the launcher (backend/serve.py)
    assert service["healthCheckPath"] == "/api/ready"
    env = {item["key"]: item.get("value") for item in service["envVars"]}
    assert {"PYTHON_VERSION", "WEB_CONCURRENCY", "MODEL_PATH"} <= set(env)
    assert env["PYTHON_VERSION"].startswith("3.11")
    assert (ROOT / env["MODEL_PATH"]).is_file()
    assert env["HOST"] == "0.0.0.0"
    # The pinned hash is the shipped model's (a retrained model must update render.yaml too).
    assert env["MODEL_SHA256"] == sha256((ROOT / env["MODEL_PATH"]).read_bytes()).hexdigest()
    assert env["TRUSTED_PROXY_HOPS"] == "1"  # Render's proxy: one hop
    # Issue #12's budget for the model file (it is in the repository and in every deploy).
    assert (ROOT / env["MODEL_PATH"]).stat().st_size <= 60_000_000
    # make run starts the server as the deployment does.
    assert f"$(BIN)/{service['startCommand']}\n" in (ROOT / "Makefile").read_text()
    # /metrics is not public: Render generates its token.
    assert {"key": "METRICS_TOKEN", "generateValue": True} in service["envVars"]


def test_serving_dependencies_exclude_tensorflow():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    serving = " ".join(project["dependencies"]).lower()
    assert "tensorflow" not in serving and "keras" not in serving
    assert "onnxruntime" in serving and "gunicorn" in serving
    assert any("tensorflow" in d for d in project["optional-dependencies"]["train"])


def test_constraints_pin_every_dependency():
    pins = {line.split("==")[0].lower().replace("_", "-") for line in
            (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [d for extra in project["optional-dependencies"].values()
                                        for d in extra]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in wanted}
    assert names <= pins, names - pins


def test_gunicorn_config_honours_environment(monkeypatch):
    import runpy

    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    assert config["bind"] == "0.0.0.0:9999" and config["workers"] == 3
    assert config["timeout"] > 0 and config["wsgi_app"] == "backend.wsgi:app"


def test_ci_calls_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_license_file_is_the_one_pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith(f"{project['license']} License\n")
    assert "Permission is hereby granted, free of charge" in text  # the MIT text itself
