"""backend/__main__.py: the development server, ``python -m backend``."""

import os
import subprocess
import sys

from tests.server import ROOT


def test_a_model_it_cannot_load_stops_it_with_one_line(tmp_path):
    missing = tmp_path / "nowhere.pkl"
    done = subprocess.run([sys.executable, "-m", "backend"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MODEL_PATH": str(missing)}, timeout=60)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr == f"error: model file not found: {missing}\n"
