"""The deployment and packaging files agree with the code: render.yaml's settings are ones the server
knows and accepts, and differ from its defaults; Render starts what make run starts; the pinned hash
is the shipped model's; the serving install has no TensorFlow; every dependency is pinned."""

import os
import subprocess
import sys
import tomllib
from hashlib import sha256

import yaml
from packaging.specifiers import SpecifierSet

from backend.config import from_env, server_from_env
from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SERVICE = yaml.safe_load((ROOT / "render.yaml").read_text())["services"][0]
# What Render passes on; generated values and the ones the dashboard asks for have no "value".
RENDER_VALUES = {item["key"]: item["value"] for item in SERVICE["envVars"] if "value" in item}
RENDER_KEYS = {item["key"] for item in SERVICE["envVars"]}


def settings_under(monkeypatch, environment: dict) -> dict:
    """Every setting as the server reads it (and the launcher checks it) in ``environment``."""
    for name in {*from_env(), *server_from_env()}:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return {**from_env(), **server_from_env()}


def test_render_sets_only_settings_the_server_knows(monkeypatch):
    known = set(settings_under(monkeypatch, {}))
    # PYTHON_VERSION is Render's own: the Python it installs.
    assert RENDER_KEYS - {"PYTHON_VERSION"} <= known, RENDER_KEYS - known
    assert SpecifierSet(PROJECT["requires-python"]).contains(RENDER_VALUES["PYTHON_VERSION"])


def test_render_sets_values_only_where_they_differ_from_the_defaults(monkeypatch):
    defaults = settings_under(monkeypatch, {})
    deployed = settings_under(monkeypatch, RENDER_VALUES)
    for name in RENDER_VALUES.keys() - {"PYTHON_VERSION"}:
        assert deployed[name] != defaults[name], f"render.yaml repeats {name}'s default"


def test_render_s_environment_passes_the_launcher_and_gunicorn_s_check():
    """The launcher checks every setting, then gunicorn --check-config reads its config and loads
    the app as a worker does: the model file, its pinned hash, a first prediction."""
    settings = {*from_env(), *server_from_env()}
    env = {k: v for k, v in os.environ.items() if k not in settings} | RENDER_VALUES
    check = subprocess.run([sys.executable, "-m", "backend.serve", "--check-config"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_pinned_hash_is_the_shipped_model(monkeypatch):
    """The deployment refuses any other model file: a retrained model must update render.yaml
    (make ship does)."""
    model = ROOT / settings_under(monkeypatch, RENDER_VALUES)["MODEL_PATH"]
    assert RENDER_VALUES["MODEL_SHA256"] == sha256(model.read_bytes()).hexdigest()
    # Issue #12's budget for the model file (it is in the repository and in every deploy).
    assert model.stat().st_size <= 60_000_000


def test_render_starts_the_server_as_make_run_does():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry_run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, env=env)
    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.splitlines()[-1] == f".venv/bin/{SERVICE['startCommand']}"


def test_render_checks_readiness(client):
    """Render sends a deploy traffic once this answers 200: the app's readiness endpoint."""
    response = client.get(SERVICE["healthCheckPath"])
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_render_installs_the_serving_dependencies_only():
    build = SERVICE["buildCommand"]
    assert "pip install -c constraints.txt -e ." in build
    assert "tensorflow" not in build and "[" not in build  # no extras: no [train], no [dev]


def test_serving_dependencies_exclude_tensorflow():
    serving = " ".join(PROJECT["dependencies"]).lower()
    assert "tensorflow" not in serving and "keras" not in serving
    assert "onnxruntime" in serving and "gunicorn" in serving
    assert any("tensorflow" in d for d in PROJECT["optional-dependencies"]["train"])


def test_constraints_pin_every_dependency():
    pins = {line.split("==")[0].lower().replace("_", "-") for line in
            (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    wanted = PROJECT["dependencies"] + [d for extra in PROJECT["optional-dependencies"].values()
                                        for d in extra]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in wanted}
    assert names <= pins, names - pins


def test_ci_calls_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_license_file_is_the_one_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith(f"{PROJECT['license']} License\n")
    assert "Permission is hereby granted, free of charge" in text  # the MIT text itself
